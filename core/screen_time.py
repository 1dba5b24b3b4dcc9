"""Instants on screens: in Asia/Shanghai, labelled "UTC+8" (RULES.md section 1).

The zone's abbreviation (`%Z`) is "CST", which also names US Central and Cuba time: screens spell
the offset out instead. Every page, admin column, message and report line formats an instant
here: `screen_time()` in Python, the `screen_time` filter in templates (`{% load screen_time %}`),
and Django's own datetime displays through the DATETIME_FORMAT of `config/formats`.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

# Asia/Shanghai has kept UTC+8 without daylight saving since 1991: one offset, one label.
SCREEN_ZONE_NAME = "Asia/Shanghai"
SCREEN_ZONE = ZoneInfo(SCREEN_ZONE_NAME)
SCREEN_LABEL = "UTC+8"


def offset_label(local: datetime) -> str:
    """The offset of an aware datetime spelled out: "UTC+8", "UTC-3:30", "UTC+0"."""
    minutes = int(local.utcoffset().total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def screen_time(instant: datetime | None, *, seconds: bool = False, empty: str = "—") -> str:
    """An aware instant as screens show it: "2026-02-26 00:00 UTC+8" (with `seconds`, "00:00:00").

    Refuses a naive datetime: which zone it meant is a guess, and screens never guess.
    """
    if instant is None:
        return empty
    if instant.utcoffset() is None:
        raise ValueError("screen_time needs an aware datetime")
    local = instant.astimezone(SCREEN_ZONE)
    shown = f"{local:%Y-%m-%d %H:%M:%S}" if seconds else f"{local:%Y-%m-%d %H:%M}"
    return f"{shown} {offset_label(local)}"
