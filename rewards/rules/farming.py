"""Anti-farming signals (issue 9, item 3): plain data in, review signals out.

A signal only reports; it never changes a score or a reward. Ops read the evidence and may then
exclude a post or a trader from settlement by hand, with a note.

The thresholds come from `rewards.models.FarmingThresholds` (defaults below when a campaign has
no row). TODO: move them into the campaign configuration once its owner adds the fields.

- Burst: more than `burst_posts` posts by one trader inside any `burst_minutes` window, i.e. posts
  p_i .. p_j (in created_at order) with ``p_j.created_at - p_i.created_at < burst_minutes``.
  Exactly `burst_posts` posts is no burst; one more is.
- Near-identical: a trader with at least `duplicate_posts` posts that are near-duplicates of an
  earlier post by the same trader (the duplicate check's `duplicate_of`, same author).
- Engagement: a post whose score is more than `engagement_multiple` x the median score of its
  author's posts (exactly that multiple is not flagged), for traders with at least
  `engagement_min_posts` posts. The median is exact (a Fraction for an even count).
- Engagement jump: between two consecutive observations of one post's engagement, the score rises
  by at least `jump_min_increase` points, reaches at least `jump_multiple` x the earlier score,
  and the later observation is at most `jump_hours` hours after the earlier one (every bound
  inclusive). The score is the RULES.md formula without its cap: the cap (500) would hide every
  jump past it. One signal per post, for its largest jump (ties: the earliest).
"""

import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from campaign.qualification import post_score

BURST = "burst"
NEAR_IDENTICAL = "near_identical"
ENGAGEMENT = "engagement"
ENGAGEMENT_JUMP = "engagement_jump"

DEFAULT_BURST_POSTS = 5
DEFAULT_BURST_MINUTES = 30
DEFAULT_DUPLICATE_POSTS = 2
DEFAULT_ENGAGEMENT_MULTIPLE = 10
DEFAULT_ENGAGEMENT_MIN_POSTS = 3
DEFAULT_JUMP_MIN_INCREASE = 500
DEFAULT_JUMP_MULTIPLE = 10
DEFAULT_JUMP_HOURS = 6


@dataclass(frozen=True)
class Thresholds:
    burst_posts: int = DEFAULT_BURST_POSTS
    burst_minutes: int = DEFAULT_BURST_MINUTES
    duplicate_posts: int = DEFAULT_DUPLICATE_POSTS
    engagement_multiple: int = DEFAULT_ENGAGEMENT_MULTIPLE
    engagement_min_posts: int = DEFAULT_ENGAGEMENT_MIN_POSTS
    jump_min_increase: int = DEFAULT_JUMP_MIN_INCREASE
    jump_multiple: int = DEFAULT_JUMP_MULTIPLE
    jump_hours: int = DEFAULT_JUMP_HOURS


@dataclass(frozen=True)
class PostActivity:
    """One post of the campaign as the signals see it, whatever its verdict.

    ``own_duplicate_of`` is the post_id of the earlier post by the same author that this one
    near-duplicates, or None (a copy of someone else's post is not farming by this trader).
    """

    post_id: str
    uid: int
    created_at: datetime
    score: int
    own_duplicate_of: str | None = None

    @property
    def order_key(self) -> tuple[datetime, str]:
        return (self.created_at, self.post_id)


@dataclass(frozen=True)
class EngagementObservation:
    """A post's engagement figures as observed at one instant (one row of its history)."""

    post_id: str
    uid: int
    observed_at: datetime
    likes: int
    comments: int
    shares: int
    views: int

    @property
    def score(self) -> int:
        """The RULES.md post score without its cap."""
        return post_score(likes=self.likes, comments=self.comments, shares=self.shares, views=self.views, cap=sys.maxsize)

    def as_evidence(self) -> dict:
        return {
            "at": self.observed_at.isoformat(), "likes": self.likes, "comments": self.comments, "shares": self.shares,
            "views": self.views, "score": self.score,
        }  # fmt: skip


@dataclass(frozen=True)
class Signal:
    """A review flag to raise: its key is (kind, uid, post_id); post_id None is trader-wide."""

    kind: str
    uid: int
    post_id: str | None
    evidence: dict = field(default_factory=dict, compare=False)

    @property
    def key(self) -> tuple[str, int, str | None]:
        return (self.kind, self.uid, self.post_id)


def _by_trader(posts: Iterable[PostActivity]) -> dict[int, list[PostActivity]]:
    grouped: dict[int, list[PostActivity]] = defaultdict(list)
    for post in posts:
        grouped[post.uid].append(post)
    return {uid: sorted(grouped[uid], key=lambda p: p.order_key) for uid in sorted(grouped)}


def posting_bursts(posts: Iterable[PostActivity], *, max_posts: int = DEFAULT_BURST_POSTS, minutes: int = DEFAULT_BURST_MINUTES) -> list[Signal]:
    """One signal per burst, keyed by the burst's first post; the evidence lists every post in it.

    Scanning from each trader's earliest post, a burst takes every post less than `minutes` after
    its first one; the scan resumes after the burst, so bursts never overlap and the result does
    not depend on input order.
    """
    span = timedelta(minutes=minutes)
    signals = []
    for uid, own in _by_trader(posts).items():
        i = 0
        while i < len(own):
            j = i
            while j + 1 < len(own) and own[j + 1].created_at - own[i].created_at < span:
                j += 1
            if j - i + 1 > max_posts:
                burst = own[i : j + 1]
                signals.append(
                    Signal(BURST, uid, own[i].post_id, {
                        "posts": [p.post_id for p in burst], "count": len(burst), "first_at": own[i].created_at.isoformat(),
                        "last_at": own[j].created_at.isoformat(), "max_posts": max_posts, "minutes": minutes,
                    })
                )  # fmt: skip
                i = j + 1
            else:
                i += 1
    return signals


