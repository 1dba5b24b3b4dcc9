"""The money panels of the ops dashboard: what the latest finished settlement reported (its
content pools, first-post bonuses and leaderboard, from the run's summary), the rewards table by
kind, asset and state, each content pool's shares per creator, and the adjustments per asset.
`rewards.dashboard.page` gathers them into the page's one dataclass. No writes.

Money stays `Decimal` with two decimals, summed in Python (SQLite adds decimals as floats), and
every total is per asset.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from campaign.models import Campaign
from rewards.models import Adjustment, Reward, SettlementRun
from traders.models import Trader

ZERO = Decimal("0.00")
PREVIEW = "preview"
# Columns of the rewards table: a preview is a calculated row whose period is not yet due.
STATE_COLUMNS = (PREVIEW, Reward.State.CALCULATED, Reward.State.APPROVED, Reward.State.PAID, Reward.State.VOID)
PAYABLE = {Reward.State.CALCULATED, Reward.State.APPROVED, Reward.State.PAID}
CHART_LEADERS = 10


@dataclass(frozen=True)
class PoolPeriod:
    code: str
    due: bool
    pool: Decimal
    allocated: Decimal
    unallocated: Decimal
    creators: int
    eligible: int
    capped: int


@dataclass(frozen=True)
class LeaderEntry:
    rank: int
    uid: int
    nickname: str
    score: Decimal


@dataclass(frozen=True)
class LeaderboardResult:
    due: bool
    strategy: str
    ranked: int
    paid_places: int
    allocated: Decimal
    unallocated: Decimal
    top: tuple[LeaderEntry, ...]


@dataclass(frozen=True)
class LatestRun:
    run: SettlementRun
    qualified_posts: int
    first_post_due: bool
    first_post_traders: int
    first_post_total: Decimal
    pools: tuple[PoolPeriod, ...]
    leaderboard: LeaderboardResult | None
    ledger: dict


@dataclass(frozen=True)
class Amount:
    n: int
    total: Decimal


@dataclass(frozen=True)
class RewardRow:
    """One kind (or, in the totals, every kind) in one asset: an Amount per STATE_COLUMNS entry."""

    kind: str
    label: str
    asset: str
    cells: tuple[Amount, ...]
    payable: Amount


@dataclass(frozen=True)
class CreatorShare:
    uid: int
    nickname: str
    asset: str
    amount: Decimal
    state: str
    preview: bool


@dataclass(frozen=True)
class AdjustmentTotal:
    """The adjustments of one asset: what finance must top up (+) and claw back (-)."""

    asset: str
    n: int
    underpaid: Decimal
    overpaid: Decimal


def latest_finished_run(*, campaign: Campaign) -> SettlementRun | None:
    """The campaign's latest settlement run that finished (None before the first one)."""
    return SettlementRun.objects.filter(campaign=campaign, finished_at__isnull=False).order_by("-started_at", "-id").first()


def _money(value) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else ZERO


def _leaderboard(board: dict | None) -> LeaderboardResult | None:
    if not (board and "allocated" in board):
        return None
    top = board.get("top", [])[:CHART_LEADERS]
    names = dict(Trader.objects.filter(uid__in=[t["uid"] for t in top]).values_list("uid", "nickname"))
    return LeaderboardResult(
        due=bool(board.get("due")),
        strategy=board.get("strategy", ""),
        ranked=int(board.get("ranked", 0)),
        paid_places=int(board.get("paid_places", 0)),
        allocated=_money(board.get("allocated")),
        unallocated=_money(board.get("unallocated")),
        top=tuple(LeaderEntry(t["rank"], t["uid"], names.get(t["uid"], ""), Decimal(t["score"])) for t in top),
    )


