"""Reads for the rewards pages: the trader status page (by signed link) and the public campaign page.

Neither computes the leaderboard again: the public page reads the latest settlement run's summary,
and the status page the trader's leaderboard reward (the computation its amount is) or, without
one, that same summary. What a trader sees is then what the ledger was written from, and the pages
stay cheap. Each selector runs a fixed number of queries, whatever the number of posts or traders.
"""

import sys
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, localcontext
from fractions import Fraction

from django.conf import settings
from django.core import signing
from django.core.paginator import Page, Paginator
from django.db.models import FilteredRelation, Q
from django.db.models.functions import Left
from django.urls import reverse

from campaign.enrolment import ENROLLED, NO_REGISTRATION, REGISTRATION_PENDING, REGISTRATION_REJECTED, REGISTRATION_REVOKED, SPOT_MARKET, enrolment_evaluate
from campaign.models import Campaign, Post, Signup
from campaign.periods import Period
from campaign.qualification import post_score
from rewards.budgets import leaderboard_total
from rewards.models import FeaturedPost, ReviewFlag, ReviewItem, Reward, SettlementRun, StatusLink, TrafficSource, WeeklyStar
from traders.models import Trader

STATUS_SALT = "rewards.status"
# A signed token of a UID, a slug and a version is about 100 characters; anything far longer is
# not one of ours and is refused before any work is done on it.
MAX_TOKEN_LENGTH = 400
REGISTRATION_REASONS = {NO_REGISTRATION, REGISTRATION_PENDING, REGISTRATION_REJECTED, REGISTRATION_REVOKED, SPOT_MARKET}
NO_POSTS = "no_posts"
NONE_QUALIFYING = "none_qualifying"
PUBLIC_FEATURED_DAYS = 5
PUBLIC_HOMEPAGE_POSTS = 10
# What an excerpt card needs; a post row also holds its MinHash signature, which stays behind.
PUBLIC_POST_FIELDS = ("post_id", "created_at", "score", "author", "author__nickname")
# The cards show `truncatechars:160` (public) and `:140` (status page): one character more than
# that is enough for the filter to know it must cut, so the rest of a long text stays in the database.
PUBLIC_EXCERPT_CHARS = 161
STATUS_EXCERPT_CHARS = 141
STATUS_POSTS_PER_PAGE = 50


# --- Status links -------------------------------------------------------------------------------


def status_link_token(link: StatusLink) -> str:
    """The signed token of a link: (UID, campaign slug, version), timestamped by the signer.

    Signed with SECRET_KEY under its own salt, so no other signed value of the site can pass
    for one. Each call gives a fresh timestamp; older tokens stay valid until they expire
    (STATUS_LINK_MAX_AGE_DAYS) or the link is rotated.
    """
    return signing.dumps({"u": link.trader.uid, "c": link.campaign.slug, "v": link.version}, salt=STATUS_SALT)


def status_link_url(link: StatusLink) -> str:
    """The absolute URL ops send to the trader (SITE_URL + /s/<token>/)."""
    return settings.SITE_URL + reverse("rewards:status", args=[status_link_token(link)])