def near_identical_posts(posts: Iterable[PostActivity], *, min_copies: int = DEFAULT_DUPLICATE_POSTS) -> list[Signal]:
    """One trader-wide signal for each trader with at least `min_copies` copies of their own posts."""
    signals = []
    for uid, own in _by_trader(posts).items():
        pairs = [[p.post_id, p.own_duplicate_of] for p in own if p.own_duplicate_of is not None]
        if len(pairs) >= min_copies:
            signals.append(Signal(NEAR_IDENTICAL, uid, None, {"pairs": pairs, "count": len(pairs), "min_copies": min_copies}))
    return signals


def median(values: list[int]) -> Fraction:
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return Fraction(ordered[mid])
    return Fraction(ordered[mid - 1] + ordered[mid], 2)


def engagement_outliers(
    posts: Iterable[PostActivity], *, multiple: int = DEFAULT_ENGAGEMENT_MULTIPLE, min_posts: int = DEFAULT_ENGAGEMENT_MIN_POSTS
) -> list[Signal]:
    """One signal per post scoring more than `multiple` x its author's median post score."""
    signals = []
    for uid, own in _by_trader(posts).items():
        if len(own) < min_posts:
            continue
        usual = median([p.score for p in own])
        for post in own:
            if post.score > multiple * usual:
                signals.append(Signal(ENGAGEMENT, uid, post.post_id, {"score": post.score, "median": str(usual), "multiple": multiple, "posts": len(own)}))
    return signals


HOUR = timedelta(hours=1)
TENTH = Decimal("0.1")


def engagement_jump(
    history: Sequence[EngagementObservation],
    *,
    min_increase: int = DEFAULT_JUMP_MIN_INCREASE,
    multiple: int = DEFAULT_JUMP_MULTIPLE,
    hours: int = DEFAULT_JUMP_HOURS,
) -> Signal | None:
    """The signal of one post's history (its observations, in any order), or None.

    A jump is a pair of consecutive observations (by time, equal times in the given order) whose
    later score is at least `min_increase` above and at least `multiple` x the earlier one, at
    most `hours` after it. The evidence is the largest jump (ties: the earliest) with both
    observations, the increase, the elapsed hours and the points per hour (both to 0.1, half up;
    no rate for two observations at the same instant), and how many jumps the history has.
    """
    ordered = sorted(history, key=lambda o: o.observed_at)
    window = hours * HOUR
    jumps = []
    for before, after in zip(ordered, ordered[1:]):
        increase = after.score - before.score
        if increase >= min_increase and after.score >= multiple * before.score and after.observed_at - before.observed_at <= window:
            jumps.append((increase, before, after))
    if not jumps:
        return None
    increase, before, after = max(jumps, key=lambda j: j[0])  # max keeps the first of equals
    elapsed = Decimal((after.observed_at - before.observed_at) // timedelta(microseconds=1)) / 3_600_000_000
    rate = str((increase / elapsed).quantize(TENTH, rounding=ROUND_HALF_UP)) if elapsed else None
    return Signal(ENGAGEMENT_JUMP, after.uid, after.post_id, {
        "before": before.as_evidence(), "after": after.as_evidence(), "increase": increase,
        "hours": str(elapsed.quantize(TENTH, rounding=ROUND_HALF_UP)), "per_hour": rate, "jumps": len(jumps),
        "min_increase": min_increase, "multiple": multiple, "within_hours": hours,
    })  # fmt: skip


def engagement_jumps(histories: Iterable[Sequence[EngagementObservation]], **thresholds) -> list[Signal]:
    """One signal per post with an implausible jump; `histories` yields one post's history at a
    time, so a caller can stream them (see `engagement_jump` for the thresholds)."""
    return [signal for history in histories if (signal := engagement_jump(history, **thresholds)) is not None]


def farming_signals(posts: Iterable[PostActivity], thresholds: Thresholds = Thresholds(), histories: Iterable[Sequence[EngagementObservation]] = ()) -> list[Signal]:
    """Every signal of the four kinds, in a stable order (kind, uid, post). `histories` are the
    posts' engagement histories, one post's observations at a time."""
    posts = list(posts)
    signals = [
        *posting_bursts(posts, max_posts=thresholds.burst_posts, minutes=thresholds.burst_minutes),
        *near_identical_posts(posts, min_copies=thresholds.duplicate_posts),
        *engagement_outliers(posts, multiple=thresholds.engagement_multiple, min_posts=thresholds.engagement_min_posts),
        *engagement_jumps(histories, min_increase=thresholds.jump_min_increase, multiple=thresholds.jump_multiple, hours=thresholds.jump_hours),
    ]
    return sorted(signals, key=lambda s: (s.kind, s.uid, s.post_id or ""))
