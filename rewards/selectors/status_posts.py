"""The trader's posts as the status page reads them: counted in the database, and fetched only as
far as the page shows them, so that a page costs the same for a trader with 3,000 posts as for one
with 30 (issue 17).

`post_counts_and_lines` is one query: the counts over every post (window aggregates) and the few
posts the first lines of every breakdown on the page need. `posts_newest_first` is what the pager
slices: one query per page, newest first, with the excerpts of that page's posts only.
"""

from dataclasses import dataclass

from django.db.models import Case, CharField, Count, F, IntegerField, Q, Value, When, Window
from django.db.models.functions import Least, Left, RowNumber

from campaign.models import Campaign, Post
from core.database import binary_collation
from rewards.selectors.posts import ENGAGEMENT, PostLine
from traders.models import Trader

FIELDS = ("post_id", "created_at", "verdict", "score", "moderation", "featured", "homepage", "featured_on__day", *ENGAGEMENT)


@dataclass(frozen=True)
class PostCounts:
    """What the page counts over every post of the trader (not only the page shown)."""

    posts: int = 0
    qualifying: int = 0
    featured: int = 0
    homepage: int = 0

    @classmethod
    def of(cls, posts: list[PostLine]) -> "PostCounts":
        return cls(posts=len(posts), qualifying=sum(p.qualifies for p in posts), featured=sum(p.featured_day is not None for p in posts),
                   homepage=sum(p.homepage for p in posts))  # fmt: skip


def post_line(row: dict, excluded_posts: dict[str, str], text: str = "") -> PostLine:
    """A post as the pages list it, from a row of FIELDS; featured unless ops unfeatured it by hand."""
    return PostLine(
        post_id=row["post_id"], created_at=row["created_at"], text=text, verdict=row["verdict"], score=row["score"],
        approved_by_ops=row["moderation"] == Post.Moderation.APPROVED,
        featured_day=row["featured_on__day"] if row["featured"] is not False else None, homepage=row["homepage"],
        likes=row["likes"], comments=row["comments"], shares=row["shares"], views=row["views"], excluded_note=excluded_posts.get(row["post_id"], ""),
    )  # fmt: skip


def counts_now_q(excluded_posts: dict[str, str]) -> Q:
    """The posts that would count if settled now (`breakdown.counts_now`): qualifying, not excluded by ops."""
    excluded = sorted(post_id for post_id, note in excluded_posts.items() if note)
    qualified = Q(verdict=Post.Verdict.QUALIFIED)
    return qualified & ~Q(post_id__in=excluded) if excluded else qualified


def post_counts_and_lines(*, campaign: Campaign, trader: Trader, excluded_posts: dict[str, str], counted_ids: set[str],
                          lines: int) -> tuple[PostCounts, list[PostLine]]:  # fmt: skip
    """The trader's post counts, and every post the first `lines` lines of any breakdown can show
    (`breakdown.reward_breakdown(lines=...)`), in one query and at most a few hundred rows.

    Each breakdown lists its counted posts (`counted_ids`: those of its first `lines`, fetched by
    id), then its other posts oldest first: all of them, those of one content period, or only
    those that do not count now, of the period or not (`breakdown.LinesPlan`). Every such list is
    a union of classes (content period or none) x (counts now or not), less the counted posts; so
    the first `lines + 1` posts by time of each class hold the first lines of every list and tell
    whether more follow (a counted post shown takes a line, so it displaces at most one other).
    The posts are numbered within their class by a window function: at most
    2 x (content periods + 1) x (lines + 1) rows come back, besides the counted ones.
    """
    periods = campaign.content_periods()
    period = Case(*(When(created_at__gte=p.starts_at, created_at__lt=p.ends_at, then=Value(p.code)) for p in periods), default=Value(""),
                  output_field=CharField())  # fmt: skip
    now = Case(When(counts_now_q(excluded_posts), then=Value(1)), default=Value(0), output_field=IntegerField())
    by_time = [F("created_at").asc(), binary_collation("post_id").asc()]
    place = Window(RowNumber(), partition_by=[period, now], order_by=by_time)
    if counted_ids:
        place = Least(place, Case(When(post_id__in=sorted(counted_ids), then=Value(0)), default=Value(lines + 2), output_field=IntegerField()))
    rows = list(
        Post.objects.filter(campaign=campaign, author=trader)
        .annotate(
            featured_day=F("featured_on__day"),
            place=place,
            total_posts=Window(Count("pk")),
            total_qualifying=Window(Count("pk", filter=Q(verdict=Post.Verdict.QUALIFIED))),
            total_featured=Window(Count("pk", filter=Q(featured_day__isnull=False) & ~Q(featured=False))),
            total_homepage=Window(Count("pk", filter=Q(homepage=True))),
        )
        .filter(place__lte=lines + 1)
        .order_by()  # any order: the breakdowns sort what they list; and no join for Post's default one
        .values(*FIELDS, "total_posts", "total_qualifying", "total_featured", "total_homepage")
    )
    if not rows:
        return PostCounts(), []
    first = rows[0]
    counts = PostCounts(posts=first["total_posts"], qualifying=first["total_qualifying"], featured=first["total_featured"],
                        homepage=first["total_homepage"])  # fmt: skip
    return counts, [post_line(row, excluded_posts) for row in rows]


class PostsNewestFirst:
    """The trader's posts, newest first, as `django.core.paginator.Paginator` reads them: counted
    already (`PostCounts.posts`), and sliced in the database, each slice with its excerpts."""

    def __init__(self, *, campaign: Campaign, trader: Trader, excluded_posts: dict[str, str], total: int, excerpt_chars: int):
        self.campaign, self.trader, self.excluded_posts = campaign, trader, excluded_posts
        self.total, self.excerpt_chars = total, excerpt_chars

    def count(self) -> int:
        return self.total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, window: slice) -> list[PostLine]:
        if window.stop is not None and window.stop <= (window.start or 0):
            return []
        rows = (
            Post.objects.filter(campaign=self.campaign, author=self.trader)
            .order_by("-created_at", "-post_id")
            .annotate(excerpt=Left("text", self.excerpt_chars))
            .values(*FIELDS, "excerpt")[window]
        )
        return [post_line(row, self.excluded_posts, text=row["excerpt"]) for row in rows]
