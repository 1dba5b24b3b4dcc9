"""Strict parsers for interchange values (RULES.md section 9).

Each raises ValueError with a message fit to show ops next to the record's line number. Nothing here
guesses: an instant without an offset is refused, never assumed to be UTC or UTC+8.
"""

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

_INT_RE = re.compile(r"^[0-9]+$")
_DECIMAL_RE = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def parse_uid(value, field="uid"):
    text = str(value).strip() if value is not None else ""
    if isinstance(value, bool) or not _INT_RE.match(text) or int(text) <= 0:
        raise ValueError(f"{field} must be a positive integer, got {value!r}")
    return int(text)


def parse_count(value, field):
    if isinstance(value, bool):
        raise ValueError(f"{field} must be a non-negative integer, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{field} must be a non-negative integer, got {value!r}")
        return value
    text = str(value).strip() if value is not None else ""
    if not _INT_RE.match(text):
        raise ValueError(f"{field} must be a non-negative integer, got {value!r}")
    return int(text)


def parse_decimal(value, field):
    text = str(value).strip() if value is not None else ""
    if not _DECIMAL_RE.match(text):
        raise ValueError(f"{field} must be a decimal number, got {value!r}")
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regex already refuses these
        raise ValueError(f"{field} must be a decimal number, got {value!r}") from exc


def parse_instant(value, field):
    """An ISO 8601 instant that carries its offset (`Z` or `+HH:MM`), as an aware datetime."""
    text = str(value).strip() if value is not None else ""
    if not text:
        raise ValueError(f"{field} is required")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{field} is not an ISO 8601 instant: {value!r}") from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"{field} has no UTC offset (add Z or +HH:MM): {value!r}")
    return parsed


def parse_optional_instant(value, field):
    if value is None or str(value).strip() == "":
        return None
    return parse_instant(value, field)


def parse_choice(value, field, choices):
    text = str(value).strip().lower() if value is not None else ""
    if text not in choices:
        raise ValueError(f"{field} must be one of {', '.join(choices)}, got {value!r}")
    return text


def parse_bool(value, field):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if value is not None else ""
    if text in {"true", "1"}:
        return True
    if text in {"false", "0"}:
        return False
    raise ValueError(f"{field} must be true or false, got {value!r}")
