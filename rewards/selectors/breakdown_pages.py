"""One reward's breakdown a page at a time, for the trader (opened from the status page).

The status page shows the first lines of each breakdown; a top trader's leaderboard breakdown
counts thousands of posts, listed here BREAKDOWN_LINES_PER_PAGE a page, in the order the status
page lists them: the counted posts as the computation stored them, then the other posts, oldest
first (`breakdown.LinesPlan`). A page reads only its own posts: the counted ones by id, the
others by offset in the database; the counts of both lists are one aggregate.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import Count, FilteredRelation, Q

from campaign.models import Campaign, Post
from core.database import binary_collation
from rewards.models import ReviewItem, Reward, StatusLink
from rewards.selectors.breakdown import LEFT_OUT, NO_OTHERS, Breakdown, LinesPlan, breakdown_build, counted_line, lines_plan, other_line
from rewards.selectors.posts import PostLine, exclusions_of
from rewards.selectors.status_posts import FIELDS, counts_now_q, post_line
from traders.models import Trader

BREAKDOWN_LINES_PER_PAGE = 50


@dataclass(frozen=True)
class BreakdownPage:
    """One page of the lines of a reward's breakdown (`new`: of its open review item's computation)."""

    campaign: Campaign
    trader: Trader
    kind: str
    kind_label: str
    period: str
    asset: str
    amount: Decimal
    state_label: str
    preview: bool
    settled_at: datetime | None
    new: bool
    breakdown: Breakdown
    page: Page  # of line numbers: `start_index` to `end_index` of `paginator.count` lines


def reward_breakdown_page_get(*, link: StatusLink, kind: str, period: str, new: bool, number: int) -> BreakdownPage | None:
    """Page `number` of the breakdown of the trader's reward of `kind` and `period` (out-of-range
    numbers give the nearest page), or of its open review item's computation with `new`; None
    when the trader has no such reward, or it has no open review item. Five queries at most: the
    reward, the exclusions, the counts, the counted posts of the page, the other posts of the page.
    """
    campaign, trader = link.campaign, link.trader
    row = (
        Reward.objects.filter(campaign=campaign, trader=trader, kind=kind, period=period)
        .annotate(open_item=FilteredRelation("review_items", condition=Q(review_items__status=ReviewItem.Status.OPEN)))
        .values("kind", "period", "asset", "amount", "state", "preview", "detail", "settlement_run__at",
                "open_item__id", "open_item__computed_amount", "open_item__computed_detail", "open_item__settlement_run__at")
        .first()
    )  # fmt: skip
    if row is None or (new and row["open_item__id"] is None):
        return None
    if new:
        amount, detail, settled_at = row["open_item__computed_amount"], row["open_item__computed_detail"] or {}, row["open_item__settlement_run__at"]
    else:
        amount, detail, settled_at = row["amount"], row["detail"] or {}, row["settlement_run__at"]
    exclusion, excluded_posts = exclusions_of(campaign=campaign, trader=trader)
    # A computation that gives no reward lists no posts (the page says why there is none).
    plan = lines_plan(campaign=campaign, kind=kind, period=period, detail=detail) if detail else LinesPlan(stored=[])
    lines = _Lines(campaign=campaign, trader=trader, plan=plan, excluded_posts=excluded_posts)
    page = Paginator(range(lines.counted_total + lines.others_total), BREAKDOWN_LINES_PER_PAGE).get_page(number)
    start, stop = page.start_index() - 1 if page.object_list else 0, page.end_index()
    counted, others = lines.counted(start, min(stop, lines.counted_total)), lines.others(max(start, lines.counted_total) - lines.counted_total,
                                                                                        stop - lines.counted_total)  # fmt: skip
    cap = campaign.score_cap
    breakdown = breakdown_build(
        campaign=campaign, kind=kind, amount=amount, detail=detail, exclusion=exclusion, asset=row["asset"], more=page.has_next(),
        counted=[counted_line(plan, post, post_id, score, cap) for post_id, score, post in counted],
        not_counted=[other_line(plan, post, cap) for post in others],
    )  # fmt: skip
    return BreakdownPage(
        campaign=campaign, trader=trader, kind=kind, kind_label=dict(Reward.Kind.choices).get(kind, kind), period=period, asset=row["asset"],
        amount=amount, state_label=dict(Reward.State.choices).get(row["state"], row["state"]), preview=row["preview"], settled_at=settled_at,
        new=new, breakdown=breakdown, page=page,
    )  # fmt: skip


class _Lines:
    """The two lists of a breakdown in the database: the counted posts, the other posts."""

    def __init__(self, *, campaign: Campaign, trader: Trader, plan: LinesPlan, excluded_posts: dict[str, str]):
        self.plan, self.excluded_posts = plan, excluded_posts
        self.posts = Post.objects.filter(campaign=campaign, author=trader)
        now = counts_now_q(excluded_posts)
        # Without stored posts (a leaderboard detail of before), the counted posts are those that count now.
        self.counted_q = now if plan.stored is None else None
        self.others_q = self._others_q(now)
        counts = {name: Count("pk", filter=q) for name, q in (("counted", self.counted_q), ("others", self.others_q)) if q is not None}
        totals = self.posts.aggregate(**counts) if counts else {}
        self.counted_total = len(plan.stored) if plan.stored is not None else totals["counted"]
        self.others_total = totals.get("others", 0)

    def _others_q(self, now: Q) -> Q | None:
        plan = self.plan
        if plan.others == NO_OTHERS:
            return None
        q = Q()
        if plan.span is not None:
            q &= Q(created_at__gte=plan.span.starts_at, created_at__lt=plan.span.ends_at)
        if plan.others == LEFT_OUT or plan.stored is None:
            q &= ~now
        stored_ids = [entry["post_id"] for entry in plan.stored or []]
        if stored_ids:
            q &= ~Q(post_id__in=stored_ids)
        return q

    def _by_time(self, q: Q):
        return self.posts.filter(q).order_by("created_at", binary_collation("post_id")).values(*FIELDS)

    def counted(self, start: int, stop: int) -> list[tuple[str, int | None, PostLine | None]]:
        """(post id, stored score, the post now or None) of the counted lines start to stop."""
        if stop <= start:
            return []
        if self.counted_q is not None:
            return [(p.post_id, p.score, p) for p in (post_line(row, self.excluded_posts) for row in self._by_time(self.counted_q)[start:stop])]
        entries = self.plan.stored[start:stop]
        found = {row["post_id"]: post_line(row, self.excluded_posts)
                 for row in self.posts.filter(post_id__in=[e["post_id"] for e in entries]).order_by().values(*FIELDS)}  # fmt: skip
        return [(e["post_id"], e.get("score"), found.get(e["post_id"])) for e in entries]

    def others(self, start: int, stop: int) -> list[PostLine]:
        if stop <= start or self.others_q is None:
            return []
        return [post_line(row, self.excluded_posts) for row in self._by_time(self.others_q)[start:stop]]
