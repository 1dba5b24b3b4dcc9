"""One service over many rows or over every campaign, for the doors that act on a selection or on
all campaigns at once (the admin's actions and its "now" buttons): each door makes one call and
only reports what it returns.

The sweeps over every campaign call the per-campaign service once per campaign, each in its own
transaction, as the daily tasks do: one campaign's refresh never holds another's lock.
"""

from dataclasses import dataclass

from django.db import transaction

from campaign.models import Campaign
from rewards.models import WeeklyStar
from rewards.services.farming import review_flags_refresh
from rewards.services.status_links import status_links_ensure
from rewards.services.traffic import traffic_refresh, weekly_star_set


@dataclass(frozen=True)
class CampaignOutcome:
    """What a per-campaign service returned for one campaign."""

    campaign: Campaign
    result: dict


def traffic_refresh_all() -> list[CampaignOutcome]:
    """`traffic_refresh` (featured posts and star traders) for every campaign."""
    return [CampaignOutcome(campaign, traffic_refresh(campaign=campaign)) for campaign in Campaign.objects.all()]


def review_flags_refresh_all() -> list[CampaignOutcome]:
    """`review_flags_refresh` (the anti-farming flags) for every campaign."""
    return [CampaignOutcome(campaign, review_flags_refresh(campaign=campaign)) for campaign in Campaign.objects.all()]


def status_links_ensure_all() -> int:
    """`status_links_ensure` for every campaign. Returns how many links were created in all."""
    return sum(status_links_ensure(campaign=campaign) for campaign in Campaign.objects.all())


@transaction.atomic
def weekly_stars_set(*, star_ids, star: bool, by: str) -> int:
    """`weekly_star_set` on each of these rows: keep them (`star` True) or remove them (False) by
    hand. All or none. Returns how many rows were set."""
    rows = list(WeeklyStar.objects.filter(pk__in=list(star_ids)).select_related("campaign", "trader"))
    for row in rows:
        weekly_star_set(campaign=row.campaign, week=row.week, trader=row.trader, star=star, by=by)
    return len(rows)
