"""Strict parsers for interchange values (RULES.md section 9).

Each raises ValueError with a message fit to show ops next to the record's line number. Nothing here
guesses: an instant without an offset is refused, never assumed to be UTC or UTC+8. A value is
quoted in a message only up to SHOWN characters: a field may be as long as a line may be.
"""

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

_INT_RE = re.compile(r"^[0-9]+$")
MAX_UID = 2**63 - 1  # a PostgreSQL bigint
MAX_COUNT = 2**31 - 1  # a PostgreSQL integer; engagement beyond it is not a real figure
_DECIMAL_RE = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
SHOWN = 60


def shown(value) -> str:
    """`repr(value)`, cut after SHOWN characters (saying how long the value was)."""
    if isinstance(value, str) and len(value) > SHOWN:
        return f"{value[:SHOWN]!r}... ({len(value):,} characters)"
    text = repr(value)
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}... ({len(text):,} characters)"


def parse_uid(value, field="uid"):
    text = str(value).strip() if value is not None else ""
    if isinstance(value, bool) or not _INT_RE.match(text) or int(text[:30]) <= 0:
        raise ValueError(f"{field} must be a positive integer, got {shown(value)}")
    # Length first: int() refuses strings of more than 4,300 digits with its own message.
    if len(text.lstrip("0")) > 19 or int(text) > MAX_UID:
        raise ValueError(f"{field} is larger than any UID can be ({MAX_UID}): {shown(value)}")
    return int(text)


def parse_count(value, field, maximum=MAX_COUNT):
    if isinstance(value, bool):
        raise ValueError(f"{field} must be a non-negative integer, got {shown(value)}")
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip() if value is not None else ""
        if not _INT_RE.match(text):
            raise ValueError(f"{field} must be a non-negative integer, got {shown(value)}")
        if len(text.lstrip("0")) > 19:
            raise ValueError(f"{field} must be an integer from 0 to {maximum}, got {shown(text)}")
        number = int(text)
    if not 0 <= number <= maximum:
        raise ValueError(f"{field} must be an integer from 0 to {maximum}, got {shown(value)}")
    return number


def parse_decimal(value, field):
    text = str(value).strip() if value is not None else ""
    if not _DECIMAL_RE.match(text):
        raise ValueError(f"{field} must be a decimal number, got {shown(value)}")
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regex already refuses these
        raise ValueError(f"{field} must be a decimal number, got {shown(value)}") from exc


def parse_instant(value, field):
    """An ISO 8601 instant that carries its offset (`Z` or `+HH:MM`), as an aware datetime."""
    text = str(value).strip() if value is not None else ""
    if not text:
        raise ValueError(f"{field} is required")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{field} is not an ISO 8601 instant: {shown(value)}") from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"{field} has no UTC offset (add Z or +HH:MM): {shown(value)}")
    if abs(parsed.utcoffset()) >= timedelta(hours=16):
        raise ValueError(f"{field} has an offset beyond ±15:59, which no time zone uses: {shown(value)}")
    try:
        # Stored as UTC; an instant that leaves the calendar once converted is refused here,
        # not by the database.
        return parsed.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"{field} is out of range: {shown(value)}") from None


def parse_optional_instant(value, field):
    if value is None or str(value).strip() == "":
        return None
    return parse_instant(value, field)


def parse_choice(value, field, choices):
    text = str(value).strip().lower() if value is not None else ""
    if text not in choices:
        raise ValueError(f"{field} must be one of {', '.join(choices)}, got {shown(value)}")
    return text


def parse_bool(value, field):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if value is not None else ""
    if text in {"true", "1"}:
        return True
    if text in {"false", "0"}:
        return False
    raise ValueError(f"{field} must be true or false, got {shown(value)}")


def parse_text(value, field, max_length):
    """An optional text field: missing is empty; anything but a string is refused."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{field} must be text, got {shown(value)}")
    value = value.strip()
    if len(value) > max_length:
        raise ValueError(f"{field} is {len(value):,} characters; the column holds at most {max_length:,}")
    return value
