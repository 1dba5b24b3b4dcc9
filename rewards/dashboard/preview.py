"""The settlement preview of the ops dashboard: what settling a campaign now would do to its
ledger, computed without writing anything. `settlement_preview_get` runs the rules over the
stored verdicts (`rewards_compute`), plans the ledger as settlement plans it (`ledger_plan`), and
shows each touched ledger key per pool, each pool's budget before and after, and the totals per
asset. Money stays `Decimal` with two decimals, and every total is per asset.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Q
from django.utils import timezone

from campaign.models import Campaign, JudgingState, Post
from campaign.services.qualify import judging_inputs_digest
from rewards.budgets import pool_budgets_get
from rewards.models import Reward
from rewards.rules.budget import Pool, PoolBudget
from rewards.rules.types import ALL
from rewards.services.computation import Computed, rewards_compute, settled_due
from rewards.services.settlement_ledger import Change as LedgerChange
from rewards.services.settlement_ledger import Planned, ledger_plan
from traders.models import Trader

ZERO = Decimal("0.00")

# What a settlement now would do to a ledger key (`rewards.services.settlement_ledger.Change`); a change
# of an explanation alone is not listed.
CREATE, CHANGE, DUE, REMOVE = LedgerChange.CREATE, LedgerChange.CHANGE, LedgerChange.DUE, LedgerChange.REMOVE
REVIEW_OPEN, REVIEW_UPDATE, REVIEW_WITHDRAW = LedgerChange.REVIEW_OPEN, LedgerChange.REVIEW_UPDATE, LedgerChange.REVIEW_WITHDRAW
PREVIEW_ACTIONS = (CREATE, CHANGE, DUE, REMOVE, REVIEW_OPEN, REVIEW_UPDATE, REVIEW_WITHDRAW)


@dataclass(frozen=True)
class PreviewLine:
    """One ledger key that a settlement now would touch. `ledger` is what the ledger holds (a paid
    reward's amount plus its adjustments; None for a reward not yet in the ledger), `computed`
    what the rules give now (0.00 when they give nothing)."""

    action: str
    kind: str
    period: str
    uid: int
    nickname: str
    asset: str
    state: str
    ledger: Decimal | None
    computed: Decimal
    preview_before: bool | None
    preview_after: bool | None
    reward_id: int | None = None
    review_item_id: int | None = None
    review_computed: Decimal | None = None

    @property
    def difference(self) -> Decimal:
        return self.computed - (self.ledger if self.ledger is not None else ZERO)


@dataclass(frozen=True)
class PreviewPool:
    """One pool after a settlement now: what the rules allocate, and its budget view before and
    after (only calculated amounts move; approved and paid ones never do)."""

    pool: Pool
    due: bool
    allocated: Decimal
    unallocated: Decimal | None
    budget_now: PoolBudget
    budget_after: PoolBudget
    lines: tuple[PreviewLine, ...]
    unchanged: int

    def count(self, action: str) -> int:
        return sum(1 for line in self.lines if line.action == action)

    @property
    def counts(self) -> tuple[tuple[str, int], ...]:
        return tuple((action, self.count(action)) for action in PREVIEW_ACTIONS)


@dataclass(frozen=True)
class PreviewAssetTotal:
    """One asset across every pool: the ledger now and after (void never counts), what is payable
    (neither preview nor void), and what the rules give."""

    asset: str
    computed: Decimal
    ledger_now: Decimal
    ledger_after: Decimal
    payable_now: Decimal
    payable_after: Decimal

    @property
    def difference(self) -> Decimal:
        return self.ledger_after - self.ledger_now


@dataclass(frozen=True)
class SettlementPreview:
    campaign: Campaign
    at: datetime
    qualified_posts: int
    posts_awaiting_judging: int
    posts_index_stale: int
    judging_inputs_moved: bool
    pools: tuple[PreviewPool, ...]
    totals: tuple[PreviewAssetTotal, ...]

    @property
    def lines(self) -> tuple[PreviewLine, ...]:
        return tuple(line for pool in self.pools for line in pool.lines)

    def count(self, action: str) -> int:
        return sum(pool.count(action) for pool in self.pools)

    @property
    def verdicts_may_move(self) -> bool:
        """Settling judges first: stored verdicts that are not current may give other money."""
        return bool(self.posts_awaiting_judging or self.posts_index_stale or self.judging_inputs_moved)


def _zeros() -> defaultdict:
    return defaultdict(lambda: ZERO)


@dataclass
class _PlanWalk:
    """What walking the plan gathers: the touched keys' lines and the untouched keys' count per
    pool, the ledger after the settlement (calculated per pool; ledger and payable per asset),
    and the rewards the ledger holds now by (kind, period, uid)."""

    lines: dict[tuple[str, str], list[PreviewLine]] = field(default_factory=lambda: defaultdict(list))
    unchanged: Counter = field(default_factory=Counter)
    calculated_after: dict[tuple[str, str], Decimal] = field(default_factory=_zeros)
    payable_after: dict[str, Decimal] = field(default_factory=_zeros)
    ledger_after: dict[str, Decimal] = field(default_factory=_zeros)
    ledger: dict[tuple[str, str, int], Reward] = field(default_factory=dict)


def _preview_line(p: Planned, nickname: str) -> PreviewLine:
    """The line of a key the settlement would touch: a new reward, a calculated one, or the review
    item of an approved, paid or void one."""
    reward, c = p.reward, p.computed
    if reward is None:
        return PreviewLine(CREATE, p.kind, p.period, p.uid, nickname, c.asset, "", None, c.amount, None, c.preview)
    if reward.state == Reward.State.CALCULATED:
        amount = c.amount if c is not None else ZERO
        after = p.preview if c is not None else None
        return PreviewLine(p.change, p.kind, p.period, p.uid, nickname, c.asset if c else reward.asset, reward.state, reward.amount, amount,
                           reward.preview, after, reward.pk)  # fmt: skip
    item = p.item
    return PreviewLine(p.change, p.kind, p.period, p.uid, nickname, reward.asset, reward.state, p.held, p.amount, None, None, reward.pk,
                       item and item.pk, item and item.computed_amount)  # fmt: skip


def _plan_walk(plan: list[Planned], nicknames: dict[int, str]) -> _PlanWalk:
    """Each ledger key of the plan, by trader: its line (or its count as untouched), and what it
    leaves in the ledger (a calculated reward takes the computed amount; the others stay)."""
    walk = _PlanWalk()
    for p in sorted(plan, key=lambda p: (p.uid, p.kind, p.period)):
        pool_key, reward, c = (p.kind, p.period), p.reward, p.computed
        if reward is not None:
            walk.ledger[(p.kind, p.period, p.uid)] = reward
        nickname = reward.trader.nickname if reward is not None else nicknames.get(p.uid, "")
        if p.change not in PREVIEW_ACTIONS:
            walk.unchanged[pool_key] += 1
        else:
            walk.lines[pool_key].append(_preview_line(p, nickname))
        if reward is None or reward.state == Reward.State.CALCULATED:
            if c is not None:
                walk.calculated_after[pool_key] += c.amount
                walk.ledger_after[c.asset] += c.amount
                walk.payable_after[c.asset] += ZERO if p.preview else c.amount
        elif reward.state != Reward.State.VOID:
            walk.ledger_after[reward.asset] += reward.amount
            walk.payable_after[reward.asset] += reward.amount
    return walk


def _pool_figures(campaign: Campaign, pool: Pool, summary: dict, computed_total: Decimal) -> tuple[bool, Decimal, Decimal | None]:
    """(due, allocated, unallocated) of one pool as the rules give it now."""
    if pool.kind == Reward.Kind.CONTENT_POOL and pool.period in summary["content_pool"]:
        p = summary["content_pool"][pool.period]
        return bool(p["due"]), Decimal(p["allocated"]), Decimal(p["unallocated"])
    if pool.kind == Reward.Kind.LEADERBOARD and pool.period == ALL:
        board = summary["leaderboard"]
        return bool(board["due"]), Decimal(board["allocated"]), Decimal(board["unallocated"])
    if pool.kind == Reward.Kind.FIRST_POST and pool.period == ALL:
        unallocated = None if pool.budget is None else pool.budget - computed_total
        return bool(summary["first_post"]["due"]), computed_total, unallocated
    return False, computed_total, None  # a pool the configuration no longer has (a period dropped)


def _preview_pools(campaign: Campaign, walk: _PlanWalk, computed: list[Computed], summary: dict) -> tuple[PreviewPool, ...]:
    """Every pool of the campaign, and every pool the plan touches that it no longer has."""
    lines, unchanged, calculated_after = walk.lines, walk.unchanged, walk.calculated_after
    budgets = {(b.pool.kind, b.pool.period): b for b in pool_budgets_get(campaign=campaign)}
    for kind, period in sorted((set(lines) | set(unchanged) | set(calculated_after)) - set(budgets)):
        # A pool the configuration no longer has (a period dropped): shown, with no budget.
        asset = next((line.asset for line in lines.get((kind, period), ())), "")
        budgets[(kind, period)] = PoolBudget(pool=Pool(kind, period, asset, None), approved=ZERO, paid=ZERO, calculated=ZERO)
    order = {action: i for i, action in enumerate(PREVIEW_ACTIONS)}
    preview_pools = []
    for key, now in budgets.items():
        after = replace(now, calculated=calculated_after[key])
        given_total = sum((c.amount for c in computed if (c.kind, c.period) == key), ZERO)
        due, allocated, unallocated = _pool_figures(campaign, now.pool, summary, given_total)
        pool_lines = tuple(sorted(lines.get(key, ()), key=lambda line: (order[line.action], line.uid)))
        preview_pools.append(PreviewPool(now.pool, due, allocated, unallocated, now, after, pool_lines, unchanged[key]))
    return tuple(preview_pools)


def _asset_totals(walk: _PlanWalk, computed: list[Computed]) -> tuple[PreviewAssetTotal, ...]:
    """The ledger now and after, and what the rules give, per asset (void never counts)."""
    ledger_now: dict[str, Decimal] = _zeros()
    payable_now: dict[str, Decimal] = _zeros()
    for row in walk.ledger.values():
        if row.state != Reward.State.VOID:
            ledger_now[row.asset] += row.amount
            payable_now[row.asset] += ZERO if row.preview else row.amount
    given_by_asset: dict[str, Decimal] = _zeros()
    for c in computed:
        given_by_asset[c.asset] += c.amount
    ledger_after, payable_after = walk.ledger_after, walk.payable_after
    assets = sorted(set(ledger_now) | set(ledger_after) | set(given_by_asset))
    return tuple(
        PreviewAssetTotal(asset, given_by_asset[asset], ledger_now[asset], ledger_after[asset], payable_now[asset], payable_after[asset]) for asset in assets
    )


def settlement_preview_get(*, campaign: Campaign, at: datetime | None = None) -> SettlementPreview:
    """What `settle_campaign(campaign=, at=)` would do to the ledger, computed without writing
    anything: no settlement run, no reward, no review item, and no judging.

    The rewards are those of `rewards_compute` over the stored verdicts, with the pools an earlier
    settlement made due kept due (`settled_due`), compared with the ledger as settlement compares
    it: calculated rewards are created, changed (in amount, or from preview to payable) or
    removed; an approved, paid or void reward is never changed, and the review-item rule
    (`rewards.rules.review`) says whether its item would be opened, updated or withdrawn.
    Settlement judges first, so where verdicts are not current (posts awaiting judging, a
    duplicate check pending, enrolment data, reference texts or rules moved since the last whole
    judging) it may give other figures: `verdicts_may_move` says so.
    """
    at = at or timezone.now()
    if timezone.is_naive(at):
        raise ValueError("the preview instant must be timezone-aware")
    computed, summary = rewards_compute(campaign=campaign, at=at, already_due=settled_due(campaign))
    plan = ledger_plan(campaign=campaign, computed=computed)
    missing = {p.uid for p in plan if p.reward is None}
    nicknames = dict(Trader.objects.filter(uid__in=missing).values_list("uid", "nickname"))
    walk = _plan_walk(plan, nicknames)
    pools = _preview_pools(campaign, walk, computed, summary)
    totals = _asset_totals(walk, computed)
    judging = JudgingState.objects.filter(campaign=campaign).values_list("inputs", flat=True).first()
    awaiting = Post.objects.filter(campaign=campaign).aggregate(
        unjudged=Count("pk", filter=Q(judged_at__isnull=True)), stale=Count("pk", filter=Q(index_stale=True))
    )
    return SettlementPreview(
        campaign=campaign,
        at=at,
        qualified_posts=summary["qualified_posts"],
        posts_awaiting_judging=awaiting["unjudged"],
        posts_index_stale=awaiting["stale"],
        judging_inputs_moved=judging != judging_inputs_digest(campaign),
        pools=pools,
        totals=totals,
    )
