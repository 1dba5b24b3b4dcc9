"""The trader's status page (opened by the signed link): the three steps of the announcement, the
posts with their verdicts, the rewards each with its breakdown, the leaderboard standing, the
weekly stars, and one page of the posts' excerpts.

Nothing is computed again: the standing is the trader's leaderboard reward's (or, without one,
the latest settlement's board), and each reward's breakdown the computation of its stored amount.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import FilteredRelation, Q

from campaign.enrolment import (
    ENROLLED,
    NO_REGISTRATION,
    REGISTRATION_PENDING,
    REGISTRATION_REJECTED,
    REGISTRATION_REVOKED,
    SPOT_MARKET,
    Enrolment,
    enrolment_evaluate,
)
from campaign.models import Campaign, Post, Signup
from rewards.models import ReviewItem, Reward, StatusLink, WeeklyStar
from rewards.selectors.board import Board, latest_board, weeks_by_code, window_phase
from rewards.selectors.breakdown import Breakdown, reward_breakdown
from rewards.selectors.breakdown_pages import BREAKDOWN_LINES_PER_PAGE
from rewards.selectors.posts import Exclusion, PostLine, exclusions_of
from rewards.selectors.status_posts import FIELDS, PostCounts, PostsNewestFirst, post_counts_and_lines, post_line
from traders.models import Trader

REGISTRATION_REASONS = {NO_REGISTRATION, REGISTRATION_PENDING, REGISTRATION_REJECTED, REGISTRATION_REVOKED, SPOT_MARKET}
NO_POSTS = "no_posts"
NONE_QUALIFYING = "none_qualifying"
# The cards show `truncatechars:140`: one character more than that is enough for the filter to
# know it must cut, so the rest of a long text stays in the database.
STATUS_EXCERPT_CHARS = 141
STATUS_POSTS_PER_PAGE = 50
# The lines of each breakdown the status page shows: its first page; the next ones are linked.
STATUS_BREAKDOWN_LINES = BREAKDOWN_LINES_PER_PAGE


@dataclass(frozen=True)
class Step:
    """One of the three steps of the announcement; `reason` says what is missing when not done.

    `final`: nothing the trader does now can complete it any more, so the page tells what was
    missing as past, with no advice to act (see `_steps`).
    """

    key: str
    done: bool
    reason: str = ""
    final: bool = False


@dataclass(frozen=True)
class ReviewLine:
    """A reward under review: the new computation, shown beside the stored one and labelled as such."""

    amount: Decimal
    settled_at: datetime
    breakdown: Breakdown | None = None


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
    breakdown: Breakdown | None = None
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
    # Every post, newest first, without excerpts, when no page was asked for (the API lists them
    # all); empty with a page, which reads only its own posts (`page`).
    posts: list[PostLine]
    rewards: list[RewardLine]
    standing: Standing | None
    stars: list[StarLine]
    min_posts: int
    post_count: int = 0
    qualifying: int = 0
    featured: int = 0
    homepage: int = 0
    posts_to_rank: int = 0
    exclusion: Exclusion | None = None
    # The posts shown, newest first, with their excerpts (None when no page was asked for).
    page: Page | None = None
    # The window closed and the final (due) settlement ran: the results shown are the campaign's last.
    over: bool = False
    # Not enrolled, and a missing step can no longer be completed: the page says so, with no
    # advice to finish the steps.
    enrolment_over: bool = False


def trader_status_get(*, link: StatusLink, now: datetime, page: int | None = None) -> TraderStatus:
    """Everything the trader's status page shows, for that trader only, in a fixed number of
    queries after the link's own, whatever the number of posts.

    Without `page` (the API), every post is read (six queries: sign-ups, exclusions, rewards, posts,
    the latest leaderboard, stars) and each breakdown lists all its lines. With `page` (the HTML
    page), the posts are not read whole: their counts come from the database along with the few
    posts the first STATUS_BREAKDOWN_LINES lines of each breakdown show
    (`status_posts.post_counts_and_lines`), and the page of posts (newest first,
    STATUS_POSTS_PER_PAGE a page, out-of-range numbers give the nearest page) is one more query
    with its excerpts: seven queries, each reading a number of rows bounded by the page size.

    Counts and steps are over every post. Enrolment and the steps are evaluated now, from the data
    as it is; verdicts and scores are the posts' stored ones (judged at ingestion and again at
    every settlement). Once the window closed, a step the trader can no longer complete is
    `final` (told as past, without advice), and after the final settlement the campaign is `over`.

    Explanations follow the money (RULES.md section 8): a reward's breakdown is the computation
    of its stored amount, and an open review item's computation is its own `review` line, never
    blended into it. The standing is the leaderboard reward's, when the trader holds one.
    """
    campaign, trader = link.campaign, link.trader
    enrolment, signup_reason = _enrolment_now(campaign=campaign, trader=trader)
    exclusion, excluded_posts = exclusions_of(campaign=campaign, trader=trader)
    rows = _reward_rows(campaign=campaign, trader=trader)
    if page is None:
        posts = known = _post_lines(campaign=campaign, trader=trader, excluded_posts=excluded_posts)
        counts, lines = PostCounts.of(posts), None
    else:
        lines, posts = STATUS_BREAKDOWN_LINES, []
        counted_ids = _first_counted(rows, lines=lines)
        counts, known = post_counts_and_lines(campaign=campaign, trader=trader, excluded_posts=excluded_posts, counted_ids=counted_ids, lines=lines)
    rewards = _reward_lines(rows, campaign=campaign, posts=known, exclusion=exclusion, lines=lines)
    board = latest_board(campaign)  # read whatever the rewards are: the page's query count stays fixed
    phase = window_phase(campaign, now)
    over = phase == "closed" and board is not None and board.due
    steps = _steps(enrolment=enrolment, signup_reason=signup_reason, has_posts=counts.posts > 0, qualifying=counts.qualifying, closed=phase == "closed",
                   over=over)  # fmt: skip
    standing = _standing(trader=trader, board=board, leaderboard=next((row for row in rows if row["kind"] == Reward.Kind.LEADERBOARD), None))
    stars = _star_lines(campaign=campaign, trader=trader)
    return TraderStatus(
        campaign=campaign,
        trader=trader,
        now=now,
        phase=phase,
        enrolled=enrolment.enrolled,
        steps=steps,
        posts=posts,
        rewards=rewards,
        standing=standing,
        stars=stars,
        min_posts=campaign.leaderboard_min_posts,
        post_count=counts.posts,
        qualifying=counts.qualifying,
        featured=counts.featured,
        homepage=counts.homepage,
        posts_to_rank=max(0, campaign.leaderboard_min_posts - counts.qualifying),
        exclusion=exclusion,
        page=None if page is None else _posts_page(campaign=campaign, trader=trader, excluded_posts=excluded_posts, total=counts.posts, number=page),
        over=over,
        enrolment_over=not enrolment.enrolled and any(step.final and not step.done for step in steps[:2]),
    )


def _first_counted(rows: list[dict], *, lines: int) -> set[str]:
    """The ids of the counted posts the first `lines` lines of each breakdown show (from the
    stored details: a reward's and its open review item's)."""
    ids = set()
    for row in rows:
        for detail in (row["detail"], row["open_item__computed_detail"]):
            detail = detail or {}
            ids.update(entry["post_id"] for entry in (detail.get("posts") or [])[:lines])
            if detail.get("post_id"):
                ids.add(detail["post_id"])
    return ids


def _enrolment_now(*, campaign: Campaign, trader: Trader) -> tuple[Enrolment, str]:
    """The trader's enrolment evaluated now (one query, the sign-ups), and the reason of the
    sign-up half of the same rule."""
    registration = getattr(trader, "registration", None)  # select_related by the link query
    reg = (registration.status, registration.market) if registration else None
    signups = list(Signup.objects.filter(campaign=campaign, trader=trader).values_list("submitted_at", flat=True))
    window = {"starts_at": campaign.starts_at, "ends_at": campaign.ends_at}
    enrolment = enrolment_evaluate(uid=trader.uid, registration=reg, signups=signups, **window)
    # The sign-up half of the same rule, as if the registration counted: step 2 is reported on
    # its own even when step 1 is what stops the enrolment.
    signup_reason = enrolment_evaluate(uid=trader.uid, registration=("approved", "futures"), signups=signups, **window).reason
    return enrolment, signup_reason


def _post_lines(*, campaign: Campaign, trader: Trader, excluded_posts: dict[str, str]) -> list[PostLine]:
    """Every post of the trader, newest first, with its featured day and without its text (one query)."""
    return [
        post_line(row, excluded_posts)
        for row in Post.objects.filter(campaign=campaign, author=trader).values(*FIELDS).order_by("-created_at", "-post_id")
    ]


def _steps(*, enrolment: Enrolment, signup_reason: str, has_posts: bool, qualifying: int, closed: bool, over: bool) -> list[Step]:
    """The three steps, each final once the trader can no longer complete it (RULES.md section 2):
    a sign-up or a post counts only from inside the window, so both are final when it closed;
    the registration counts at settlement time, so it is final after the final settlement, or
    when the window closed without a sign-up that counts (the trader cannot be enrolled any more).
    A trader's posts that do not count yet may still count at the final settlement (a pending
    verdict, a registration approved in time): that step is final only after it."""
    reg_reason = enrolment.reason if enrolment.reason in REGISTRATION_REASONS else ENROLLED
    signed_up = signup_reason == ENROLLED
    return [
        Step("registration", reg_reason == ENROLLED, "" if reg_reason == ENROLLED else reg_reason, final=over or (closed and not signed_up)),
        Step("signup", signed_up, "" if signed_up else signup_reason, final=closed),
        Step("posts", qualifying > 0, "" if qualifying else (NONE_QUALIFYING if has_posts else NO_POSTS), final=over or (closed and not has_posts)),
    ]


def _reward_rows(*, campaign: Campaign, trader: Trader) -> list[dict]:
    """The trader's rewards, each with its settlement and its open review item (one query)."""
    return list(
        # A reward has at most one open item (a database constraint), so the join adds no row.
        Reward.objects.filter(campaign=campaign, trader=trader)
        .annotate(open_item=FilteredRelation("review_items", condition=Q(review_items__status=ReviewItem.Status.OPEN)))
        .order_by("kind", "period")
        .values("kind", "period", "asset", "amount", "state", "preview", "detail", "settlement_run__at",
                "open_item__id", "open_item__computed_amount", "open_item__computed_detail", "open_item__settlement_run__at")
    )  # fmt: skip


