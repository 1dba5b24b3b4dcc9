"""Anti-farming review flags: raised from the pure signals, decided by ops with a note.

A flag only reports. Money changes only when ops exclude a post or a trader explicitly; the next
settlement then leaves it out (`rewards.services.computation.qualified_posts`).
"""

from itertools import groupby

from django.db import transaction
from django.utils import timezone

from campaign.models import Campaign, EngagementSnapshot, Post
from campaign.page_cache import campaign_pages_changed
from rewards.exceptions import RewardError
from rewards.models import FarmingThresholds, ReviewFlag
from rewards.rules.farming import EngagementObservation, PostActivity, Thresholds, farming_signals

DISMISS = "dismiss"
EXCLUDE_POST = "exclude_post"
EXCLUDE_TRADER = "exclude_trader"


def farming_thresholds_get(*, campaign: Campaign) -> Thresholds:
    row = FarmingThresholds.objects.filter(campaign=campaign).first()
    if row is None:
        return Thresholds()
    return Thresholds(
        burst_posts=row.burst_posts,
        burst_minutes=row.burst_minutes,
        duplicate_posts=row.duplicate_posts,
        engagement_multiple=row.engagement_multiple,
        engagement_min_posts=row.engagement_min_posts,
        jump_min_increase=row.jump_min_increase,
        jump_multiple=row.jump_multiple,
        jump_hours=row.jump_hours,
    )


def engagement_histories(*, campaign: Campaign):
    """Each post's engagement history of the campaign, one post at a time: one query, streamed
    in (post, observed_at) order, so only one post's observations are in memory at once."""
    rows = (
        EngagementSnapshot.objects.filter(post__campaign=campaign)
        .order_by("post_id", "observed_at", "id")
        .values_list("post_id", "post__post_id", "post__author__uid", "observed_at", "likes", "comments", "shares", "views")
    )
    for _pk, group in groupby(rows.iterator(chunk_size=5000), key=lambda row: row[0]):
        yield [EngagementObservation(*row[1:]) for row in group]


@transaction.atomic
def review_flags_refresh(*, campaign: Campaign) -> dict:
    """Raise the flags the signals give now; idempotent: running it twice changes nothing.

    Key (campaign, kind, trader, post). A new signal becomes an open flag; an open flag gets its
    evidence updated, or is deleted when its signal has gone. A decided flag (dismissed or
    excluded) is never touched: ops' decision and its note stay as they were.
    """
    rows = Post.objects.filter(campaign=campaign).values_list(
        "id", "post_id", "author_id", "author__uid", "created_at", "score", "duplicate_of__post_id", "duplicate_of__author_id"
    )
    posts, post_pk, trader_pk = [], {}, {}
    for pk, post_id, author_id, uid, created_at, score, dup_id, dup_author in rows.iterator(chunk_size=5000):
        posts.append(PostActivity(post_id, uid, created_at, score, dup_id if dup_author == author_id else None))
        post_pk[post_id], trader_pk[uid] = pk, author_id
    histories = engagement_histories(campaign=campaign)
    signals = {s.key: s for s in farming_signals(posts, farming_thresholds_get(campaign=campaign), histories=histories)}

    uid_of = {pk: uid for uid, pk in trader_pk.items()}
    post_id_of = {pk: post_id for post_id, pk in post_pk.items()}
    existing = {
        (f.kind, uid_of.get(f.trader_id), post_id_of.get(f.post_id) if f.post_id else None): f
        for f in ReviewFlag.objects.select_for_update().filter(campaign=campaign).order_by("pk")
    }
    created, updated, deleted = [], [], []
    for key, signal in signals.items():
        flag = existing.get(key)
        if flag is None:
            created.append(ReviewFlag(campaign=campaign, trader_id=trader_pk[signal.uid], post_id=post_pk.get(signal.post_id), kind=signal.kind, evidence=signal.evidence))
        elif flag.status == ReviewFlag.Status.OPEN and flag.evidence != signal.evidence:
            flag.evidence, flag.updated_at = signal.evidence, timezone.now()
            updated.append(flag)
    deleted = [f.pk for key, f in existing.items() if key not in signals and f.status == ReviewFlag.Status.OPEN]
    ReviewFlag.objects.filter(pk__in=deleted).delete()
    ReviewFlag.objects.bulk_create(created)
    ReviewFlag.objects.bulk_update(updated, ["evidence", "updated_at"])
    return {"created": len(created), "updated": len(updated), "deleted": len(deleted)}


@transaction.atomic
def review_flags_decide(*, flag_ids, action: str, note: str, user) -> list[ReviewFlag]:
    """Dismiss flags, or exclude their post or their trader from settlement; a note is required.

    Excluding changes money at the next settlement only, and shows in the trader's breakdown.
    A post exclusion needs a flag about one post; the flags are locked in primary-key order.
    """
    note = (note or "").strip()
    if not note:
        raise RewardError("a note is required to decide a review flag")
    if action not in (DISMISS, EXCLUDE_POST, EXCLUDE_TRADER):
        raise RewardError(f"unknown decision {action!r}")
    flags = list(ReviewFlag.objects.select_for_update().filter(pk__in=list(flag_ids)).order_by("pk"))
    if action == EXCLUDE_POST and any(f.post_id is None for f in flags):
        raise RewardError("only a flag about one post can exclude a post; exclude the trader instead")
    status, excludes = {
        DISMISS: (ReviewFlag.Status.DISMISSED, ReviewFlag.Excludes.NOTHING),
        EXCLUDE_POST: (ReviewFlag.Status.EXCLUDED, ReviewFlag.Excludes.POST),
        EXCLUDE_TRADER: (ReviewFlag.Status.EXCLUDED, ReviewFlag.Excludes.TRADER),
    }[action]
    now, by = timezone.now(), user.get_username()
    for flag in flags:
        flag.status, flag.excludes, flag.note, flag.decided_by, flag.decided_at, flag.updated_at = status, excludes, note, by, now, now
    ReviewFlag.objects.bulk_update(flags, ["status", "excludes", "note", "decided_by", "decided_at", "updated_at"])
    for campaign_id in {flag.campaign_id for flag in flags}:
        campaign_pages_changed(campaign_id=campaign_id)  # exclusions show in the breakdowns
    return flags


def exclusions_get(*, campaign: Campaign) -> tuple[set[int], set[int]]:
    """(excluded trader pks, excluded post pks) of a campaign, as ops decided them."""
    rows = list(ReviewFlag.objects.filter(campaign=campaign, status=ReviewFlag.Status.EXCLUDED).values_list("excludes", "trader_id", "post_id"))
    traders = {t for e, t, _p in rows if e == ReviewFlag.Excludes.TRADER}
    posts = {p for e, _t, p in rows if e == ReviewFlag.Excludes.POST}
    return traders, posts
