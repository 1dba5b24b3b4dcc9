"""The public campaign page: the latest settlement's leaderboard (nicknames and scores, no UID),
the weekly stars, the featured posts of the last few days and the homepage picks, each post with
an excerpt rather than its whole text."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models.functions import Left

from campaign.models import Campaign, Post
from rewards.budgets import leaderboard_total
from rewards.models import FeaturedPost, TrafficSource, WeeklyStar
from rewards.selectors.board import Board, latest_board, weeks_by_code, window_phase
from traders.models import Trader

PUBLIC_FEATURED_DAYS = 5
PUBLIC_HOMEPAGE_POSTS = 10
# What an excerpt card needs; a post row also holds its MinHash signature, which stays behind.
PUBLIC_POST_FIELDS = ("post_id", "created_at", "score", "author", "author__nickname")
# The cards show `truncatechars:160`: one character more than that is enough for the filter to
# know it must cut, so the rest of a long text stays in the database.
PUBLIC_EXCERPT_CHARS = 161


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
    board = _board_lines(run)
    stars = _public_stars(campaign=campaign)
    featured = _featured_posts(campaign=campaign)
    homepage = _homepage_posts(campaign=campaign)
    return CampaignPage(
        campaign=campaign,
        now=now,
        phase=window_phase(campaign, now),
        leaderboard_total=leaderboard_total(campaign),
        board=board,
        board_due=bool(run and run.due),
        settled_at=run.at if run else None,
        stars=stars,
        featured=featured,
        homepage=homepage,
    )


def _board_lines(run: Board | None) -> list[BoardLine]:
    """The Top 10 with the traders' nicknames (one query, none without a board)."""
    top = run.top if run else []
    nicknames = dict(Trader.objects.filter(uid__in=[row["uid"] for row in top]).values_list("uid", "nickname")) if top else {}
    return [BoardLine(rank=row["rank"], nickname=nicknames.get(row["uid"], ""), score=row["score"]) for row in top]


def _public_stars(*, campaign: Campaign) -> list[PublicStar]:
    weeks = weeks_by_code(campaign)
    return [
        PublicStar(week=w, starts_at=weeks[w].starts_at if w in weeks else None, ends_at=weeks[w].ends_at if w in weeks else None, nickname=n, rank=r, score=s)
        for w, n, r, s in WeeklyStar.objects.filter(campaign=campaign, removed=False)
        .order_by("-week", "rank", "trader__uid")
        .values_list("week", "trader__nickname", "rank", "score")
    ]


def _featured_posts(*, campaign: Campaign) -> list[tuple[date, list[PublicPost]]]:
    """The featured posts of the last PUBLIC_FEATURED_DAYS days with one, newest day first (one query)."""
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
    return list(featured.items())


def _homepage_posts(*, campaign: Campaign) -> list[PublicPost]:
    return [
        _public_post(post, post.excerpt)
        for post in Post.objects.filter(campaign=campaign, homepage=True, deleted=False)
        .select_related("author")
        .only(*PUBLIC_POST_FIELDS)
        .annotate(excerpt=Left("text", PUBLIC_EXCERPT_CHARS))
        .order_by("-created_at", "-post_id")[:PUBLIC_HOMEPAGE_POSTS]
    ]


def _public_post(post: Post, excerpt: str, *, day=None, by_hand=False) -> PublicPost:
    return PublicPost(
        post_id=post.post_id, nickname=post.author.nickname, created_at=post.created_at, text=excerpt, score=post.score, day=day, by_hand=by_hand
    )
