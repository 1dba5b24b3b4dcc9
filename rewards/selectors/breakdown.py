"""Every cent explained: the breakdown of a reward's stored amount, or of a review item's new
computation, for the trader's status page and the admin (RULES.md section 8).

A reward's breakdown is read from its stored `detail` (written by the settlement that computed
the amount, so it never drifts from what is paid): the posts it counted and their scores, the
shares, the rank. The trader's posts as they are now only say what moved since: the engagement
behind each score, a counted post that no longer qualifies, and why the others did not count.
"""

import sys
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal, localcontext
from fractions import Fraction

from campaign.models import Campaign, Post
from campaign.periods import Period
from campaign.qualification import post_score
from rewards.models import ReviewItem, Reward
from rewards.selectors.posts import ENGAGEMENT, Exclusion, PostLine, exclusions_of

SHARE_DIGITS = 8
NOT_BEST = "not_best"
EXCLUDED = "excluded"
VERDICT = "verdict"
# A post that qualifies now and would have counted, but that the computation did not count: it
# qualified, or its score rose, after the computation was made.
SINCE = "since"
# Which of the trader's other posts a breakdown lists (`LinesPlan.others`).
ALL_OTHERS, LEFT_OUT, NO_OTHERS = "all", "left_out", "none"
VERDICT_LABELS = dict(Post.Verdict.choices)  # lazy labels: translated when shown


@dataclass(frozen=True)
class ScoreLine:
    """One post in a breakdown: its score from its engagement, or why it did not count."""

    post_id: str
    created_at: datetime | None
    score: int
    likes: int = 0
    comments: int = 0
    shares: int = 0
    views: int = 0
    raw: int = 0
    cap: int = 0
    known: bool = True  # False when the post is no longer stored (only its stored score is shown)
    reason: str = ""  # "" when it counted; else VERDICT, NOT_BEST, SINCE or EXCLUDED
    reason_label: str = ""
    note: str = ""  # the campaign team's note when ops excluded the post
    # A counted post that no longer counts now: VERDICT (with today's verdict in `since_label`)
    # or EXCLUDED (with `note`); "" when it still qualifies or is no longer stored.
    since_reason: str = ""
    since_label: str = ""

    @property
    def views_points(self) -> int:
        return self.views // 100

    @property
    def capped(self) -> bool:
        return self.raw > self.cap

    @property
    def changed(self) -> bool:
        """The engagement moved since the settlement: the stored score is the one paid on."""
        return self.known and min(self.raw, self.cap) != self.score


@dataclass(frozen=True)
class Breakdown:
    """What a reward is made of, in the order a reader checks it; fields unused by a kind are None."""

    kind: str
    amount: Decimal
    counted: list[ScoreLine]
    not_counted: list[ScoreLine]
    detail: dict
    exclusion: Exclusion | None = None
    asset: str = ""  # the reward's asset code, shown after the amount received
    score_cap: int = 0
    top_posts: int = 0
    exact_share: str | None = None
    share_formula: bool = False  # the exact share is pool x score / eligible total (no capping moved it)
    copier_points: str | None = None
    pnl_points: str | None = None
    # The thresholds named when a computation gives no reward (see `empty`).
    min_score: int = 0
    min_posts: int = 0
    # Lines past `counted` and `not_counted` were left out: the pages show long lists a page at a time.
    more: bool = False

    @property
    def empty(self) -> bool:
        """The computation gives no reward of this kind (a review item's computed 0.00 has no detail)."""
        return not self.detail


def _decimal_text(value: Fraction, digits: int = SHARE_DIGITS) -> str:
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        shown = exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_DOWN)
    text = format(shown, "f")
    return text if shown == exact else text + "…"


def _score_line(post: PostLine | None, post_id: str, stored_score: int, cap: int, **kwargs) -> ScoreLine:
    if post is None:
        return ScoreLine(post_id=post_id, created_at=None, score=stored_score, known=False, cap=cap, **kwargs)
    # The rule's score before the cap (shown apart from it); the engagement fields' sizes keep it far below sys.maxsize.
    raw = post_score(likes=post.likes, comments=post.comments, shares=post.shares, views=post.views, cap=sys.maxsize)
    return ScoreLine(
        post_id=post_id, created_at=post.created_at, score=stored_score, likes=post.likes, comments=post.comments, shares=post.shares,
        views=post.views, raw=raw, cap=cap, **kwargs,
    )  # fmt: skip


def _verdict_label(post: PostLine) -> str:
    return str(VERDICT_LABELS.get(post.verdict, post.verdict))


def counts_now(post: PostLine) -> bool:
    """The post would count if settled now: it qualifies and ops did not exclude it."""
    return post.qualifies and not post.excluded_note


def _counted(post: PostLine | None, post_id: str, stored_score: int, cap: int) -> ScoreLine:
    """A post the computation counted, with its stored score; flagged when it no longer counts now."""
    if post is None or counts_now(post):
        return _score_line(post, post_id, stored_score, cap)
    if post.excluded_note:
        return _score_line(post, post_id, stored_score, cap, since_reason=EXCLUDED, note=post.excluded_note)
    return _score_line(post, post_id, stored_score, cap, since_reason=VERDICT, since_label=_verdict_label(post))


