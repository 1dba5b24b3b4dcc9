"""Traffic support (RULES.md section 7): store the featured posts and weekly stars the rules pick,
keeping ops' overrides.

Overrides:
- a post: `Post.featured` True = featured by hand (always listed, on top of the day's automatic
  picks), False = never featured (the next post moves up), None = automatic;
- a star: a `manual` WeeklyStar row, either added by hand or `removed` by hand. A refresh never
  touches manual rows; the rule picks the automatic stars among the other traders.
The automatic picks of a day or a week are made once it has ended, and made again at every run
while the campaign still collects engagement (window end + grace), from the data as it is then.
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from campaign.models import Campaign, Post
from campaign.page_cache import campaign_pages_changed
from campaign.services import campaign_lock, post_feature, posts_judge
from rewards.models import FeaturedPost, TrafficSource, WeeklyStar
from rewards.rules.traffic import day_end, featured_posts_by_day, local_day, weekly_stars
from rewards.rules.types import QualifiedPost
from traders.models import Trader


def _qualified(campaign: Campaign, **filters) -> tuple[list[QualifiedPost], dict[str, int]]:
    """The campaign's qualifying posts as rule input, and their primary keys by post_id."""
    rows = Post.objects.filter(campaign=campaign, verdict=Post.Verdict.QUALIFIED, **filters).values_list("id", "post_id", "author__uid", "created_at", "score")
    posts, pks = [], {}
    for pk, post_id, uid, created_at, score in rows.iterator(chunk_size=5000):
        posts.append(QualifiedPost(post_id=post_id, uid=uid, created_at=created_at, score=score))
        pks[post_id] = pk
    return posts, pks


def featured_posts_refresh(*, campaign: Campaign, at: datetime | None = None, judge: bool = True) -> dict:
    """Rebuild the campaign's featured posts: each ended UTC+8 day's `featured_per_day` best
    qualifying posts among those left on automatic, plus every post featured by hand.

    Posts are judged first (enrolment may have changed since they were ingested) unless `judge`
    is False. Idempotent: a second run with the same data writes nothing. Returns the counts of
    rows created, updated and deleted.
    """
    at = at or timezone.now()
    with transaction.atomic():
        campaign = campaign_lock(campaign)  # two refreshes (beat and a click) run one after the other
        if judge:
            posts_judge(campaign=campaign)
        automatic, pks = _qualified(campaign, featured__isnull=True)
        picks = featured_posts_by_day(automatic, n=campaign.featured_per_day)
        wanted = {
            pks[post.post_id]: (day, rank, TrafficSource.AUTO)
            for day, posts in picks.items()
            if day_end(day) <= at
            for rank, post in enumerate(posts, start=1)
        }
        for post_pk, created_at in Post.objects.filter(campaign=campaign, featured=True, deleted=False).values_list("id", "created_at"):
            wanted[post_pk] = (local_day(created_at), None, TrafficSource.MANUAL)
        return _pages_changed_if(campaign, _sync(
            FeaturedPost.objects.filter(campaign=campaign),
            key=lambda row: row.post_id,
            wanted=wanted,
            fields=("day", "rank", "source"),
            new=lambda post_pk: FeaturedPost(campaign=campaign, post_id=post_pk),
        ))  # fmt: skip


def weekly_stars_refresh(*, campaign: Campaign, at: datetime | None = None, judge: bool = True) -> dict:
    """Rebuild the automatic star traders of every ended week of the campaign.

    For each week that has ended at `at`, the `weekly_stars` best traders by week score among the
    traders without a manual row for that week. Manual rows (added or removed by hand) are kept
    as they are. Idempotent; returns the counts of automatic rows created, updated and deleted.
    """
    at = at or timezone.now()
    with transaction.atomic():
        campaign = campaign_lock(campaign)  # two refreshes (beat and a click) run one after the other
        if judge:
            posts_judge(campaign=campaign)
        manual = set(WeeklyStar.objects.filter(campaign=campaign, source=TrafficSource.MANUAL).values_list("week", "trader__uid"))
        weeks = [week for week in campaign.weeks() if week.ends_at <= at]
        posts, _pks = _qualified(campaign)
        wanted_by_uid = {}
        for week in weeks:
            eligible = [p for p in posts if (week.code, p.uid) not in manual]
            for star in weekly_stars(eligible, [week], n=campaign.weekly_stars)[week.code]:
                wanted_by_uid[(week.code, star.uid)] = (star.rank, star.score)
        trader_ids = dict(Trader.objects.filter(uid__in={uid for _, uid in wanted_by_uid}).values_list("uid", "id"))
        wanted = {(week, trader_ids[uid]): values for (week, uid), values in wanted_by_uid.items()}
        return _pages_changed_if(campaign, _sync(
            WeeklyStar.objects.filter(campaign=campaign, source=TrafficSource.AUTO),
            key=lambda row: (row.week, row.trader_id),
            wanted=wanted,
            fields=("rank", "score"),
            new=lambda key: WeeklyStar(campaign=campaign, week=key[0], trader_id=key[1]),
        ))  # fmt: skip