def status_token_claims(*, token: str) -> tuple[int, str, int] | None:
    """(trader uid, campaign slug, link version) signed in a token that is neither forged,
    mangled nor expired; None otherwise. No query: whether the link was rotated since is for
    `status_link_from_token` (or a page cached under the current version) to say."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        data = signing.loads(token, salt=STATUS_SALT, max_age=timedelta(days=settings.STATUS_LINK_MAX_AGE_DAYS))
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(data, dict):
        return None
    uid, slug, version = data.get("u"), data.get("c"), data.get("v")
    if not (isinstance(uid, int) and isinstance(slug, str) and isinstance(version, int)):
        return None
    return uid, slug, version


def status_link_from_token(*, token: str) -> StatusLink | None:
    """The link a token stands for, or None when it is forged, mangled, expired or rotated.

    One query (the link with its campaign, trader and the trader's registration). The caller
    must not tell the cases apart to the visitor: every refusal looks the same.
    """
    claims = status_token_claims(token=token)
    if claims is None:
        return None
    uid, slug, version = claims
    # At most one row (one link per campaign and trader): no ORDER BY, which with the model's
    # ordering across the joins cost a quarter of a cached page's time.
    rows = StatusLink.objects.select_related("campaign", "trader", "trader__registration").filter(campaign__slug=slug, trader__uid=uid, version=version)
    return next(iter(rows.order_by()[:1]), None)


# --- Trader status page -------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One of the three steps of the announcement; `reason` says what is missing when not done."""

    key: str
    done: bool
    reason: str = ""


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
class ReviewLine:
    """A reward under review: the new computation, shown beside the stored one and labelled as such."""

    amount: Decimal
    settled_at: datetime
    breakdown: "Breakdown | None" = None


@dataclass(frozen=True)
class RewardLine:
    kind: str
    kind_label: str
    period: str
    asset: str
    amount: Decimal
    state: str
    state_label: str
    preview: bool
    breakdown: "Breakdown | None" = None
    # The settlement whose computation the stored amount and its breakdown are.
    settled_at: datetime | None = None
    review: ReviewLine | None = None


@dataclass(frozen=True)
class StandingReview:
    """The place the new computation of an open review item gives (rank None: not in the paid places)."""

    rank: int | None
    score: str | None
    settled_at: datetime


@dataclass(frozen=True)
class Standing:
    """The trader's place on the leaderboard, if in the paid places.

    With a leaderboard reward, the place that reward's stored amount was computed with (`from_reward`;
    `settled_at` is its settlement, `due` says it is not a preview) and, while its review item is
    open, the new computation's place in `review`; without one, the latest settlement's board.
    """

    rank: int | None
    score: str | None
    due: bool
    settled_at: datetime
    from_reward: bool = False
    review: StandingReview | None = None


@dataclass(frozen=True)
class StarLine:
    week: str
    starts_at: datetime | None
    ends_at: datetime | None
    rank: int | None
    score: int


@dataclass(frozen=True)
class TraderStatus:
    campaign: Campaign
    trader: Trader
    now: datetime
    phase: str  # "upcoming", "open" or "closed"
    enrolled: bool
    steps: list[Step]
    posts: list[PostLine]
    rewards: list[RewardLine]
    standing: Standing | None
    stars: list[StarLine]
    min_posts: int
    qualifying: int = 0
    featured: int = 0
    homepage: int = 0
    posts_to_rank: int = 0
    exclusion: "Exclusion | None" = None
    # The posts shown, newest first, with their excerpts (None when no page was asked for).
    page: Page | None = None


def window_phase(campaign: Campaign, now: datetime) -> str:
    if now < campaign.starts_at:
        return "upcoming"
    return "open" if now < campaign.ends_at else "closed"


def latest_settlement(campaign: Campaign) -> SettlementRun | None:
    return SettlementRun.objects.filter(campaign=campaign, finished_at__isnull=False).only("at", "summary", "campaign_id").order_by("-started_at", "-id").first()


@dataclass(frozen=True)
class Board:
    """The leaderboard part of the latest settlement's summary: when, whether final, the paid places."""

    at: datetime
    due: bool
    top: list[dict]


def latest_board(campaign: Campaign) -> Board | None:
    """The leaderboard of the latest finished settlement, in one query that reads only its keys.

    The summary also holds every period's figures and the ledger counts; the pages need the Top 10
    alone, so the JSON is cut down in the database rather than shipped whole on every request.
    """
    row = (
        SettlementRun.objects.filter(campaign=campaign, finished_at__isnull=False)
        .order_by("-started_at", "-id")
        .values("at", "summary__leaderboard__due", "summary__leaderboard__top")
        .first()
    )
    if row is None:
        return None
    return Board(at=row["at"], due=bool(row["summary__leaderboard__due"]), top=row["summary__leaderboard__top"] or [])


def _weeks_by_code(campaign: Campaign) -> dict[str, Period]:
    return {week.code: week for week in campaign.weeks()}


def trader_status_get(*, link: StatusLink, now: datetime, page: int | None = None) -> TraderStatus:
    """Everything the trader's status page shows, for that trader only, in six queries after the
    link's own: sign-ups, exclusions, posts (with their featured day, without their text), rewards
    (each with its settlement and its open review item, joined), the latest leaderboard, stars;
    and a seventh for the excerpts when `page` is given.

    Counts, steps and the posts' verdicts are over every post; only `page` (newest first,
    STATUS_POSTS_PER_PAGE a page, out-of-range numbers give the nearest page) carries excerpts.
    Enrolment and the steps are evaluated now, from the data as it is; verdicts and scores are
    the posts' stored ones (judged at ingestion and again at every settlement).

    Explanations follow the money (RULES.md section 8): a reward's breakdown is the computation
    of its stored amount, and an open review item's computation is its own `review` line, never
    blended into it. The standing is the leaderboard reward's, when the trader holds one.
    """
    campaign, trader = link.campaign, link.trader
    registration = getattr(trader, "registration", None)  # select_related by the link query
    reg = (registration.status, registration.market) if registration else None
    signups = list(Signup.objects.filter(campaign=campaign, trader=trader).values_list("submitted_at", flat=True))
    window = {"starts_at": campaign.starts_at, "ends_at": campaign.ends_at}
    enrolment = enrolment_evaluate(uid=trader.uid, registration=reg, signups=signups, **window)
    # The sign-up half of the same rule, as if the registration counted: step 2 is reported on
    # its own even when step 1 is what stops the enrolment.
    signup_reason = enrolment_evaluate(uid=trader.uid, registration=("approved", "futures"), signups=signups, **window).reason

    exclusion, excluded_posts = exclusions_of(campaign=campaign, trader=trader)
    posts = [
        PostLine(
            post_id=row["post_id"], created_at=row["created_at"], text="", verdict=row["verdict"], score=row["score"],
            approved_by_ops=row["moderation"] == Post.Moderation.APPROVED,
            featured_day=row["featured_on__day"] if row["featured"] is not False else None, homepage=row["homepage"],
            likes=row["likes"], comments=row["comments"], shares=row["shares"], views=row["views"],
            excluded_note=excluded_posts.get(row["post_id"], ""),
        )  # fmt: skip
        for row in Post.objects.filter(campaign=campaign, author=trader)
        .values("post_id", "created_at", "verdict", "score", "moderation", "featured", "homepage", "featured_on__day", *ENGAGEMENT)
        .order_by("-created_at", "-post_id")
    ]
    qualifying = sum(post.qualifies for post in posts)
    reg_reason = enrolment.reason if enrolment.reason in REGISTRATION_REASONS else ENROLLED
    steps = [
        Step("registration", reg_reason == ENROLLED, "" if reg_reason == ENROLLED else reg_reason),
        Step("signup", signup_reason == ENROLLED, "" if signup_reason == ENROLLED else signup_reason),
        Step("posts", qualifying > 0, "" if qualifying else (NONE_QUALIFYING if posts else NO_POSTS)),
    ]

    kinds, states = dict(Reward.Kind.choices), dict(Reward.State.choices)
    rows = list(
        # A reward has at most one open item (a database constraint), so the join adds no row.
        Reward.objects.filter(campaign=campaign, trader=trader)
        .annotate(open_item=FilteredRelation("review_items", condition=Q(review_items__status=ReviewItem.Status.OPEN)))
        .order_by("kind", "period")
        .values("kind", "period", "asset", "amount", "state", "preview", "detail", "settlement_run__at",
                "open_item__id", "open_item__computed_amount", "open_item__computed_detail", "open_item__settlement_run__at")
    )  # fmt: skip

    def explained(row, amount, detail):
        return reward_breakdown(campaign=campaign, kind=row["kind"], period=row["period"], amount=amount, detail=detail, posts=posts, exclusion=exclusion)

    rewards = [
        RewardLine(
            kind=row["kind"], kind_label=kinds.get(row["kind"], row["kind"]), period=row["period"], asset=row["asset"], amount=row["amount"],
            state=row["state"], state_label=states.get(row["state"], row["state"]), preview=row["preview"],
            breakdown=explained(row, row["amount"], row["detail"]), settled_at=row["settlement_run__at"],
            review=None if row["open_item__id"] is None else ReviewLine(
                amount=row["open_item__computed_amount"], settled_at=row["open_item__settlement_run__at"],
                breakdown=explained(row, row["open_item__computed_amount"], row["open_item__computed_detail"]),
            ),
        )  # fmt: skip
        for row in rows
    ]
    board = latest_board(campaign)  # read whatever the rewards are: the page's query count stays fixed
    standing = _standing(trader=trader, board=board, leaderboard=next((row for row in rows if row["kind"] == Reward.Kind.LEADERBOARD), None))

    weeks = _weeks_by_code(campaign)
    stars = [
        StarLine(week=w, starts_at=weeks[w].starts_at if w in weeks else None, ends_at=weeks[w].ends_at if w in weeks else None, rank=r, score=s)
        for w, r, s in WeeklyStar.objects.filter(campaign=campaign, trader=trader, removed=False).order_by("week").values_list("week", "rank", "score")
    ]
    return TraderStatus(
        campaign=campaign,
        trader=trader,
        now=now,
        phase=window_phase(campaign, now),
        enrolled=enrolment.enrolled,
        steps=steps,
        posts=posts,
        rewards=rewards,
        standing=standing,
        stars=stars,
        min_posts=campaign.leaderboard_min_posts,
        qualifying=qualifying,
        featured=sum(post.featured_day is not None for post in posts),
        homepage=sum(post.homepage for post in posts),
        posts_to_rank=max(0, campaign.leaderboard_min_posts - qualifying),
        exclusion=exclusion,
        page=None if page is None else _posts_page(campaign=campaign, trader=trader, posts=posts, number=page),
    )


def _standing(*, trader: Trader, board: Board | None, leaderboard: dict | None) -> Standing | None:
    """The leaderboard card: the place the trader's leaderboard reward was computed with (and its
    open item's new place beside it), so that the card and the reward never contradict each
    other; the latest settlement's board only for a trader without a leaderboard reward."""
    if leaderboard is not None:
        detail = leaderboard["detail"] or {}
        review = None
        if leaderboard["open_item__id"] is not None:
            computed = leaderboard["open_item__computed_detail"] or {}
            review = StandingReview(rank=computed.get("rank"), score=computed.get("score"), settled_at=leaderboard["open_item__settlement_run__at"])
        return Standing(rank=detail.get("rank"), score=detail.get("score"), due=not leaderboard["preview"], settled_at=leaderboard["settlement_run__at"],
                        from_reward=True, review=review)  # fmt: skip
    if board is None:
        return None
    mine = next((row for row in board.top if row.get("uid") == trader.uid), None)
    return Standing(rank=mine and mine["rank"], score=mine and mine["score"], due=board.due, settled_at=board.at)


def _posts_page(*, campaign: Campaign, trader: Trader, posts: list[PostLine], number: int) -> Page:
    """One page of `posts` (already newest first) with the excerpts of its posts only."""
    shown = Paginator(posts, STATUS_POSTS_PER_PAGE).get_page(number)
    excerpts = dict(
        Post.objects.filter(campaign=campaign, author=trader, post_id__in=[post.post_id for post in shown])
        .annotate(excerpt=Left("text", STATUS_EXCERPT_CHARS))
        .values_list("post_id", "excerpt")
    )
    shown.object_list = [replace(post, text=excerpts.get(post.post_id, "")) for post in shown]
    return shown


# --- Every cent explained -----------------------------------------------------------------------
# A reward's breakdown is read from its stored `detail` (written by the settlement that computed
# the amount, so it never drifts from what is paid): the posts it counted and their scores, the
# shares, the rank. The trader's posts as they are now only say what moved since: the engagement
# behind each score, a counted post that no longer qualifies, and why the others did not count.

ENGAGEMENT = ("likes", "comments", "shares", "views")
SHARE_DIGITS = 8
NOT_BEST = "not_best"
EXCLUDED = "excluded"
VERDICT = "verdict"
# A post that qualifies now and would have counted, but that the computation did not count: it
# qualified, or its score rose, after the computation was made.
SINCE = "since"
VERDICT_LABELS = dict(Post.Verdict.choices)  # lazy labels: translated when shown


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
    score_cap: int = 0
    top_posts: int = 0
    exact_share: str | None = None
    share_formula: bool = False  # the exact share is pool x score / eligible total (no capping moved it)
    copier_points: str | None = None
    pnl_points: str | None = None
    # The thresholds named when a computation gives no reward (see `empty`).
    min_score: int = 0
    min_posts: int = 0

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


def _counts_now(post: PostLine) -> bool:
    return post.qualifies and not post.excluded_note


def _counted(post: PostLine | None, post_id: str, stored_score: int, cap: int) -> ScoreLine:
    """A post the computation counted, with its stored score; flagged when it no longer counts now."""
    if post is None or _counts_now(post):
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


def reward_breakdown(*, campaign: Campaign, kind: str, period: str, amount: Decimal, detail: dict, posts: list[PostLine],
                     exclusion: Exclusion | None = None) -> Breakdown:  # fmt: skip
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
    """
    by_id = {post.post_id: post for post in posts}
    cap = campaign.score_cap
    detail = detail or {}
    common = {"kind": kind, "amount": amount, "detail": detail, "exclusion": exclusion, "score_cap": cap,
              "min_score": campaign.pool_min_score, "min_posts": campaign.leaderboard_min_posts}  # fmt: skip
    if not detail:
        # No reward in this computation: nothing was counted; the posts that do not count now say why.
        span = next((p for p in campaign.content_periods() if p.code == period), None) if kind == Reward.Kind.CONTENT_POOL else None
        left_out = [p for p in posts if not _counts_now(p) and (span is None or span.contains(p.created_at))]
        return Breakdown(**common, counted=[], not_counted=[_not_counted(p, cap, would_count=False) for p in _by_time(left_out)], top_posts=campaign.pool_top_posts)
    if kind == Reward.Kind.CONTENT_POOL:
        stored = detail.get("posts", [])
        counted = [_counted(by_id.get(row["post_id"]), row["post_id"], row["score"], cap) for row in stored]
        counted_ids = {row["post_id"] for row in stored}
        span = next((p for p in campaign.content_periods() if p.code == period), None)
        others = [p for p in posts if p.post_id not in counted_ids and span is not None and span.contains(p.created_at)]
        # Not among the best only when the computation had its full count of posts, each scoring
        # at least this one; otherwise the post would have counted, had it qualified then.
        lowest = min((row["score"] for row in stored), default=None) if len(stored) >= campaign.pool_top_posts else None
        exact = Fraction(detail["exact_share"]) if "exact_share" in detail else None
        return Breakdown(
            **common, counted=counted, not_counted=[_not_counted(p, cap, would_count=lowest is None or p.score > lowest) for p in _by_time(others)],
            top_posts=campaign.pool_top_posts, exact_share=None if exact is None else _decimal_text(exact),
            share_formula=exact is not None and bool(detail.get("eligible_score_total"))
            and exact == Fraction(Decimal(detail["pool"])) * detail["creator_score"] / detail["eligible_score_total"],
        )  # fmt: skip
    if kind == Reward.Kind.LEADERBOARD:
        if "posts" in detail:
            counted = [_counted(by_id.get(row["post_id"]), row["post_id"], row["score"], cap) for row in detail["posts"]]
        else:  # a detail written before settlements stored the posts counted
            counted = [_score_line(p, p.post_id, p.score, cap) for p in _by_time([p for p in posts if _counts_now(p)])]
        counted_ids = {line.post_id for line in counted}  # a set: a top trader has hundreds of posts
        others = [p for p in posts if p.post_id not in counted_ids]
        copiers = Decimal(str(detail.get("new_copiers", 0))) * Decimal(detail.get("copier_weight", "0"))
        pnl = max(Decimal("0"), Decimal(detail.get("copier_pnl_usdt", "0"))) * Decimal(detail.get("pnl_weight", "0"))
        # Every qualifying post counts on the leaderboard: one the computation left out is newer than it.
        return Breakdown(
            **common, counted=counted, not_counted=[_not_counted(p, cap, would_count=True) for p in _by_time(others)],
            copier_points=_plain(copiers), pnl_points=_plain(pnl),
        )  # fmt: skip
    post_id = detail.get("post_id", "")
    post = by_id.get(post_id)
    stored_score = detail["score"] if "score" in detail else (post.score if post else 0)
    counted = [_counted(post, post_id, stored_score, cap)] if post_id else []
    return Breakdown(**common, counted=counted, not_counted=[])


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
    return reward_breakdown(campaign=campaign, kind=reward.kind, period=reward.period, amount=amount, detail=detail, posts=posts, exclusion=exclusion)


# --- Public campaign page -----------------------------------------------------------------------


@dataclass(frozen=True)
class BoardLine:
    rank: int
    nickname: str
    score: str


@dataclass(frozen=True)
class PublicPost:
    post_id: str
    nickname: str
    created_at: datetime
    text: str
    score: int
    day: date | None = None
    by_hand: bool = False


@dataclass(frozen=True)
class PublicStar:
    week: str
    starts_at: datetime | None
    ends_at: datetime | None
    nickname: str
    rank: int | None
    score: int


@dataclass(frozen=True)
class CampaignPage:
    campaign: Campaign
    now: datetime
    phase: str
    leaderboard_total: Decimal
    board: list[BoardLine]
    board_due: bool
    settled_at: datetime | None
    stars: list[PublicStar]
    featured: list[tuple[date, list[PublicPost]]]
    homepage: list[PublicPost]


def campaign_page_get(*, campaign: Campaign, now: datetime) -> CampaignPage:
    """The public page of a campaign (found by `campaign_get`) in five queries: the latest
    settlement's leaderboard, the nicknames of its Top 10, the weekly stars, the featured posts of
    the last few days, and the homepage picks, each with an excerpt rather than its whole text.
    No UID leaves this function: the public sees nicknames and scores only.

    Featured rows whose post was since unfeatured or deleted by hand are left out at once, without
    waiting for the next refresh.
    """
    run = latest_board(campaign)
    top = run.top if run else []
    nicknames = dict(Trader.objects.filter(uid__in=[row["uid"] for row in top]).values_list("uid", "nickname")) if top else {}
    board = [BoardLine(rank=row["rank"], nickname=nicknames.get(row["uid"], ""), score=row["score"]) for row in top]

    weeks = _weeks_by_code(campaign)
    stars = [
        PublicStar(week=w, starts_at=weeks[w].starts_at if w in weeks else None, ends_at=weeks[w].ends_at if w in weeks else None, nickname=n, rank=r, score=s)
        for w, n, r, s in WeeklyStar.objects.filter(campaign=campaign, removed=False)
        .order_by("-week", "rank", "trader__uid")
        .values_list("week", "trader__nickname", "rank", "score")
    ]

    recent_days = FeaturedPost.objects.filter(campaign=campaign).order_by("-day").values("day").distinct()[:PUBLIC_FEATURED_DAYS]
    featured_rows = (
        FeaturedPost.objects.filter(campaign=campaign, day__in=recent_days, post__deleted=False)
        .exclude(post__featured=False)
        .select_related("post", "post__author")
        .only("day", "source", "rank", *(f"post__{name}" for name in PUBLIC_POST_FIELDS))
        .annotate(excerpt=Left("post__text", PUBLIC_EXCERPT_CHARS))
        .order_by("-day", "source", "rank", "post__created_at")
    )
    featured: dict[date, list[PublicPost]] = {}
    for row in featured_rows:
        featured.setdefault(row.day, []).append(_public_post(row.post, row.excerpt, day=row.day, by_hand=row.source == TrafficSource.MANUAL))

    homepage = [
        _public_post(post, post.excerpt)
        for post in Post.objects.filter(campaign=campaign, homepage=True, deleted=False)
        .select_related("author")
        .only(*PUBLIC_POST_FIELDS)
        .annotate(excerpt=Left("text", PUBLIC_EXCERPT_CHARS))
        .order_by("-created_at", "-post_id")[:PUBLIC_HOMEPAGE_POSTS]
    ]
    return CampaignPage(
        campaign=campaign,
        now=now,
        phase=window_phase(campaign, now),
        leaderboard_total=leaderboard_total(campaign),
        board=board,
        board_due=bool(run and run.due),
        settled_at=run.at if run else None,
        stars=stars,
        featured=list(featured.items()),
        homepage=homepage,
    )


def _public_post(post: Post, excerpt: str, *, day=None, by_hand=False) -> PublicPost:
    return PublicPost(
        post_id=post.post_id, nickname=post.author.nickname, created_at=post.created_at, text=excerpt, score=post.score, day=day, by_hand=by_hand
    )
