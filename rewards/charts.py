"""Server-side SVG charts for the ops dashboard: plain data in, an SVG string out.

No JavaScript, no CDN and no style attribute: the admin page inlines the SVG, and its size rules
are in static/ops/admin.css. Every text that reaches the markup goes
through `django.utils.html.escape`, so a nickname such as `<script>` or `=cmd|...` is drawn as
text. Each chart has a `<title>` and `<desc>` (named by `aria-labelledby`) and every bar its own
`<title>`, which screen readers read and browsers show on hover.

Geometry is computed with `Fraction`, so money values (`Decimal`) are never turned into floats;
coordinates are written with one decimal. Text and axes use `currentColor`, so a chart follows
the admin's light or dark theme.
"""

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from django.utils.html import escape

FONT = "system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', sans-serif"
AXIS_OPACITY = "0.25"
LABEL_CHARS = 60  # longer labels end in "…"; the bar's <title> keeps the whole text
LABEL_COLUMN, VALUE_COLUMN = 200, 90  # the bar chart's narrowest label and value columns (px)

Number = int | Decimal | Fraction


@dataclass(frozen=True)
class Series:
    """One layer of a stacked column chart: a label for the legend, a colour, one value per column."""

    label: str
    colour: str
    values: Sequence[Number]


@dataclass(frozen=True)
class Bar:
    """One row of a horizontal bar chart. `value_text` is what is printed (default: the value)."""

    label: str
    value: Number
    value_text: str = ""
    colour: str = "#0969da"


@dataclass(frozen=True)
class Reference:
    """A dashed vertical line across a bar chart, e.g. the per-creator cap."""

    value: Number
    label: str


def _fraction(value: Number) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, Fraction)):
        raise TypeError(f"chart values must be int, Decimal or Fraction, not {type(value).__name__}")
    return Fraction(value)


def _n(value: Fraction | int) -> str:
    """A coordinate with one decimal, without trailing zeros."""
    scaled = round(Fraction(value) * 10)
    whole, tenth = divmod(abs(scaled), 10)
    sign = "-" if scaled < 0 else ""
    return f"{sign}{whole}" if tenth == 0 else f"{sign}{whole}.{tenth}"


def _plain(value: Number) -> str:
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


