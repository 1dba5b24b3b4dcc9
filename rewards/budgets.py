"""Reads of the pool budgets (RULES.md section 8): a campaign's pools as configured now, and the
budget view of each (pool, approved + paid, calculated, still approvable, excess).

The ledger service checks approvals against `pool_budgets_get` under the campaign lock; the
settlement summary, the dashboard and the API show `pool_budgets_get`. Sums are taken in Python
from the rows (SQLite adds decimals as floats), one pool per asset.
"""

from collections import defaultdict
from decimal import Decimal

from django.utils.translation import gettext as _

from campaign.models import Campaign
from campaign.terms import leaderboard_pool_size
from rewards.models import Reward
from rewards.rules.budget import Pool, PoolBudget
from rewards.rules.money import format_money
from rewards.rules.types import ALL

ZERO = Decimal("0.00")


def leaderboard_total(campaign: Campaign) -> Decimal:
    """The leaderboard pool as configured: the sum of the tiers, or the pool of the other splits."""
    return leaderboard_pool_size(strategy=campaign.leaderboard_strategy, tiers=campaign.leaderboard_tiers, pool=campaign.leaderboard_pool)


def campaign_pools(campaign: Campaign) -> dict[tuple[str, str], Pool]:
    """Every pool of the campaign by (kind, period): each content period, the leaderboard, and the
    first-post bonuses (a budget only when `first_post_limit` is set)."""
    limit = campaign.first_post_limit
    pools = [
        Pool(Reward.Kind.FIRST_POST, ALL, campaign.first_post_asset, None if limit is None else campaign.first_post_amount * limit, limit),
        *(Pool(Reward.Kind.CONTENT_POOL, period.code, campaign.pool_asset, campaign.pool_amount) for period in campaign.content_periods()),
        Pool(Reward.Kind.LEADERBOARD, ALL, campaign.leaderboard_asset, leaderboard_total(campaign)),
    ]
    return {pool.key: pool for pool in pools}


def pool_budgets_get(*, campaign: Campaign) -> list[PoolBudget]:
    """The budget view of every pool, in the order of `campaign_pools`. Void rewards count nowhere;
    previews count as calculated (they become approvable once due)."""
    sums: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for kind, period, state, amount in Reward.objects.filter(campaign=campaign).exclude(state=Reward.State.VOID).values_list("kind", "period", "state", "amount").order_by():
        sums[(kind, period, state)] += amount
        if state != Reward.State.CALCULATED:
            counts[(kind, period)] += 1
    return [
        PoolBudget(
            pool=pool,
            approved=sums[(*key, Reward.State.APPROVED)],
            paid=sums[(*key, Reward.State.PAID)],
            calculated=sums[(*key, Reward.State.CALCULATED)],
            committed_rewards=counts[key],
        )
        for key, pool in campaign_pools(campaign).items()
    ]


# The configuration field that sizes each kind of pool, and the one that names its asset.
BUDGET_FIELDS = {Reward.Kind.CONTENT_POOL: "pool_amount", Reward.Kind.FIRST_POST: "first_post_limit"}
ASSET_FIELDS = {Reward.Kind.CONTENT_POOL: "pool_asset", Reward.Kind.FIRST_POST: "first_post_asset", Reward.Kind.LEADERBOARD: "leaderboard_asset"}


def pool_budget_conflicts(*, campaign: Campaign, proposed: Campaign) -> dict[str, list[str]]:
    """Why `proposed` (an edited, unsaved copy of `campaign`) may not be saved, by field: a pool
    it makes smaller than what is already approved plus paid in it (RULES.md section 8: approved
    plus paid never exceed the pool), fewer first-post bonuses than are committed, or another
    asset for a pool that holds rewards. Empty when the edit keeps every commitment.

    The reasons are sentences in the active language (pools named by `pool_text`): they are shown
    on the forms that edit a campaign (the campaign's, the what-if page's) and on a what-if run
    that failed; no API answers with them."""
    errors: dict[str, list[str]] = defaultdict(list)
    new_pools = campaign_pools(proposed)
    for budget in pool_budgets_get(campaign=campaign):
        pool = new_pools.get(budget.pool.key)
        if pool is None:
            continue  # a period the edited window no longer has; its rewards stay as they are
        name = pool_text(pool)
        if pool.kind == Reward.Kind.LEADERBOARD:
            field = "leaderboard_tiers" if proposed.leaderboard_strategy == Campaign.SplitStrategy.TIERS else "leaderboard_pool"
        else:
            field = BUDGET_FIELDS[pool.kind]
        if pool.max_rewards is not None and budget.committed_rewards > pool.max_rewards:
            errors[field].append(
                _("%(committed)s %(pool)s are already approved or paid: the limit cannot be %(limit)s")
                % {"committed": budget.committed_rewards, "pool": name, "limit": pool.max_rewards}
            )
        elif pool.budget is not None and budget.committed > pool.budget:
            errors[field].append(
                _("%(committed)s %(asset)s of the %(pool)s is already approved or paid: the pool cannot be %(budget)s (%(short)s short)")
                % {
                    "committed": format_money(budget.committed), "asset": budget.pool.asset, "pool": name,  # committed in the stored asset
                    "budget": format_money(pool.budget), "short": format_money(budget.committed - pool.budget),
                }
            )  # fmt: skip
        if pool.asset != budget.pool.asset and Reward.objects.filter(campaign=campaign, kind=pool.kind, period=pool.period).exists():
            errors[ASSET_FIELDS[pool.kind]].append(
                _("the %(pool)s already holds rewards in %(asset)s: its asset cannot change") % {"pool": name, "asset": budget.pool.asset}
            )
    return dict(errors)


def pool_name(pool: Pool) -> str:
    """The pool's name in English, as the API says it."""
    return {Reward.Kind.CONTENT_POOL: f"content pool {pool.period}", Reward.Kind.LEADERBOARD: "leaderboard pool"}.get(pool.kind, "first-post bonuses")


def pool_text(pool: Pool) -> str:
    """The pool's name in the active language, as the admin says it (`pool_name` in words)."""
    if pool.kind == Reward.Kind.CONTENT_POOL:
        return _("content pool %(period)s") % {"period": pool.period}
    if pool.kind == Reward.Kind.LEADERBOARD:
        return _("leaderboard pool")
    return _("first-post bonuses")