def _not_counted(post: PostLine, cap: int, *, would_count: bool) -> ScoreLine:
    """A post the computation did not count, and why: excluded or not qualifying now, or (it
    qualifies now) not among the best posts, or new to the data since the computation
    (`would_count`: it would have counted had it qualified, with this score, then)."""
    if post.excluded_note:
        return _score_line(post, post.post_id, post.score, cap, reason=EXCLUDED, note=post.excluded_note)
    if not post.qualifies:
        return _score_line(post, post.post_id, post.score, cap, reason=VERDICT, reason_label=_verdict_label(post))
    return _score_line(post, post.post_id, post.score, cap, reason=SINCE if would_count else NOT_BEST)


def _by_time(posts: list[PostLine]) -> list[PostLine]:
    return sorted(posts, key=lambda p: (p.created_at, p.post_id))


@dataclass(frozen=True)
class LinesPlan:
    """Which posts a computation's breakdown lists, in the order it lists them: the posts it
    counted (as its detail stores them), then the trader's other posts, oldest first, each with
    why it did not count. Read apart from the posts themselves so that a page can fetch only the
    posts of the lines it shows (`rewards.selectors.breakdown_pages`)."""

    # {"post_id", "score"} as counted ("score" None: the post's own, for a first-post detail
    # without one); None: the posts that count now, oldest first (a leaderboard detail written
    # before settlements stored the posts they counted).
    stored: list[dict] | None
    span: Period | None = None  # the other posts only from this content period
    others: str = NO_OTHERS  # ALL_OTHERS, LEFT_OUT (only the posts that do not count now) or NO_OTHERS
    # A qualifying other post would have counted, had it qualified with its score then (SINCE),
    # unless it scores at most `lowest` (NOT_BEST).
    would_count: bool = False
    lowest: int | None = None

    def lists_among_others(self, post: PostLine) -> bool:
        """`post`, not counted, is one of the other posts this breakdown lists."""
        if self.others == NO_OTHERS or (self.span is not None and not self.span.contains(post.created_at)):
            return False
        return self.others == ALL_OTHERS or not counts_now(post)


def lines_plan(*, campaign: Campaign, kind: str, period: str, detail: dict) -> LinesPlan:
    """The plan of a computation's lines, from its detail alone (no query)."""
    if not detail:  # no reward: nothing counted; the posts that do not count now (of the period) say why
        return LinesPlan(stored=[], span=_period_span(campaign, period) if kind == Reward.Kind.CONTENT_POOL else None, others=LEFT_OUT)
    if kind == Reward.Kind.CONTENT_POOL:
        stored = detail.get("posts", [])
        span = _period_span(campaign, period)
        # Not among the best only when the computation had its full count of posts, each scoring
        # at least this one; otherwise the post would have counted, had it qualified then.
        lowest = min((row["score"] for row in stored), default=None) if len(stored) >= campaign.pool_top_posts else None
        return LinesPlan(stored=stored, span=span, others=NO_OTHERS if span is None else ALL_OTHERS, would_count=True, lowest=lowest)
    if kind == Reward.Kind.LEADERBOARD:
        # Every qualifying post counts on the leaderboard: one the computation left out is newer than it.
        return LinesPlan(stored=detail.get("posts"), others=ALL_OTHERS, would_count=True)
    post_id = detail.get("post_id", "")
    return LinesPlan(stored=[{"post_id": post_id, "score": detail.get("score")}] if post_id else [])


def _period_span(campaign: Campaign, period: str) -> Period | None:
    return next((p for p in campaign.content_periods() if p.code == period), None)


def counted_line(plan: LinesPlan, post: PostLine | None, post_id: str, stored_score: int | None, cap: int) -> ScoreLine:
    """The line of a post the computation counted (`post` None: no longer stored)."""
    if plan.stored is None:  # counted because it counts now: nothing moved since
        return _score_line(post, post_id, stored_score, cap)
    return _counted(post, post_id, stored_score if stored_score is not None else (post.score if post else 0), cap)


def other_line(plan: LinesPlan, post: PostLine, cap: int) -> ScoreLine:
    """The line of one of the trader's other posts: why the computation did not count it."""
    return _not_counted(post, cap, would_count=plan.would_count and (plan.lowest is None or post.score > plan.lowest))