def _short(label: str, limit: int = LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _text_width(text: str) -> int:
    """A generous estimate of `text`'s width in px at the charts' 11 px font: the SVG is laid out
    on the server, which cannot measure text, and a column too narrow cuts its labels off.
    Chinese (wide) characters take a full em, other characters at most 0.6 em."""
    return round(sum(11 if unicodedata.east_asian_width(c) in "WF" else 6.6 for c in text))


def nice_scale(maximum: Number, ticks: int = 4, *, whole: bool = False) -> tuple[Fraction, Fraction]:
    """(top, step): a round axis top at or above `maximum`, divided in about `ticks` steps of
    1, 2 or 5 times a power of ten (never below 1 when `whole`, for counts). A zero or negative
    maximum gives the scale (1, 1)."""
    top = _fraction(maximum)
    if top <= 0:
        return Fraction(1), Fraction(1)
    raw = top / ticks
    power = Fraction(1)
    while power * 10 <= raw:
        power *= 10
    while power > raw:
        power /= 10
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if whole:
        step = max(step, Fraction(1))
    count = -(-top // step)  # ceiling division on exact values
    return step * count, step


def _open(chart_id: str, title: str, description: str, width: int, height: int) -> list[str]:
    cid = escape(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-labelledby="{cid}-title {cid}-desc" class="chart" id="{cid}" '
        f'font-family="{escape(FONT)}" font-size="11">',  # sized down on narrow pages by static/ops/admin.css
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(description)}</desc>',
        f'<text x="0" y="14" font-size="13" font-weight="bold" fill="currentColor">{escape(title)}</text>',
    ]


def _empty(chart_id: str, title: str, empty_text: str, width: int) -> str:
    height = 60
    parts = _open(chart_id, title, empty_text, width, height)
    parts.append(f'<text x="0" y="42" fill="currentColor" opacity="0.7">{escape(empty_text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def stacked_columns(
    *,
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    empty_text: str = "",
    width: int = 760,
    height: int = 280,
) -> str:
    """Vertical columns, one per category, each stacked from the series in order (bottom first).

    The description lists every category's total, so the numbers are there without the picture.
    """
    if any(len(s.values) != len(categories) for s in series):
        raise ValueError("every series needs one value per category")
    totals = [sum((_fraction(s.values[i]) for s in series), Fraction(0)) for i in range(len(categories))]
    if not categories or not any(totals):
        return _empty(chart_id, title, empty_text, width)
    left, right, top, bottom = 44, 10, 44, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    axis_top, step = nice_scale(max(totals), whole=all(t.denominator == 1 for t in totals))
    per_column = [f"{category}: " + ", ".join(f"{_plain(s.values[i])} {s.label}" for s in series) for i, category in enumerate(categories)]
    description = "; ".join(per_column)
    parts = _open(chart_id, title, description, width, height)

    # Legend, right-aligned on the title line.
    x = Fraction(width - right)
    for s in reversed(series):
        text_w = 7 * len(s.label)
        x -= text_w + 18
        parts.append(f'<rect x="{_n(x)}" y="5" width="11" height="11" fill="{escape(s.colour)}"/>')
        parts.append(f'<text x="{_n(x + 15)}" y="14" fill="currentColor">{escape(s.label)}</text>')

    def y_of(value: Fraction) -> Fraction:
        return top + plot_h - value * plot_h / axis_top

    tick = Fraction(0)
    while tick <= axis_top:
        y = y_of(tick)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{_n(y)}" y2="{_n(y)}" stroke="currentColor" stroke-opacity="{AXIS_OPACITY}"/>')
        parts.append(f'<text x="{left - 6}" y="{_n(y + 4)}" text-anchor="end" fill="currentColor">{escape(_plain(tick))}</text>')
        tick += step

    slot = Fraction(plot_w, len(categories))
    column_w = slot * Fraction(7, 10)
    label_every = max(1, -(-len(categories) // 16))
    for i, category in enumerate(categories):
        x0 = left + slot * i + (slot - column_w) / 2
        base = Fraction(0)
        parts.append("<g>")
        parts.append(f"<title>{escape(per_column[i])}</title>")
        for s in series:
            value = _fraction(s.values[i])
            if value:
                y_top = y_of(base + value)
                parts.append(
                    f'<rect x="{_n(x0)}" y="{_n(y_top)}" width="{_n(column_w)}" height="{_n(y_of(base) - y_top)}" fill="{escape(s.colour)}">'
                    f"<title>{escape(category)}: {escape(_plain(s.values[i]))} {escape(s.label)}</title></rect>"
                )
            base += value
        if totals[i]:
            parts.append(
                f'<text x="{_n(x0 + column_w / 2)}" y="{_n(y_of(totals[i]) - 4)}" text-anchor="middle" fill="currentColor">{escape(_plain(totals[i]))}</text>'
            )
        if i % label_every == 0:
            parts.append(
                f'<text x="{_n(x0 + column_w / 2)}" y="{height - bottom + 16}" text-anchor="middle" fill="currentColor">{escape(category)}</text>'
            )
        parts.append("</g>")
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="currentColor"/>')
    parts.append("</svg>")
    return "".join(parts)


def horizontal_bars(
    *,
    chart_id: str,
    title: str,
    bars: Sequence[Bar],
    reference: Reference | None = None,
    empty_text: str = "",
    width: int = 760,
    row_height: int = 22,
) -> str:
    """One labelled horizontal bar per row, longest scale at the largest value (or the reference
    line when that is larger). Bars are drawn in the order given.

    `width` is the chart's width with the narrowest label and value columns; either widens (and
    the chart with it, the bars keeping their scale) as far as its longest text needs."""
    if not bars:
        return _empty(chart_id, title, empty_text, width)
    plot_w, top = width - LABEL_COLUMN - VALUE_COLUMN, 30
    label_w = max([LABEL_COLUMN] + [_text_width(_short(b.label)) + 12 for b in bars])
    value_w = max([VALUE_COLUMN] + [_text_width(b.value_text or _plain(b.value)) + 10 for b in bars])
    width = label_w + plot_w + value_w
    height = top + row_height * len(bars) + (22 if reference else 8)
    scale = max([_fraction(b.value) for b in bars] + ([_fraction(reference.value)] if reference else []))
    scale = scale if scale > 0 else Fraction(1)
    description = "; ".join(f"{b.label}: {b.value_text or _plain(b.value)}" for b in bars)
    parts = _open(chart_id, title, description, width, height)
    for i, bar in enumerate(bars):
        y = top + row_height * i
        bar_w = _fraction(bar.value) * plot_w / scale
        text = bar.value_text or _plain(bar.value)
        parts.append("<g>")
        parts.append(f"<title>{escape(bar.label)}: {escape(text)}</title>")
        parts.append(f'<text x="{label_w - 8}" y="{y + row_height - 8}" text-anchor="end" fill="currentColor">{escape(_short(bar.label))}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{_n(bar_w)}" height="{row_height - 6}" fill="{escape(bar.colour)}"/>')
        parts.append(f'<text x="{_n(label_w + bar_w + 6)}" y="{y + row_height - 8}" fill="currentColor">{escape(text)}</text>')
        parts.append("</g>")
    parts.append(f'<line x1="{label_w}" x2="{label_w}" y1="{top}" y2="{top + row_height * len(bars)}" stroke="currentColor"/>')
    if reference is not None:
        x = label_w + _fraction(reference.value) * plot_w / scale
        bottom = top + row_height * len(bars)
        parts.append(
            f'<g><title>{escape(reference.label)}</title>'
            f'<line x1="{_n(x)}" x2="{_n(x)}" y1="{top - 4}" y2="{bottom + 2}" stroke="#cf222e" stroke-dasharray="4 3"/>'
            f'<text x="{_n(x)}" y="{bottom + 16}" text-anchor="middle" fill="#cf222e">{escape(reference.label)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
