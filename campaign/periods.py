"""Time slicing of a campaign window (RULES.md section 1). Pure: no clock, no ORM."""

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Period:
    code: str
    starts_at: datetime
    ends_at: datetime

    def contains(self, instant: datetime) -> bool:
        return self.starts_at <= instant < self.ends_at

    def is_due(self, at: datetime, grace: timedelta) -> bool:
        """A period is due (payable) when `at >= end + grace`; before that it is a preview."""
        return at >= self.ends_at + grace


def slice_window(starts_at: datetime, ends_at: datetime, *, days: int, prefix: str) -> list[Period]:
    """Consecutive `days`-long periods from the window start, the last one cut at the window end.

    Codes are `prefix` + 1-based index (`P1`, `W2`). Windows are [start, end): start inclusive,
    end exclusive, compared as instants whatever their offsets.
    """
    if days <= 0:
        raise ValueError("a period must last at least one day")
    if not starts_at < ends_at:
        raise ValueError("the window must start before it ends")
    periods, start, step = [], starts_at, timedelta(days=days)
    while start < ends_at:
        end = min(start + step, ends_at)
        periods.append(Period(f"{prefix}{len(periods) + 1}", start, end))
        start = end
    return periods
