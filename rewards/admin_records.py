"""The JSON a settlement keeps, as people read it in the admin: a run's "Configuration used" and
"Summary", and a reward's "How it was computed", each a list of labelled sections of fields, where
a field is a text or a small table (templates under rewards/templates/admin/rewards/).

Display only. The stored JSON is never changed, and a key this module does not know is still
shown, under its own name, so a run written by an older or newer settlement reads whole.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.template.loader import render_to_string
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaign.models import Campaign, Post
from core.screen_time import screen_time
from rewards.rules.money import cents_or_exact

# The keys of the settlement's JSON (rewards/services/computation.py, settlement_ledger.py).
LABELS = {
    "at": _("settled as of"),
    "qualified_posts": _("qualified posts"),
    "posts_by_verdict": _("posts by verdict"),
    "due": _("due"),
    "traders": _("traders"),
    "limit": _("bonuses at most"),
    "left_out": _("left out by the limit"),
    "total": _("total"),
    "starts_at": _("starts"),
    "ends_at": _("ends"),
    "pool": _("pool"),
    "creators": _("creators"),
    "eligible": _("eligible creators"),
    "allocated": _("allocated"),
    "unallocated": _("unallocated"),
    "capped": _("capped"),
    "ranked": _("ranked traders"),
    "paid_places": _("paid places"),
    "strategy": _("split"),
    "top": _("paid ranks"),
    "rank": _("rank"),
    "uid": _("UID"),
    "score": _("score"),
    "post_id": _("post"),
    "created_at": _("published"),
    "creator_score": _("creator score"),
    "posts": _("posts counted"),
    "eligible_score_total": _("score of every eligible creator"),
    "cap": _("cap per creator"),
    "exact_share": _("exact share"),
    "floored": _("share, rounded down to the cent"),
    "rounding_cent": _("rounding cent"),
    "content_score": _("content score"),
    "qualifying_posts": _("qualifying posts"),
    "new_copiers": _("new copiers"),
    "copier_weight": _("points per new copier"),
    "copier_pnl_usdt": _("copier PnL (USDT)"),
    "pnl_weight": _("points per USDT of copier PnL"),
    "tier": _("tier amount"),
    "period": _("period"),
    "periods": _("periods"),
    "amount": _("amount"),
}
INSTANTS = {"at", "starts_at", "ends_at", "created_at"}
VERBATIM = {"post_id", "slug", "name", "name_zh", "latin_terms", "cjk_terms"}  # text, even when it looks like a number
# A campaign's configuration, by the part of the rules it belongs to; keys are Campaign fields.
CONFIG_GROUPS = [
    (_("Campaign"), ["slug", "name", "name_zh", "starts_at", "ends_at", "grace_hours", "content_period_days", "week_days"]),
    (_("Qualification"), ["min_length", "max_text_length", "score_cap", "duplicate_threshold", "latin_terms", "cjk_terms"]),
    (_("First-post bonus"), ["first_post_asset", "first_post_amount", "first_post_limit"]),
    (_("Content pool"), ["pool_asset", "pool_amount", "pool_cap", "pool_min_score", "pool_top_posts"]),
    (_("Leaderboard"), ["leaderboard_asset", "leaderboard_min_posts", "leaderboard_strategy", "leaderboard_tiers", "leaderboard_pool", "copier_weight", "pnl_weight"]),
    (_("Traffic"), ["featured_per_day", "weekly_stars"]),
]
SUMMARY_GROUPS = [
    (_("Posts"), ["at", "qualified_posts", "posts_by_verdict"]),
    (_("First-post bonus"), "first_post"),
    (_("Content pool"), "content_pool"),
    (_("Leaderboard"), "leaderboard"),
]
SHOWN_ELSEWHERE = {"ledger", "budgets"}  # the run page has a row of its own for each


@dataclass(frozen=True)
class Table:
    headers: list[str]  # empty: a table of label and value rows
    rows: list[list[str]]


@dataclass(frozen=True)
class Field:
    label: str
    text: str = ""
    table: Table | None = None


@dataclass
class Section:
    title: str
    fields: list[Field] = field(default_factory=list)


def _label(key, labels=LABELS) -> str:
    return str(labels.get(key) or str(key).replace("_", " "))


def _number(text: str) -> str:
    """A decimal without the zeros past the cent it carries ("100.50000000" -> "100.50"); exact."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    if not value.is_finite() or value.as_tuple().exponent >= -2:
        return text
    return f"{cents_or_exact(value):f}"


