"""The trader's admin page reads: in each campaign, the trader's posts and rewards, counted for the
person who asks.

As on the admin home (`ops_home`), a count is given only to a user who may view (or change) the
rows it counts, and is `None` otherwise. Three queries, whatever the number of campaigns. Amounts
are summed in Python with exactly two decimals and never across assets (RULES.md section 8).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q

from campaign.models import Campaign, Post
from rewards.models import Reward
from rewards.selectors.ledger import amounts_per_asset
from traders.models import Trader


@dataclass(frozen=True)
class TraderRewards:
    n: int  # every reward row, void ones included
    void: int
    totals: list[tuple[str, Decimal]]  # per asset, void rewards left out: what the trader is owed or was paid


@dataclass(frozen=True)
class TraderInCampaign:
    campaign: Campaign
    posts: int | None  # None: the user may not view posts
    qualified_posts: int | None
    rewards: TraderRewards | None  # None: the user may not view rewards


def _may_view(user, app_model: str) -> bool:
    app, model = app_model.split(".")
    return user.has_perm(f"{app}.view_{model}") or user.has_perm(f"{app}.change_{model}")


def trader_campaigns_get(*, trader: Trader, fetched_by) -> list[TraderInCampaign]:
    """Every campaign, newest first, with the trader's posts (all, qualified) and rewards (how
    many, how many void, the total per asset of the others), as far as `fetched_by` may see them."""
    campaigns = list(Campaign.objects.order_by("-starts_at", "-pk"))
    posts = None
    if _may_view(fetched_by, "campaign.post"):
        rows = Post.objects.filter(author=trader).order_by().values("campaign_id")
        rows = rows.annotate(n=Count("pk"), qualified=Count("pk", filter=Q(verdict=Post.Verdict.QUALIFIED)))
        posts = {row["campaign_id"]: (row["n"], row["qualified"]) for row in rows}
    rewards = None
    if _may_view(fetched_by, "rewards.reward"):
        rewards = {}
        for campaign_id, asset, state, amount in Reward.objects.filter(trader=trader).order_by().values_list("campaign_id", "asset", "state", "amount"):
            rewards.setdefault(campaign_id, []).append((asset, state, amount))
    return [
        TraderInCampaign(
            campaign=campaign,
            posts=None if posts is None else posts.get(campaign.pk, (0, 0))[0],
            qualified_posts=None if posts is None else posts.get(campaign.pk, (0, 0))[1],
            rewards=None if rewards is None else _rewards(rewards.get(campaign.pk, [])),
        )
        for campaign in campaigns
    ]


def _rewards(rows: list[tuple[str, str, Decimal]]) -> TraderRewards:
    void = sum(1 for _asset, state, _amount in rows if state == Reward.State.VOID)
    totals = amounts_per_asset((asset, amount) for asset, state, amount in rows if state != Reward.State.VOID)
    return TraderRewards(n=len(rows), void=void, totals=totals)
