"""Money invariants of the ledger, checked by the reliability tests and `manage.py check_ledger`.

Each check returns human-readable violations; an empty list means the invariant holds.
"""

from decimal import Decimal

from django.db.models import Count, Sum

from campaign.models import Campaign
from rewards.models import Reward, SettlementRun


def ledger_violations(*, campaign: Campaign) -> list[str]:
    """What is wrong with the campaign's ledger now (nothing, if all is well).

    1. each (campaign, kind, period, trader) has at most one reward (the database enforces it;
       checked anyway so a dropped constraint cannot go unnoticed);
    2. for the latest settlement run, each pool's allocated plus unallocated equals the pool to
       the cent, and the ledger's rows of that pool add up to the allocated amount;
    3. at most one first-post bonus per trader, and a paid reward always has a payout batch.
    """
    problems = []
    doubles = (
        Reward.objects.filter(campaign=campaign)
        .values("kind", "period", "trader__uid")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    problems += [f"{d['n']} rewards for {d['kind']} {d['period']} of trader {d['trader__uid']}" for d in doubles]
    if Reward.objects.filter(campaign=campaign, state=Reward.State.PAID, payout_batch__isnull=True).exists():
        problems.append("a paid reward has no payout batch")
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
        pool = Decimal(run.config["leaderboard_pool"]) if board["strategy"] != "tiers" else sum(Decimal(t) for t in run.config["leaderboard_tiers"])
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
    return rows.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


def frozen_rewards(*, campaign: Campaign) -> dict[int, tuple]:
    """Approved and paid rewards as (amount, asset, state): they must never change silently."""
    return {
        pk: (amount, asset, state)
        for pk, amount, asset, state in Reward.objects.filter(campaign=campaign, state__in=[Reward.State.APPROVED, Reward.State.PAID]).values_list(
            "pk", "amount", "asset", "state"
        )
    }