def _pages_changed_if(campaign: Campaign, counts: dict) -> dict:
    if any(counts.values()):
        campaign_pages_changed(campaign_id=campaign.pk)
    return counts


def _sync(queryset, *, key, wanted: dict, fields: tuple[str, ...], new) -> dict:
    """Make the rows of `queryset` exactly `wanted` ({key: field values}), writing only the
    differences, so an unchanged pick keeps its row (and when it was first picked)."""
    existing = {key(row): row for row in queryset}
    stale = [row.pk for k, row in existing.items() if k not in wanted]
    changed, created, now = [], [], timezone.now()
    for k, values in wanted.items():
        row = existing.get(k)
        if row is None:
            row = new(k)
            created.append(row)
        elif tuple(getattr(row, name) for name in fields) == values:
            continue
        else:
            row.updated_at = now  # bulk_update does not run auto_now
            changed.append(row)
        for name, value in zip(fields, values):
            setattr(row, name, value)
    queryset.model.objects.filter(pk__in=stale).delete()
    queryset.model.objects.bulk_update(changed, [*fields, "updated_at"], batch_size=1000)
    queryset.model.objects.bulk_create(created, batch_size=1000)
    return {"created": len(created), "updated": len(changed), "deleted": len(stale)}


def traffic_refresh(*, campaign: Campaign, at: datetime | None = None) -> dict:
    """Both refreshes after one judging of the posts (what the admin's "recompute now" runs)."""
    with transaction.atomic():
        posts_judge(campaign=campaign_lock(campaign))
        return {
            "featured": featured_posts_refresh(campaign=campaign, at=at, judge=False),
            "stars": weekly_stars_refresh(campaign=campaign, at=at, judge=False),
        }


@transaction.atomic
def posts_feature(*, post_ids, featured: bool | None, at: datetime | None = None) -> int:
    """Set the hand override of posts (True featured by hand, False never, None automatic) and
    rebuild the featured posts of their campaigns so the change shows at once.

    `Post.featured` is the campaign app's field: its service `post_feature` writes it. Returns
    the posts changed.
    """
    post_ids = list(post_ids)
    changed = post_feature(post_ids=post_ids, featured=featured)
    for campaign in Campaign.objects.filter(posts__pk__in=post_ids).distinct():
        featured_posts_refresh(campaign=campaign, at=at, judge=False)
    return changed


@transaction.atomic
def weekly_star_set(*, campaign: Campaign, week: str, trader: Trader, star: bool, by: str) -> WeeklyStar:
    """Make `trader` a star of `week` by hand (`star` True) or remove them by hand (False).

    The row becomes `manual` and no refresh changes it again until `weekly_stars_automatic`.
    Raises ValidationError for a week code the campaign does not have. Idempotent.
    """
    codes = [w.code for w in campaign.weeks()]
    if week not in codes:
        raise ValidationError({"week": f"{week!r} is not a week of this campaign ({', '.join(codes)})"})
    row, _ = WeeklyStar.objects.update_or_create(
        campaign=campaign, week=week, trader=trader,
        defaults={"source": TrafficSource.MANUAL, "removed": not star, "rank": None, "set_by": by},
    )  # fmt: skip
    campaign_pages_changed(campaign_id=campaign.pk)
    return row


@transaction.atomic
def weekly_stars_automatic(*, star_ids, at: datetime | None = None) -> int:
    """Drop the hand overrides among `star_ids` and let the rule pick those weeks again.

    Returns how many manual rows were dropped. Idempotent: automatic rows are left alone.
    """
    manual = WeeklyStar.objects.filter(pk__in=list(star_ids), source=TrafficSource.MANUAL)
    campaigns = list(Campaign.objects.filter(star_traders__in=manual).distinct())
    dropped, _ = manual.delete()
    for campaign in campaigns:
        weekly_stars_refresh(campaign=campaign, at=at, judge=False)
    return dropped
