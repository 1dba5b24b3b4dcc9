"""The trader's posts and ops' exclusions as they are now: the rows the status page lists and a
breakdown explains its stored computation against (what moved since, and why a post did not count)."""

from dataclasses import dataclass
from datetime import date, datetime

from campaign.models import Campaign, Post
from rewards.models import ReviewFlag
from traders.models import Trader

ENGAGEMENT = ("likes", "comments", "shares", "views")


@dataclass(frozen=True)
class PostLine:
    post_id: str
    created_at: datetime
    text: str
    verdict: str
    score: int
    approved_by_ops: bool
    featured_day: date | None
    homepage: bool
    likes: int = 0
    comments: int = 0
    shares: int = 0
    views: int = 0
    excluded_note: str = ""

    @property
    def qualifies(self) -> bool:
        return self.verdict == Post.Verdict.QUALIFIED


@dataclass(frozen=True)
class Exclusion:
    """Ops excluded this trader from settlement, with a note (a review flag's decision)."""

    note: str
    decided_at: datetime | None


def exclusions_of(*, campaign: Campaign, trader: Trader) -> tuple[Exclusion | None, dict[str, str]]:
    """One query: whether ops excluded the trader, and the post ids they excluded with the notes."""
    trader_exclusion, posts = None, {}
    for excludes, post_id, note, decided_at in (
        ReviewFlag.objects.filter(campaign=campaign, trader=trader, status=ReviewFlag.Status.EXCLUDED)
        .order_by("decided_at", "pk")
        .values_list("excludes", "post__post_id", "note", "decided_at")
    ):
        if excludes == ReviewFlag.Excludes.TRADER:
            trader_exclusion = trader_exclusion or Exclusion(note=note, decided_at=decided_at)
        elif post_id:
            posts.setdefault(post_id, note)
    return trader_exclusion, posts