def _reward_lines(rows: list[dict], *, campaign: Campaign, posts: list[PostLine], exclusion: Exclusion | None, lines: int | None) -> list[RewardLine]:
    """Each reward with the breakdown of its stored amount and, under review, its new computation
    apart; each breakdown's first `lines` lines only, when given."""
    kinds, states = dict(Reward.Kind.choices), dict(Reward.State.choices)

    def explained(row, amount, detail):
        return reward_breakdown(campaign=campaign, kind=row["kind"], period=row["period"], amount=amount, detail=detail, posts=posts, exclusion=exclusion,
                                asset=row["asset"], lines=lines)  # fmt: skip

    return [
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


def _star_lines(*, campaign: Campaign, trader: Trader) -> list[StarLine]:
    """The trader's weekly stars, by week (one query)."""
    weeks = weeks_by_code(campaign)
    return [
        StarLine(week=w, starts_at=weeks[w].starts_at if w in weeks else None, ends_at=weeks[w].ends_at if w in weeks else None, rank=r, score=s)
        for w, r, s in WeeklyStar.objects.filter(campaign=campaign, trader=trader, removed=False).order_by("week").values_list("week", "rank", "score")
    ]


def _posts_page(*, campaign: Campaign, trader: Trader, excluded_posts: dict[str, str], total: int, number: int) -> Page:
    """One page of the trader's posts, newest first, read alone with its excerpts (one query)."""
    posts = PostsNewestFirst(campaign=campaign, trader=trader, excluded_posts=excluded_posts, total=total, excerpt_chars=STATUS_EXCERPT_CHARS)
    return Paginator(posts, STATUS_POSTS_PER_PAGE).get_page(number)
