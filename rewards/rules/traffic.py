"""Traffic support (RULES.md section 7): featured posts of a day, star traders of a week. Pure.

No money moves here, but the picks are public, so they must not depend on the order rows come
in. RULES.md says nothing about ties; this is our reading, written down so a rerun never
reshuffles a list:

- featured posts of a day: score descending, then the earlier `created_at` instant, then
  `post_id` as a string;
- star traders of a week: week score (sum of the scores of the trader's qualifying posts created
  that week) descending, then the earlier first qualifying post of that week (its `created_at`),
  then the lower UID: the leaderboard's order of section 6 without the trading stats.

Days are UTC+8 calendar days (00:00 to 24:00 in Shanghai), whatever offset an instant carries.
Only qualifying posts are passed in; ops' overrides (feature or unfeature by hand, add or remove a
star) are applied by the caller, which leaves those posts and traders out of the input.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Protocol

from campaign.terms import DEFAULT_FEATURED_PER_DAY, DEFAULT_WEEKLY_STARS
from rewards.rules.types import QualifiedPost, unique_posts

UTC8 = timezone(timedelta(hours=8))


def local_day(instant: datetime) -> date:
    """The UTC+8 calendar day an aware instant falls on."""
    if instant.utcoffset() is None:
        raise ValueError("instants must be aware")
    return instant.astimezone(UTC8).date()


def day_end(day: date) -> datetime:
    """The instant a UTC+8 calendar day ends (the next day's 00:00 in UTC+8), exclusive."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC8)


def _featured_key(post: QualifiedPost):
    return (-post.score, post.created_at, post.post_id)


def featured_posts_by_day(posts: Iterable[QualifiedPost], n: int = DEFAULT_FEATURED_PER_DAY) -> dict[date, tuple[QualifiedPost, ...]]:
    """The `n` highest-scoring posts created on each UTC+8 day, best first.

    Only days that have at least one post appear. A day with fewer than `n` posts features them
    all. Ties: score descending, then earlier `created_at`, then `post_id`. Raises ValueError on a
    repeated post_id or a negative `n`.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    by_day: dict[date, list[QualifiedPost]] = defaultdict(list)
    for post in unique_posts(posts):
        by_day[local_day(post.created_at)].append(post)
    return {day: tuple(sorted(day_posts, key=_featured_key)[:n]) for day, day_posts in sorted(by_day.items())}


@dataclass(frozen=True)
class Star:
    """A star trader of a week: `rank` from 1, `score` the sum of that week's post scores."""

    week: str
    rank: int
    uid: int
    score: int
    first_post_at: datetime
    posts: int


class WeekSpan(Protocol):
    """What the rule needs of a week: a code and a [start, end) span (campaign.periods.Period)."""

    code: str
    starts_at: datetime
    ends_at: datetime


def weekly_stars(posts: Iterable[QualifiedPost], weeks: Sequence[WeekSpan], n: int = DEFAULT_WEEKLY_STARS) -> dict[str, tuple[Star, ...]]:
    """The `n` traders with the highest week score in each week, best first.

    `weeks` are the campaign's weeks (`Campaign.weeks()`, W1, W2, ...), each [start, end). A post
    counts in the week that contains its `created_at`; posts outside every week are ignored.
    Every week given appears in the result, empty when nobody posted. Ties: week score
    descending, then the earlier first qualifying post of the week, then the lower UID.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    posts = unique_posts(posts)
    result = {}
    for week in weeks:
        totals: dict[int, list] = {}
        for post in posts:
            if not week.starts_at <= post.created_at < week.ends_at:
                continue
            entry = totals.setdefault(post.uid, [0, post.created_at, 0])
            entry[0] += post.score
            entry[1] = min(entry[1], post.created_at)
            entry[2] += 1
        ordered = sorted(totals.items(), key=lambda item: (-item[1][0], item[1][1], item[0]))[:n]
        result[week.code] = tuple(
            Star(week=week.code, rank=rank, uid=uid, score=score, first_post_at=first, posts=count)
            for rank, (uid, (score, first, count)) in enumerate(ordered, start=1)
        )
    return result
