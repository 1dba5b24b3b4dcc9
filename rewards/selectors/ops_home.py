"""The admin home's reads: each campaign and the day's work in it (open review items, rewards to
approve, imports still running or queued), counted for the person who asks.

A count is given only to a user who may view the rows it counts, and is `None` otherwise, so the
page never tells someone how many rows they cannot open. Five queries, whatever the number of
campaigns: the campaigns, then one grouped count per kind of work.
"""

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from campaign.models import Campaign
from core.models import ImportRun
from rewards.models import ReviewItem, Reward

# Who may read what the home counts: the admin's own view permissions of those lists.
CAMPAIGN_PERMISSION = "campaign.view_campaign"
REVIEW_PERMISSION = "rewards.view_reviewitem"
REWARD_PERMISSION = "rewards.view_reward"
IMPORT_PERMISSION = "core.view_importrun"
# An unfinished import: waiting for a worker, or being worked on (or interrupted, still running).
IMPORT_UNFINISHED = (ImportRun.Status.QUEUED, ImportRun.Status.RUNNING)


@dataclass(frozen=True)
class CampaignWork:
    campaign: Campaign
    open_review_items: int | None  # None: the user may not view review items
    rewards_to_approve: int | None  # calculated and due (not a preview); None: may not view rewards
    imports_unfinished: int | None  # None: may not view import runs


def review_items_open(*, campaign_ids=None) -> QuerySet:
    items = ReviewItem.objects.filter(status=ReviewItem.Status.OPEN)
    return items if campaign_ids is None else items.filter(reward__campaign_id__in=campaign_ids)


def rewards_to_approve(*, campaign_ids=None) -> QuerySet:
    """What an approver can act on: calculated rewards that are due (a preview cannot be approved)."""
    rewards = Reward.objects.filter(state=Reward.State.CALCULATED, preview=False)
    return rewards if campaign_ids is None else rewards.filter(campaign_id__in=campaign_ids)


def imports_unfinished(*, campaign_ids=None) -> QuerySet:
    runs = ImportRun.objects.filter(status__in=IMPORT_UNFINISHED)
    return runs if campaign_ids is None else runs.filter(campaign_link__campaign_id__in=campaign_ids)


def _counts(queryset: QuerySet, by: str) -> dict[int, int]:
    return dict(queryset.order_by().values_list(by).annotate(n=Count("pk")).values_list(by, "n"))


def ops_home_get(*, fetched_by) -> list[CampaignWork]:
    """Every campaign, newest first, with the counts `fetched_by` may see; an empty list for a
    user who may not view campaigns (the home then shows the app list alone)."""
    if not fetched_by.has_perm(CAMPAIGN_PERMISSION):
        return []
    campaigns = list(Campaign.objects.order_by("-starts_at", "-pk").only("pk", "slug", "name", "name_zh", "starts_at", "ends_at"))
    ids = [campaign.pk for campaign in campaigns]
    review = _counts(review_items_open(campaign_ids=ids), "reward__campaign_id") if fetched_by.has_perm(REVIEW_PERMISSION) else None
    approve = _counts(rewards_to_approve(campaign_ids=ids), "campaign_id") if fetched_by.has_perm(REWARD_PERMISSION) else None
    imports = _counts(imports_unfinished(campaign_ids=ids), "campaign_link__campaign_id") if fetched_by.has_perm(IMPORT_PERMISSION) else None
    return [
        CampaignWork(
            campaign=campaign,
            open_review_items=None if review is None else review.get(campaign.pk, 0),
            rewards_to_approve=None if approve is None else approve.get(campaign.pk, 0),
            imports_unfinished=None if imports is None else imports.get(campaign.pk, 0),
        )
        for campaign in campaigns
    ]
