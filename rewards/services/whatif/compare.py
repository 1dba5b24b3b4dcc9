"""The two settlements of a what-if side by side: per reward (gainers and losers), per kind, per
pool, and the verdicts and scores that move. Plain comparisons of what `rewards_compute` gave
under each configuration; 0.00 stands for a reward or a pool one side does not have.
"""

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from campaign.models import Campaign
from rewards.budgets import leaderboard_total
from rewards.models import Reward
from rewards.services.computation import Computed
from traders.models import Trader

ZERO = Decimal("0.00")
LOCKED_STATES = (Reward.State.APPROVED, Reward.State.PAID)


@dataclass(frozen=True)
class RewardChange:
    """One ledger key (kind, period, trader) under both configurations; 0.00 where none is given.

    `ledger_state` is the state of the stored reward when it is approved or paid: settlement never
    changes such a row, a difference there becomes a review item instead.
    """

    uid: int
    nickname: str
    kind: str
    period: str
    asset: str
    current: Decimal
    proposed: Decimal
    current_preview: bool | None
    proposed_preview: bool | None
    ledger_state: str = ""

    @property
    def difference(self) -> Decimal:
        return self.proposed - self.current


@dataclass(frozen=True)
class KindTotal:
    kind: str
    asset: str
    current: Decimal
    proposed: Decimal
    current_payable: Decimal
    proposed_payable: Decimal
    current_rewards: int
    proposed_rewards: int

    @property
    def difference(self) -> Decimal:
        return self.proposed - self.current


@dataclass(frozen=True)
class PoolTotal:
    """One pool (a content period, or the leaderboard): its size, allocated and unallocated money."""

    kind: str
    period: str
    asset: str
    current_pool: Decimal
    current_allocated: Decimal
    current_unallocated: Decimal
    proposed_pool: Decimal
    proposed_allocated: Decimal
    proposed_unallocated: Decimal


@dataclass(frozen=True)
class VerdictChange:
    current: str
    proposed: str
    posts: int


def gainers(rows) -> tuple[RewardChange, ...]:
    return tuple(sorted((r for r in rows if r.difference > 0), key=lambda r: (-r.difference, r.uid, r.kind, r.period)))


def losers(rows) -> tuple[RewardChange, ...]:
    return tuple(sorted((r for r in rows if r.difference < 0), key=lambda r: (r.difference, r.uid, r.kind, r.period)))


def reward_rows(campaign: Campaign, now: list[Computed], new: list[Computed]) -> tuple[RewardChange, ...]:
    """Every ledger key either configuration gives, by trader, kind and period."""
    before = {(c.kind, c.period, c.uid): c for c in now}
    after = {(c.kind, c.period, c.uid): c for c in new}
    keys = sorted(set(before) | set(after), key=lambda k: (k[2], k[0], k[1]))
    nicknames = dict(Trader.objects.filter(uid__in={k[2] for k in keys}).values_list("uid", "nickname"))
    locked = {
        (kind, period, uid): state
        for kind, period, uid, state in Reward.objects.filter(campaign=campaign, state__in=LOCKED_STATES).values_list("kind", "period", "trader__uid", "state")
    }
    rows = []
    for key in keys:
        a, b = before.get(key), after.get(key)
        rows.append(
            RewardChange(
                uid=key[2],
                nickname=nicknames.get(key[2], ""),
                kind=key[0],
                period=key[1],
                asset=(b or a).asset,
                current=a.amount if a else ZERO,
                proposed=b.amount if b else ZERO,
                current_preview=a.preview if a else None,
                proposed_preview=b.preview if b else None,
                ledger_state=locked.get(key, ""),
            )
        )
    return tuple(rows)


def kind_totals(now: list[Computed], new: list[Computed]) -> tuple[KindTotal, ...]:
    """Per reward kind and asset: the total, the payable part and the number of rewards, in `Reward.Kind` order."""

    def tally(rewards):
        sums = {}
        for c in rewards:
            total, payable, n = sums.get((c.kind, c.asset), (ZERO, ZERO, 0))
            sums[(c.kind, c.asset)] = (total + c.amount, payable + (ZERO if c.preview else c.amount), n + 1)
        return sums

    before, after = tally(now), tally(new)
    order = [kind.value for kind in Reward.Kind]
    keys = sorted(set(before) | set(after), key=lambda k: (order.index(k[0]) if k[0] in order else len(order), k))
    empty = (ZERO, ZERO, 0)
    totals = []
    for key in keys:
        (now_total, now_payable, now_n), (new_total, new_payable, new_n) = before.get(key, empty), after.get(key, empty)
        totals.append(KindTotal(*key, now_total, new_total, now_payable, new_payable, now_n, new_n))
    return tuple(totals)


def _pools(config: Campaign, summary: dict) -> dict[tuple[str, str], tuple[str, Decimal, Decimal, Decimal]]:
    pools = {
        (Reward.Kind.CONTENT_POOL.value, code): (config.pool_asset, config.pool_amount, Decimal(p["allocated"]), Decimal(p["unallocated"]))
        for code, p in summary["content_pool"].items()
    }
    board = summary["leaderboard"]
    pools[(Reward.Kind.LEADERBOARD.value, "ALL")] = (config.leaderboard_asset, leaderboard_total(config), Decimal(board["allocated"]), Decimal(board["unallocated"]))
    if config.first_post_limit is not None:
        # The first-post budget as a pool: `first_post_limit` bonuses; what the limit leaves out is unallocated.
        first = summary["first_post"]
        size = config.first_post_amount * config.first_post_limit
        pools[(Reward.Kind.FIRST_POST.value, "ALL")] = (config.first_post_asset, size, Decimal(first["total"]), size - Decimal(first["total"]))
    return pools


def _pool_side(pool) -> tuple[Decimal, Decimal, Decimal]:
    return (ZERO, ZERO, ZERO) if pool is None else pool[1:]


def pool_totals(current: Campaign, current_summary: dict, proposed: Campaign, proposed_summary: dict) -> tuple[PoolTotal, ...]:
    """Every pool of either settlement summary, its asset taken from the proposed side where it has one."""
    now_pools, new_pools = _pools(current, current_summary), _pools(proposed, proposed_summary)
    return tuple(
        PoolTotal(*key, (new_pools.get(key) or now_pools[key])[0], *_pool_side(now_pools.get(key)), *_pool_side(new_pools.get(key)))
        for key in sorted(set(now_pools) | set(new_pools))
    )


def verdict_changes(now: dict[int, tuple[str, int]], new: dict[int, tuple[str, int]]) -> tuple[VerdictChange, ...]:
    """How many posts went from each verdict to each other one, most first."""
    return verdict_changes_counted(Counter((now[pk][0], new[pk][0]) for pk in now if now[pk][0] != new[pk][0]))


def verdict_changes_counted(flips: Counter) -> tuple[VerdictChange, ...]:
    """`verdict_changes` from the counts of (current, proposed) verdict pairs that differ, most first
    (the preview counts them as its batches stream by)."""
    return tuple(VerdictChange(a, b, n) for (a, b), n in sorted(flips.items(), key=lambda item: (-item[1], item[0])))


def scores_changed(now: dict[int, tuple[str, int]], new: dict[int, tuple[str, int]]) -> int:
    """How many posts score differently."""
    return sum(1 for pk in now if now[pk][1] != new[pk][1])