def latest_run_get(*, campaign: Campaign) -> LatestRun | None:
    """What the latest finished settlement reported, read from its summary (None before the first one)."""
    run = latest_finished_run(campaign=campaign)
    if run is None:
        return None
    summary = run.summary or {}
    pools = tuple(
        PoolPeriod(code, bool(p.get("due")), _money(p.get("pool")), _money(p.get("allocated")), _money(p.get("unallocated")),
                   int(p.get("creators", 0)), int(p.get("eligible", 0)), len(p.get("capped", [])))
        for code, p in sorted(summary.get("content_pool", {}).items())
    )  # fmt: skip
    leaderboard = _leaderboard(summary.get("leaderboard"))
    first = summary.get("first_post", {})
    return LatestRun(
        run=run,
        qualified_posts=int(summary.get("qualified_posts", 0)),
        first_post_due=bool(first.get("due")),
        first_post_traders=int(first.get("traders", 0)),
        first_post_total=_money(first.get("total")),
        pools=pools,
        leaderboard=leaderboard,
        ledger=summary.get("ledger", {}),
    )


def pool_shares_get(*, campaign: Campaign) -> tuple[tuple[str, tuple[CreatorShare, ...]], ...]:
    """Each content period's shares per creator (void ones left out), largest first."""
    rows = (
        Reward.objects.filter(campaign=campaign, kind=Reward.Kind.CONTENT_POOL)
        .exclude(state=Reward.State.VOID)
        .order_by("period", "-amount", "trader__uid")
        .values_list("period", "trader__uid", "trader__nickname", "asset", "amount", "state", "preview")
    )
    by_period = defaultdict(list)
    for period, uid, nickname, asset, amount, state, preview in rows:
        by_period[period].append(CreatorShare(uid, nickname, asset, amount, state, preview))
    return tuple((period, tuple(shares)) for period, shares in sorted(by_period.items()))


def _column(state: str, preview: bool) -> str:
    return PREVIEW if preview else state


def reward_rows_get(*, campaign: Campaign) -> tuple[tuple[RewardRow, ...], tuple[RewardRow, ...]]:
    """The rewards table: a row per (kind, asset), then a row of every kind per asset."""
    # Summed here rather than with SUM(): SQLite adds decimals as floats, and a ledger is small.
    rows = Reward.objects.filter(campaign=campaign).values_list("kind", "asset", "state", "preview", "amount").order_by()
    counts, totals = Counter(), defaultdict(lambda: ZERO)
    kinds, assets = set(), set()
    for kind, asset, state, preview, amount in rows.iterator(chunk_size=5000):
        column = _column(state, preview)
        kinds.add((kind, asset))
        assets.add(asset)
        for key in ((kind, asset, column), ("", asset, column)):
            counts[key] += 1
            totals[key] += amount
    cells = defaultdict(lambda: Amount(0, ZERO), {key: Amount(n, totals[key]) for key, n in counts.items()})

    def row(kind, label, asset):
        amounts = tuple(cells[(kind, asset, c)] for c in STATE_COLUMNS)
        payable = [cells[(kind, asset, c)] for c in STATE_COLUMNS if c in PAYABLE]
        return RewardRow(kind, label, asset, amounts, Amount(sum(a.n for a in payable), sum((a.total for a in payable), ZERO)))

    order = {k: i for i, k in enumerate(Reward.Kind.values)}
    by_kind = tuple(row(kind, str(Reward.Kind(kind).label), asset) for kind, asset in sorted(kinds, key=lambda ka: (order.get(ka[0], 99), ka[1])))
    totals = tuple(row("", _("all kinds"), asset) for asset in sorted(assets))
    return by_kind, totals


def adjustment_totals_get(*, campaign: Campaign) -> tuple[AdjustmentTotal, ...]:
    """The campaign's adjustments per asset: how many, and the top-ups and claw-backs apart."""
    # Summed here rather than with SUM(): SQLite adds decimals as floats.
    by_asset: dict[str, tuple[int, Decimal, Decimal]] = {}
    for asset, amount in Adjustment.objects.filter(campaign=campaign).values_list("asset", "amount").order_by():
        n, under, over = by_asset.get(asset, (0, ZERO, ZERO))
        by_asset[asset] = (n + 1, under + max(amount, ZERO), over + min(amount, ZERO))
    return tuple(AdjustmentTotal(asset, *by_asset[asset]) for asset in sorted(by_asset))