def reward_breakdown(*, campaign: Campaign, kind: str, period: str, amount: Decimal, detail: dict, posts: list[PostLine],
                     exclusion: Exclusion | None = None, asset: str = "", lines: int | None = None) -> Breakdown:  # fmt: skip
    """The breakdown of one computation (a reward's stored amount and detail, or a review item's
    computed ones) and the trader's posts as they are now (no query).

    Everything counted comes from the detail, never from today's verdicts: the content pool's and
    the leaderboard's posts with their stored scores (a leaderboard detail written before
    settlements stored its posts falls back to the posts that qualify now), the first post's id
    and score; a counted post that no longer qualifies is flagged as such. The trader's other
    posts (of the period, for the content pool) say why they did not count: their verdict or
    exclusion now, not among the best (content pool), or qualifying only since the computation.
    Content pool: creator score, eligible total, pool, cap, exact share, floor and rounding cent.
    Leaderboard: the score's three parts, rank and tier. Amounts shown are the stored ones, never
    recomputed. An empty detail (a computation that gives no reward) counts nothing.

    `lines`: only the first so many lines (counted, then the others), with `more` set when some
    were left out. `posts` then need only hold the counted posts of those lines and the first
    `lines + 1` posts by time of each class (content period or none, counts now or not): what
    `rewards.selectors.status_posts.post_counts_and_lines` reads.
    """
    detail = detail or {}
    plan = lines_plan(campaign=campaign, kind=kind, period=period, detail=detail)
    by_id = {post.post_id: post for post in posts}
    if plan.stored is None:
        refs = [(p.post_id, p.score) for p in _by_time([p for p in posts if counts_now(p)])]
    else:
        refs = [(row["post_id"], row["score"]) for row in plan.stored]
    counted_ids = {post_id for post_id, _score in refs}  # a set: a top trader has thousands of posts
    others = _by_time([p for p in posts if p.post_id not in counted_ids and plan.lists_among_others(p)])
    more = False
    if lines is not None:
        more = len(refs) + len(others) > lines
        refs = refs[:lines]
        others = others[: lines - len(refs)]
    cap = campaign.score_cap
    return breakdown_build(
        campaign=campaign, kind=kind, amount=amount, detail=detail, exclusion=exclusion, asset=asset, more=more,
        counted=[counted_line(plan, by_id.get(post_id), post_id, score, cap) for post_id, score in refs],
        not_counted=[other_line(plan, p, cap) for p in others],
    )  # fmt: skip


def breakdown_build(*, campaign: Campaign, kind: str, amount: Decimal, detail: dict, counted: list[ScoreLine], not_counted: list[ScoreLine],
                    exclusion: Exclusion | None = None, asset: str = "", more: bool = False) -> Breakdown:  # fmt: skip
    """A breakdown of the lines given, with the figures of its kind read from the detail."""
    detail = detail or {}
    common = {"kind": kind, "amount": amount, "detail": detail, "exclusion": exclusion, "asset": asset, "score_cap": campaign.score_cap,
              "min_score": campaign.pool_min_score, "min_posts": campaign.leaderboard_min_posts, "counted": counted, "not_counted": not_counted,
              "more": more}  # fmt: skip
    if not detail:
        return Breakdown(**common, top_posts=campaign.pool_top_posts)
    if kind == Reward.Kind.CONTENT_POOL:
        exact = Fraction(detail["exact_share"]) if "exact_share" in detail else None
        return Breakdown(
            **common, top_posts=campaign.pool_top_posts, exact_share=None if exact is None else _decimal_text(exact),
            share_formula=exact is not None and bool(detail.get("eligible_score_total"))
            and exact == Fraction(Decimal(detail["pool"])) * detail["creator_score"] / detail["eligible_score_total"],
        )  # fmt: skip
    if kind == Reward.Kind.LEADERBOARD:
        copiers = Decimal(str(detail.get("new_copiers", 0))) * Decimal(detail.get("copier_weight", "0"))
        pnl = max(Decimal("0"), Decimal(detail.get("copier_pnl_usdt", "0"))) * Decimal(detail.get("pnl_weight", "0"))
        return Breakdown(**common, copier_points=_plain(copiers), pnl_points=_plain(pnl))
    return Breakdown(**common)


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def reward_breakdown_get(*, reward: Reward) -> Breakdown:
    """The breakdown of one ledger row (for the admin): two queries, the trader's posts and exclusions."""
    return _breakdown_of(reward, amount=reward.amount, detail=reward.detail)


def review_breakdown_get(*, item: ReviewItem) -> Breakdown:
    """The breakdown of a review item's new computation (for the admin), to show beside its
    reward's own (`reward_breakdown_get`), never in its place: the same two queries."""
    return _breakdown_of(item.reward, amount=item.computed_amount, detail=item.computed_detail)


def _breakdown_of(reward: Reward, *, amount: Decimal, detail: dict) -> Breakdown:
    campaign, trader = reward.campaign, reward.trader
    exclusion, excluded_posts = exclusions_of(campaign=campaign, trader=trader)
    posts = [
        PostLine(post_id=row["post_id"], created_at=row["created_at"], text="", verdict=row["verdict"], score=row["score"], approved_by_ops=False,
                 featured_day=None, homepage=False, likes=row["likes"], comments=row["comments"], shares=row["shares"], views=row["views"],
                 excluded_note=excluded_posts.get(row["post_id"], ""))
        for row in Post.objects.filter(campaign=campaign, author=trader).values("post_id", "created_at", "verdict", "score", *ENGAGEMENT)
    ]  # fmt: skip
    return reward_breakdown(campaign=campaign, kind=reward.kind, period=reward.period, amount=amount, detail=detail, posts=posts, exclusion=exclusion,
                            asset=reward.asset)  # fmt: skip