def _words(key, value) -> str:
    """One value in words: instants in UTC+8, verdicts and splits by their labels, "—" for none."""
    if value is None or value in ("", [], {}):
        return "—"
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, str) and key in INSTANTS:
        try:
            return screen_time(datetime.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, str) and key in {"strategy", "leaderboard_strategy"} and value in Campaign.SplitStrategy.values:
        return str(Campaign.SplitStrategy(value).label)
    if isinstance(value, str):
        return value if key in VERBATIM else _number(value)
    if isinstance(value, list):
        return ", ".join(_words(key, item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{_label(k)}: {_words(k, v)}" for k, v in value.items())
    return str(value)


def _table_of_dicts(rows: list[dict], first: tuple[str, list] | None = None) -> Table:
    keys = list(dict.fromkeys(key for row in rows for key in row))
    headers = ([_label(first[0])] if first else []) + [_label(key) for key in keys]
    body = [([_words(first[0], first[1][i])] if first else []) + [_words(key, row.get(key)) for key in keys] for i, row in enumerate(rows)]
    return Table(headers=headers, rows=body)


def record_field(key, value, labels=LABELS) -> Field:
    """A field of the record: a list of objects or an object of objects is a table, an object of
    values a table of label and value rows, anything else a text."""
    label = _label(key, labels)
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return Field(label, table=_table_of_dicts(value))
    if isinstance(value, dict) and value and all(isinstance(item, dict) for item in value.values()):
        return Field(label, table=_table_of_dicts(list(value.values()), first=("period", list(value))))
    if isinstance(value, dict) and value:
        verdicts = dict(Post.Verdict.choices) if key == "posts_by_verdict" else {}
        return Field(label, table=Table(headers=[], rows=[[str(verdicts.get(k) or _label(k)), _words(k, v)] for k, v in value.items()]))
    return Field(label, text=_words(key, value))


def _config_labels() -> dict:
    """The campaign form's labels of its fields: the configuration is `Campaign.rules_config()`."""
    return {f.name: f.verbose_name for f in Campaign._meta.get_fields() if getattr(f, "verbose_name", None)}


def config_sections(config: dict) -> list[Section]:
    """A run's configuration by part of the rules, labelled as the campaign form labels it."""
    labels = _config_labels()
    sections, seen = [], set()
    for title, keys in CONFIG_GROUPS:
        fields = []
        for key in keys:
            if key in config:
                seen.add(key)
                value = config[key]
                if key == "leaderboard_tiers" and isinstance(value, list):
                    rows = [[str(rank), _words(key, amount)] for rank, amount in enumerate(value, start=1)]
                    fields.append(Field(_label(key, labels), table=Table(headers=[_label("rank"), _label("amount")], rows=rows)))
                else:
                    fields.append(record_field(key, value, labels))
        if fields:
            sections.append(Section(str(title), fields))
    rest = [record_field(key, value, labels) for key, value in config.items() if key not in seen]
    return sections + ([Section(gettext("Other"), rest)] if rest else [])


def summary_sections(summary: dict) -> list[Section]:
    """A run's summary: the posts it judged, then each kind of reward; ledger and budgets excluded."""
    sections, seen = [], set(SHOWN_ELSEWHERE)
    for title, keys in SUMMARY_GROUPS:
        if keys == "content_pool":  # one table, a row per period
            seen.add(keys)
            fields = [record_field("periods", summary[keys])] if summary.get(keys) else []
        elif isinstance(keys, str):
            seen.add(keys)
            part = summary.get(keys)
            fields = [record_field(key, value) for key, value in part.items()] if isinstance(part, dict) else []
        else:
            seen.update(keys)
            fields = [record_field(key, summary[key]) for key in keys if key in summary]
        if fields:
            sections.append(Section(str(title), fields))
    rest = [record_field(key, value) for key, value in summary.items() if key not in seen]
    return sections + ([Section(gettext("Other"), rest)] if rest else [])


def detail_sections(detail: dict) -> list[Section]:
    """A reward's computation, field by field; the posts it counted as a table."""
    return [Section("", [record_field(key, value) for key, value in detail.items()])] if detail else []


def record_html(template: str, sections: list[Section]) -> str:
    """The sections in the block's template (which names the block)."""
    return render_to_string(template, {"sections": sections})
