"""Trader status links: who has one, and rotating them (which kills every older link).

The link itself is a signed token built by `rewards.selectors.links.status_link_token`; only its
rotation counter is stored, so nothing secret sits in the database.
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from campaign.models import Campaign, Post, Signup
from campaign.page_cache import campaign_pages_changed
from rewards.models import Reward, StatusLink
from traders.models import Trader


def status_links_ensure(*, campaign: Campaign) -> int:
    """Give every trader the campaign knows (a sign-up, a post or a reward) a status link row.

    Idempotent: an existing row (and so its version) is never touched. Returns how many were
    created.
    """
    known = (
        Trader.objects.filter(pk__in=Signup.objects.filter(campaign=campaign).values("trader"))
        | Trader.objects.filter(pk__in=Post.objects.filter(campaign=campaign).values("author"))
        | Trader.objects.filter(pk__in=Reward.objects.filter(campaign=campaign).values("trader"))
    )
    have = StatusLink.objects.filter(campaign=campaign).values("trader")
    missing = [StatusLink(campaign=campaign, trader_id=pk) for pk in known.exclude(pk__in=have).values_list("pk", flat=True).distinct()]
    # ignore_conflicts: a concurrent ensure may create the same rows; the unique key keeps one.
    StatusLink.objects.bulk_create(missing, batch_size=1000, ignore_conflicts=True)
    return len(missing)


def status_link_get_or_create(*, campaign: Campaign, trader: Trader) -> StatusLink:
    """The trader's status link row for the campaign, created at version 1 when missing."""
    link, _ = StatusLink.objects.get_or_create(campaign=campaign, trader=trader)
    return link


@transaction.atomic
def status_links_rotate(*, link_ids, by: str) -> int:
    """Increment the version of each link, so every link signed before stops working.

    One conditional UPDATE (`version = version + 1`): two rotations at once both count, and none
    is lost. Returns how many links were rotated.
    """
    links = StatusLink.objects.filter(pk__in=list(link_ids))
    campaigns = set(links.values_list("campaign_id", flat=True))
    rotated = links.update(version=F("version") + 1, rotated_at=timezone.now(), rotated_by=by)
    for campaign_id in campaigns:  # cached status pages are keyed by the version: none survives
        campaign_pages_changed(campaign_id=campaign_id)
    return rotated
