"""Plain value types that the reward rules take in.

The settlement service builds them from the ORM; the rules never see a model. Each type checks
its own shape on construction so that a bad value fails where it is made, not deep in a split.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

# The period code of the rewards that belong to the whole campaign (first post, leaderboard).
ALL = "ALL"
# Time zone types whose `utcoffset` is never None: a datetime that carries one is aware without
# asking (what the database gives, once per post of a settlement).
_ALWAYS_AWARE = (timezone, ZoneInfo)


@dataclass(frozen=True)
class QualifiedPost:
    """A post that passed every qualification check of RULES.md section 3.

    Only qualifying posts are passed to the rules; the caller has already filtered them by
    enrolment, period or window. ``score`` is the post score of section 3 (already capped).
    ``created_at`` must be aware: instants are compared as instants, whatever their offset.
    """

    post_id: str
    uid: int
    created_at: datetime
    score: int

    def __post_init__(self) -> None:
        if not isinstance(self.post_id, str) or not self.post_id:
            raise ValueError(f"post_id must be a non-empty string, got {self.post_id!r}")
        if isinstance(self.uid, bool) or not isinstance(self.uid, int) or self.uid <= 0:
            raise ValueError(f"uid must be a positive int, got {self.uid!r}")
        created_at = self.created_at
        if not isinstance(created_at, datetime) or (type(created_at.tzinfo) not in _ALWAYS_AWARE and created_at.utcoffset() is None):
            raise ValueError(f"created_at of post {self.post_id} must be an aware datetime")
        if isinstance(self.score, bool) or not isinstance(self.score, int) or self.score < 0:
            raise ValueError(f"score of post {self.post_id} must be a non-negative int")

    @property
    def order_key(self) -> tuple[datetime, str]:
        """The RULES.md order of posts: ``created_at`` instant, then ``post_id`` as a string."""
        return (self.created_at, self.post_id)


@dataclass(frozen=True)
class TraderStats:
    """A trader's copy-trading figures from the snapshot the caller chose (RULES.md section 6).

    ``new_copiers`` is a count, never negative. ``copier_pnl_usdt`` may be negative (the
    leaderboard counts it as 0 then); it must be a ``Decimal`` so every digit reaches the score.
    """

    new_copiers: int
    copier_pnl_usdt: Decimal

    def __post_init__(self) -> None:
        if (
            isinstance(self.new_copiers, bool)
            or not isinstance(self.new_copiers, int)
            or self.new_copiers < 0
        ):
            raise ValueError(f"new_copiers must be a non-negative int, got {self.new_copiers!r}")
        if not isinstance(self.copier_pnl_usdt, Decimal) or not self.copier_pnl_usdt.is_finite():
            raise ValueError(
                f"copier_pnl_usdt must be a finite Decimal, got {self.copier_pnl_usdt!r}"
            )


NO_STATS = TraderStats(new_copiers=0, copier_pnl_usdt=Decimal("0"))


class UniquePosts(tuple):
    """A tuple of posts that `unique_posts` checked: immutable, so it stays checked."""

    __slots__ = ()


def unique_posts(posts: Iterable[QualifiedPost]) -> tuple[QualifiedPost, ...]:
    """Return ``posts`` as a tuple, raising ``ValueError`` if a ``post_id`` appears twice.

    A post id is unique (RULES.md section 3); a repeated one means the caller joined rows
    twice, and counting it twice would inflate a score, so it fails instead of being dropped.
    The tuple is a `UniquePosts`: given one again (a caller that checks once and hands the same
    posts to every rule), it is returned as it is.
    """
    if type(posts) is UniquePosts:
        return posts
    posts = tuple(posts)
    seen: set[str] = set()
    for post in posts:
        if not isinstance(post, QualifiedPost):
            raise TypeError(f"expected QualifiedPost, got {type(post).__name__}")
        if post.post_id in seen:
            raise ValueError(f"post {post.post_id} is given more than once")
        seen.add(post.post_id)
    return UniquePosts(posts)
