"""Django's own datetime displays (admin columns and read-only fields, `|date` without a format)
in the screens' form: "2026-02-26 00:00 UTC+8", the same in every language (core.screen_time).

The admin renders in the active zone, TIME_ZONE = "Asia/Shanghai", whose offset the label names.
"""

from core.screen_time import SCREEN_LABEL

_LABEL = "".join("\\" + char for char in SCREEN_LABEL)  # every character literal, none a format code

DATETIME_FORMAT = f"Y-m-d H:i {_LABEL}"
SHORT_DATETIME_FORMAT = f"Y-m-d H:i {_LABEL}"
