"""Pool budgets (RULES.md section 8): approved plus paid rewards never exceed their pool.

A pool is the content pool of one period, the leaderboard, or the first-post bonuses when the
campaign sets `first_post_limit` (a budget of that many bonuses). These functions only compare
amounts: the ledger service reads what is committed under the campaign lock and asks them
whether one more approval fits.
"""

from dataclasses import dataclass
from decimal import Decimal

from rewards.rules.money import format_money

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Pool:
    """One pool of a campaign. ``budget`` None means no limit (first-post bonuses by default);
    ``max_rewards`` caps the number of rewards too (the first-post limit counts bonuses)."""

    kind: str
    period: str
    asset: str
    budget: Decimal | None
    max_rewards: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.period)


@dataclass(frozen=True)
class PoolBudget:
    """The budget view of one pool: what it holds, what is committed against it, what is left.

    ``committed`` is approved plus paid; ``approvable`` is what can still be approved (pool minus
    committed, None without a budget); ``excess`` is how far the calculated rewards exceed that
    (0.00 when they fit).
    """

    pool: Pool
    approved: Decimal
    paid: Decimal
    calculated: Decimal
    committed_rewards: int = 0

    @property
    def committed(self) -> Decimal:
        return self.approved + self.paid

    @property
    def approvable(self) -> Decimal | None:
        return None if self.pool.budget is None else self.pool.budget - self.committed

    @property
    def excess(self) -> Decimal:
        approvable = self.approvable
        if approvable is None:
            return ZERO
        return max(ZERO, self.calculated - max(ZERO, approvable))

    def as_json(self) -> dict:
        budget, approvable = self.pool.budget, self.approvable
        return {
            "kind": self.pool.kind,
            "period": self.pool.period,
            "asset": self.pool.asset,
            "pool": None if budget is None else format_money(budget),
            "max_rewards": self.pool.max_rewards,
            "approved": format_money(self.approved),
            "paid": format_money(self.paid),
            "approved_and_paid": format_money(self.committed),
            "calculated": format_money(self.calculated),
            "approvable": None if approvable is None else format_money(approvable),
            "excess": format_money(self.excess),
        }


def approval_excess(*, pool: Pool, committed: Decimal, committed_rewards: int, amount: Decimal) -> Decimal:
    """How far approving one more reward of ``amount`` would take ``pool`` over its budget, given
    what is already ``committed`` (approved plus paid, in ``committed_rewards`` rewards).

    0.00 when it fits. Over a money budget it is the amount above the pool; over a count
    (``max_rewards``) it is at least the reward's own amount, the money of the reward too many.
    """
    over = ZERO
    if pool.budget is not None:
        over = max(over, committed + amount - pool.budget)
    if pool.max_rewards is not None and committed_rewards + 1 > pool.max_rewards:
        over = max(over, amount)
    return over
