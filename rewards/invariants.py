"""Money invariants of the ledger, checked by the reliability and property tests and by
`manage.py check_ledger`.

Each check returns human-readable violations; an empty list means the invariant holds.
"""

from decimal import Decimal

from django.db.models import Count, F

from campaign.models import Campaign
from campaign.terms import leaderboard_pool_size
from rewards.budgets import pool_budgets_get
from rewards.models import Adjustment, ReviewItem, Reward, SettlementRun
from rewards.rules.money import format_money
from rewards.services.computation import settled_due


def ledger_violations(*, campaign: Campaign) -> list[str]:
    """What is wrong with the campaign's ledger now (nothing, if all is well).

    1. each (campaign, kind, period, trader) has at most one reward (the database enforces it;
       checked anyway so a dropped constraint cannot go unnoticed);
    2. a paid reward always has a payout batch, of its own campaign;
    3. for every pool, approved plus paid rewards never exceed the pool (and the first-post
       bonuses never exceed `first_post_limit`);
    4. a reward has at most one open review item;
    5. due is final: no reward of a pool that a settlement made due is a preview;
    6. money per asset: the rewards of one pool are in one asset, an adjustment is in its
       reward's asset, and nothing sums two assets;
    7. for the latest settlement run, each pool's allocated plus unallocated equals the pool to
       the cent, and the ledger's rows of that pool add up to the allocated amount while they are
       all still the run's to set (`calculated`).
    """
    campaign = Campaign.objects.get(pk=campaign.pk)  # the pools as configured now, not as a caller's copy has them
    problems = []
    rewards = Reward.objects.filter(campaign=campaign)
    doubles = rewards.values("kind", "period", "trader__uid").annotate(n=Count("id")).filter(n__gt=1)
    problems += [f"{d['n']} rewards for {d['kind']} {d['period']} of trader {d['trader__uid']}" for d in doubles]
    if rewards.filter(state=Reward.State.PAID, payout_batch__isnull=True).exists():
        problems.append("a paid reward has no payout batch")
    if rewards.filter(payout_batch__isnull=False).exclude(payout_batch__campaign=F("campaign")).exists():
        problems.append("a reward is paid in a payout batch of another campaign")
    for budget in pool_budgets_get(campaign=campaign):
        pool = budget.pool
        name = f"{pool.kind} {pool.period}"
        if budget.approvable is not None and budget.approvable < 0:
            problems.append(
                f"{name}: approved + paid {format_money(budget.committed)} exceeds the pool {format_money(pool.budget)} {pool.asset} by {format_money(-budget.approvable)}"
            )
        if pool.max_rewards is not None and budget.committed_rewards > pool.max_rewards:
            problems.append(f"{name}: {budget.committed_rewards} approved or paid rewards, the limit is {pool.max_rewards}")
    for row in ReviewItem.objects.filter(reward__campaign=campaign, status=ReviewItem.Status.OPEN).values("reward_id").annotate(n=Count("id")).filter(n__gt=1):
        problems.append(f"reward {row['reward_id']} has {row['n']} open review items")
    due = settled_due(campaign)
    for pk, kind, period in rewards.filter(preview=True).values_list("pk", "kind", "period"):
        if (kind, period) in due:
            problems.append(f"reward {pk} ({kind} {period}) is a preview, but a settlement already made its pool due")
    for row in rewards.values("kind", "period").annotate(n=Count("asset", distinct=True)).filter(n__gt=1):
        problems.append(f"{row['kind']} {row['period']}: rewards in {row['n']} assets")
    if Adjustment.objects.filter(campaign=campaign).exclude(asset=F("reward__asset")).exists():
        problems.append("an adjustment is not in its reward's asset")
    run = SettlementRun.objects.filter(campaign=campaign, finished_at__isnull=False).order_by("-started_at", "-id").first()
    if run is None:
        return problems
    for code, pool in run.summary.get("content_pool", {}).items():
        total, allocated, unallocated = Decimal(pool["pool"]), Decimal(pool["allocated"]), Decimal(pool["unallocated"])
        if allocated + unallocated != total:
            problems.append(f"content pool {code}: {allocated} + {unallocated} != {total}")
        booked = _booked(campaign, Reward.Kind.CONTENT_POOL, code)
        if booked is not None and booked != allocated:
            problems.append(f"content pool {code}: the ledger holds {booked}, the run allocated {allocated}")
    board = run.summary.get("leaderboard")
    if board:
        pool = leaderboard_pool_size(strategy=board["strategy"], tiers=run.config["leaderboard_tiers"], pool=run.config["leaderboard_pool"])
        if Decimal(board["allocated"]) + Decimal(board["unallocated"]) != pool:
            problems.append(f"leaderboard: {board['allocated']} + {board['unallocated']} != {pool}")
        booked = _booked(campaign, Reward.Kind.LEADERBOARD, "ALL")
        if booked is not None and booked != Decimal(board["allocated"]):
            problems.append(f"leaderboard: the ledger holds {booked}, the run allocated {board['allocated']}")
    return problems


def _booked(campaign, kind, period):
    """Sum of the ledger rows of one pool, or None when some of them are not the run's to set
    (approved, paid or void rows keep their amounts; differences are review items)."""
    rows = Reward.objects.filter(campaign=campaign, kind=kind, period=period)
    if rows.exclude(state=Reward.State.CALCULATED).exists():
        return None
    return sum(rows.values_list("amount", flat=True), Decimal("0.00"))


def frozen_rewards(*, campaign: Campaign) -> dict[int, tuple]:
    """Approved and paid rewards as (amount, asset, state): they must never change silently."""
    return {
        pk: (amount, asset, state)
        for pk, amount, asset, state in Reward.objects.filter(campaign=campaign, state__in=[Reward.State.APPROVED, Reward.State.PAID]).values_list(
            "pk", "amount", "asset", "state"
        )
    }
