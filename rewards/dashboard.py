"""Reads for the ops dashboard of a campaign: `campaign_dashboard_get` gathers every number the
page shows in one dataclass, and `campaign_dashboard_charts` draws its charts;
`since_settlement_get` says what changed since the latest settlement, and
`settlement_preview_get` what settling now would do to the ledger. No writes.

Counts are taken in the database (GROUP BY), except enrolment, which is a rule over each trader's
registration and sign-ups (`campaign.selectors.enrolment_map`, the same reading settlement uses).
Days are UTC+8 calendar days (RULES.md section 7). Money stays `Decimal` with two decimals, and
every total is per asset.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.models import Campaign, JudgingState, ModerationDecision, Post, ReferenceText, Signup
from campaign.selectors import enrolment_map
from campaign.services.posts import judging_inputs_digest
from core.models import ImportRun, RejectedRecord
from rewards.budgets import pool_budgets_get
from rewards.charts import Bar, Reference, Series, horizontal_bars, stacked_columns
from rewards.models import Adjustment, PayoutReport, ReviewFlag, ReviewItem, Reward, SettlementRun
from rewards.rules.budget import Pool, PoolBudget
from rewards.rules.types import ALL
from rewards.services.settlement import Change as LedgerChange
from rewards.services.settlement import ledger_plan, rewards_compute, settled_due
from traders.models import LeadTraderRegistration, Trader, TradingStats

# Asia/Shanghai has kept UTC+8 without daylight saving since 1991: its days are the rulebook's.
DAY_ZONE = ZoneInfo("Asia/Shanghai")
ZERO = Decimal("0.00")
PREVIEW = "preview"
# Columns of the rewards table: a preview is a calculated row whose period is not yet due.
STATE_COLUMNS = (PREVIEW, Reward.State.CALCULATED, Reward.State.APPROVED, Reward.State.PAID, Reward.State.VOID)
PAYABLE = {Reward.State.CALCULATED, Reward.State.APPROVED, Reward.State.PAID}
CHART_CREATORS = 25
CHART_LEADERS = 10
QUALIFIED_COLOUR = "#1a7f37"
OTHER_COLOUR = "#afb8c1"


@dataclass(frozen=True)
class Tally:
    code: str
    label: str
    n: int


@dataclass(frozen=True)
class RegistrationRow:
    status: str
    label: str
    by_market: tuple[int, ...]
    total: int


@dataclass(frozen=True)
class PeriodDue:
    code: str
    starts_at: datetime
    ends_at: datetime
    due_at: datetime
    due: bool


@dataclass(frozen=True)
class DayPosts:
    day: date
    qualified: int
    not_qualified: int

    @property
    def total(self) -> int:
        return self.qualified + self.not_qualified


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
class Change:
    """One kind of input the ledger depends on: how many rows changed since the latest
    settlement, beside how many there are now (None where a total means nothing)."""

    code: str
    label: str
    changed: int
    total: int | None


@dataclass(frozen=True)
class SinceSettlement:
    """What changed since the latest finished settlement: if anything did, settling again may
    change the ledger, and the dashboard must not say that it agrees with the settlement."""

    run: SettlementRun
    changes: tuple[Change, ...]
    posts_awaiting_judging: int
    posts_now: int
    posts_at_run: int | None
    configuration_edited_at: datetime | None
    fallen_due: tuple[str, ...]

    @property
    def posts_count_moved(self) -> bool:
        return self.posts_at_run is not None and self.posts_at_run != self.posts_now

    @property
    def stale(self) -> bool:
        return any(c.changed for c in self.changes) or bool(self.fallen_due) or self.posts_count_moved


@dataclass(frozen=True)
class AdjustmentTotal:
    """The adjustments of one asset: what finance must top up (+) and claw back (-)."""

    asset: str
    n: int
    underpaid: Decimal
    overpaid: Decimal


@dataclass(frozen=True)
class CampaignDashboard:
    campaign: Campaign
    at: datetime
    phase: str
    periods: tuple[PeriodDue, ...]
    final_due_at: datetime
    markets: tuple[Tally, ...]
    registrations: tuple[RegistrationRow, ...]
    registrations_total: int
    signup_rows: int
    signup_traders: int
    signup_traders_in_window: int
    enrolment: tuple[Tally, ...]
    enrolled: int
    known_traders: int
    posts_total: int
    posts_by_verdict: tuple[Tally, ...]
    posts_by_moderation: tuple[Tally, ...]
    posts_per_day: tuple[DayPosts, ...]
    latest_run: LatestRun | None
    pool_shares: tuple[tuple[str, tuple[CreatorShare, ...]], ...]
    rewards: tuple[RewardRow, ...]
    reward_totals: tuple[RewardRow, ...]
    approvable: int
    payable_unpaid: int
    open_review_items: int
    review_items: tuple[ReviewItem, ...]
    budgets: tuple[PoolBudget, ...]
    since: SinceSettlement | None
    adjustments: tuple[AdjustmentTotal, ...]
    import_runs: tuple[ImportRun, ...]
    rejected_rows: int
    payout_reports: tuple[PayoutReport, ...]

    @property
    def qualified_posts(self) -> int:
        return next((t.n for t in self.posts_by_verdict if t.code == Post.Verdict.QUALIFIED), 0)


def _phase(campaign: Campaign, at: datetime) -> str:
    if at < campaign.starts_at:
        return "not_started"
    if at < campaign.ends_at:
        return "open"
    if at < campaign.ends_at + campaign.grace:
        return "grace"
    return "closed"


def campaign_days(campaign: Campaign) -> list[date]:
    """The UTC+8 calendar days the window touches, first to last."""
    first = campaign.starts_at.astimezone(DAY_ZONE).date()
    last = (campaign.ends_at - timedelta(microseconds=1)).astimezone(DAY_ZONE).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _registrations():
    markets = list(LeadTraderRegistration.Market)
    counts = Counter(
        {(s, m): n for s, m, n in LeadTraderRegistration.objects.values_list("status", "market").annotate(n=Count("id")).order_by()}
    )
    rows = tuple(
        RegistrationRow(status.value, str(status.label), tuple(counts[(status.value, m.value)] for m in markets),
                        sum(counts[(status.value, m.value)] for m in markets))
        for status in LeadTraderRegistration.Status
    )  # fmt: skip
    totals = tuple(Tally(m.value, str(m.label), sum(counts[(s.value, m.value)] for s in LeadTraderRegistration.Status)) for m in markets)
    return totals, rows, sum(counts.values())


def _posts_per_day(campaign: Campaign) -> tuple[DayPosts, ...]:
    days = campaign_days(campaign)
    start = datetime.combine(days[0], time.min, tzinfo=DAY_ZONE)
    end = datetime.combine(days[-1] + timedelta(days=1), time.min, tzinfo=DAY_ZONE)
    rows = (
        Post.objects.filter(campaign=campaign, created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDate("created_at", tzinfo=DAY_ZONE))
        .values_list("day", "verdict")
        .annotate(n=Count("id"))
        .order_by()
    )
    qualified, other = Counter(), Counter()
    for day, verdict, n in rows:
        (qualified if verdict == Post.Verdict.QUALIFIED else other)[day] += n
    return tuple(DayPosts(day, qualified[day], other[day]) for day in days)


def _money(value) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else ZERO


def _latest_run(campaign: Campaign) -> LatestRun | None:
    run = _latest_finished_run(campaign)
    if run is None:
        return None
    summary = run.summary or {}
    pools = tuple(
        PoolPeriod(code, bool(p.get("due")), _money(p.get("pool")), _money(p.get("allocated")), _money(p.get("unallocated")),
                   int(p.get("creators", 0)), int(p.get("eligible", 0)), len(p.get("capped", [])))
        for code, p in sorted(summary.get("content_pool", {}).items())
    )  # fmt: skip
    board = summary.get("leaderboard")
    leaderboard = None
    if board and "allocated" in board:
        top = board.get("top", [])[:CHART_LEADERS]
        names = dict(Trader.objects.filter(uid__in=[t["uid"] for t in top]).values_list("uid", "nickname"))
        leaderboard = LeaderboardResult(
            due=bool(board.get("due")),
            strategy=board.get("strategy", ""),
            ranked=int(board.get("ranked", 0)),
            paid_places=int(board.get("paid_places", 0)),
            allocated=_money(board.get("allocated")),
            unallocated=_money(board.get("unallocated")),
            top=tuple(LeaderEntry(t["rank"], t["uid"], names.get(t["uid"], ""), Decimal(t["score"])) for t in top),
        )
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


def _pool_shares(campaign: Campaign):
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


def _rewards(campaign: Campaign):
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


def _latest_finished_run(campaign: Campaign) -> SettlementRun | None:
    return SettlementRun.objects.filter(campaign=campaign, finished_at__isnull=False).order_by("-started_at", "-id").first()


def _changed_and_total(queryset, field: str, after: datetime) -> tuple[int, int]:
    counts = queryset.aggregate(changed=Count("pk", filter=Q(**{f"{field}__gt": after})), total=Count("pk"))
    return counts["changed"], counts["total"]


def _fallen_due(campaign: Campaign, run: SettlementRun, at: datetime) -> tuple[str, ...]:
    """The pools the run left as previews that are due at `at`: settling again makes them payable."""
    summary = run.summary or {}
    pools = summary.get("content_pool", {})
    fallen = [p.code for p in campaign.content_periods() if p.code in pools and not pools[p.code].get("due") and p.is_due(at, campaign.grace)]
    window_due = at >= campaign.ends_at + campaign.grace
    if window_due and "due" in summary.get("leaderboard", {}) and not summary["leaderboard"]["due"]:
        fallen.append(Reward.Kind.LEADERBOARD.value)
    if window_due and "due" in summary.get("first_post", {}) and not summary["first_post"]["due"]:
        fallen.append(Reward.Kind.FIRST_POST.value)
    return tuple(fallen)


def _since(campaign: Campaign, run: SettlementRun, at: datetime) -> SinceSettlement:
    # Posts are compared with the run's end: the settlement itself judges posts (stamping
    # `judged_at`) until it finishes, under the campaign lock every later judging waits for, so a
    # stamp after `finished_at` is a verdict or score that moved since. A post that changed and is
    # not judged yet has no stamp. Everything else is compared with the run's start: settlement
    # never writes those rows, and a row written while it ran may not have been read by it.
    posts = Post.objects.filter(campaign=campaign).aggregate(
        total=Count("pk"),
        awaiting=Count("pk", filter=Q(judged_at__isnull=True)),
        changed=Count("pk", filter=Q(judged_at__isnull=True) | Q(judged_at__gt=run.finished_at)),
    )
    started = run.started_at
    # The imports upsert their rows with `updated_at` in the SET list, so a re-imported row counts
    # as changed even when the file says the same again: the count errs on the side of settling.
    tables = (
        ("registrations", _("lead-trader registrations imported or changed (all traders)"), LeadTraderRegistration.objects.all(), "updated_at"),
        ("signups", _("sign-ups imported or changed"), Signup.objects.filter(campaign=campaign), "updated_at"),
        ("stats", _("trading stats snapshots imported or changed (all traders)"), TradingStats.objects.all(), "updated_at"),
        ("moderation", _("moderation decisions"), ModerationDecision.objects.filter(post__campaign=campaign), "decided_at"),
        ("reference_texts", _("reference texts loaded"), ReferenceText.objects.filter(campaign=campaign), "created_at"),
        ("exclusions", _("anti-farming flags decided (exclusions)"), ReviewFlag.objects.filter(campaign=campaign), "decided_at"),
    )
    changes = [Change("posts", _("posts new or changed (verdict or score moved, or awaiting judging)"), posts["changed"], posts["total"])]
    changes += [Change(code, label, *_changed_and_total(queryset, field, started)) for code, label, queryset, field in tables]
    edited = campaign.updated_at if campaign.updated_at > started else None
    changes.append(Change("configuration", _("campaign configuration edited"), int(edited is not None), None))
    counted = (run.summary or {}).get("posts_by_verdict")
    return SinceSettlement(
        run=run,
        changes=tuple(changes),
        posts_awaiting_judging=posts["awaiting"],
        posts_now=posts["total"],
        posts_at_run=sum(counted.values()) if isinstance(counted, dict) else None,
        configuration_edited_at=edited,
        fallen_due=_fallen_due(campaign, run, at),
    )


def since_settlement_get(*, campaign: Campaign, at: datetime | None = None) -> SinceSettlement | None:
    """What changed since the campaign's latest finished settlement (None before the first one).

    A handful of counts, each a changed count beside the current total: posts whose verdict or
    score moved or that await judging, registrations, sign-ups, trading stats, moderation
    decisions, reference texts, anti-farming decisions, an edit of the configuration, a posts
    total other than the one the settlement counted (a post deleted), and the pools that the
    settlement left as previews but are due at `at` (default: now).
    """
    run = _latest_finished_run(campaign)
    return None if run is None else _since(campaign, run, at or timezone.now())


def _adjustments(campaign: Campaign) -> tuple[AdjustmentTotal, ...]:
    # Summed here rather than with SUM(): SQLite adds decimals as floats.
    by_asset: dict[str, tuple[int, Decimal, Decimal]] = {}
    for asset, amount in Adjustment.objects.filter(campaign=campaign).values_list("asset", "amount").order_by():
        n, under, over = by_asset.get(asset, (0, ZERO, ZERO))
        by_asset[asset] = (n + 1, under + max(amount, ZERO), over + min(amount, ZERO))
    return tuple(AdjustmentTotal(asset, *by_asset[asset]) for asset in sorted(by_asset))


def campaign_dashboard_get(campaign: Campaign, *, at: datetime | None = None) -> CampaignDashboard:
    """Everything the ops dashboard shows about `campaign`, read now (or as of `at` for the phase
    and due flags). Registrations are the exchange's, not the campaign's: every registration
    counts towards enrolment in every campaign."""
    at = at or timezone.now()
    markets, registrations, registrations_total = _registrations()
    signups = Signup.objects.filter(campaign=campaign)
    enrolments = enrolment_map(campaign=campaign)
    reasons = Counter(e.reason for e in enrolments.values())
    verdicts = Counter(dict(Post.objects.filter(campaign=campaign).values_list("verdict").annotate(n=Count("*")).order_by()))
    moderation = Counter(dict(Post.objects.filter(campaign=campaign).exclude(moderation="").values_list("moderation").annotate(n=Count("id")).order_by()))
    by_kind, totals = _rewards(campaign)
    latest_run = _latest_run(campaign)
    open_items = ReviewItem.objects.filter(reward__campaign=campaign, status=ReviewItem.Status.OPEN)
    periods = tuple(PeriodDue(p.code, p.starts_at, p.ends_at, p.ends_at + campaign.grace, p.is_due(at, campaign.grace)) for p in campaign.content_periods())
    return CampaignDashboard(
        campaign=campaign,
        at=at,
        phase=_phase(campaign, at),
        periods=periods,
        final_due_at=campaign.ends_at + campaign.grace,
        markets=markets,
        registrations=registrations,
        registrations_total=registrations_total,
        signup_rows=signups.count(),
        signup_traders=signups.values("trader").distinct().count(),
        signup_traders_in_window=signups.filter(submitted_at__gte=campaign.starts_at, submitted_at__lt=campaign.ends_at).values("trader").distinct().count(),
        enrolment=tuple(Tally(code, code, n) for code, n in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))),
        enrolled=sum(1 for e in enrolments.values() if e.enrolled),
        known_traders=len(enrolments),
        posts_total=sum(verdicts.values()),
        posts_by_verdict=tuple(Tally(v.value, str(v.label), verdicts[v.value]) for v in Post.Verdict),
        posts_by_moderation=tuple(Tally(m.value, str(m.label), moderation[m.value]) for m in Post.Moderation if m.value),
        posts_per_day=_posts_per_day(campaign),
        latest_run=latest_run,
        pool_shares=_pool_shares(campaign),
        rewards=by_kind,
        reward_totals=totals,
        approvable=Reward.objects.filter(campaign=campaign, state=Reward.State.CALCULATED, preview=False).count(),
        payable_unpaid=Reward.objects.filter(campaign=campaign, state=Reward.State.APPROVED).count(),
        open_review_items=open_items.count(),
        review_items=tuple(open_items.select_related("reward", "reward__trader").order_by("-created_at", "-id")[:10]),
        budgets=tuple(pool_budgets_get(campaign=campaign)),
        since=None if latest_run is None else _since(campaign, latest_run.run, at),
        adjustments=_adjustments(campaign),
        import_runs=tuple(ImportRun.objects.filter(campaign_link__campaign=campaign).order_by("-started_at", "-id")[:5]),
        rejected_rows=RejectedRecord.objects.filter(run__campaign_link__campaign=campaign).count(),
        payout_reports=tuple(PayoutReport.objects.filter(campaign=campaign).order_by("-created_at", "-id")[:5]),
    )


# --- what a settlement now would do --------------------------------------------------------------

# What a settlement now would do to a ledger key (`rewards.services.settlement.Change`); a change
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

    lines: dict[tuple[str, str], list[PreviewLine]] = defaultdict(list)
    unchanged: Counter = Counter()
    calculated_after: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    payable_after: dict[str, Decimal] = defaultdict(lambda: ZERO)
    ledger_after: dict[str, Decimal] = defaultdict(lambda: ZERO)
    ledger: dict[tuple[str, str, int], Reward] = {}
    for p in sorted(plan, key=lambda p: (p.uid, p.kind, p.period)):
        pool_key, reward, c = (p.kind, p.period), p.reward, p.computed
        if reward is not None:
            ledger[(p.kind, p.period, p.uid)] = reward
        nickname = reward.trader.nickname if reward is not None else nicknames.get(p.uid, "")
        if p.change not in PREVIEW_ACTIONS:
            unchanged[pool_key] += 1
        elif reward is None:
            lines[pool_key].append(PreviewLine(CREATE, p.kind, p.period, p.uid, nickname, c.asset, "", None, c.amount, None, c.preview))
        elif reward.state == Reward.State.CALCULATED:
            amount = c.amount if c is not None else ZERO
            after = p.preview if c is not None else None
            lines[pool_key].append(PreviewLine(p.change, p.kind, p.period, p.uid, nickname, c.asset if c else reward.asset, reward.state, reward.amount, amount,
                                               reward.preview, after, reward.pk))  # fmt: skip
        else:
            item = p.item
            lines[pool_key].append(PreviewLine(p.change, p.kind, p.period, p.uid, nickname, reward.asset, reward.state, p.held, p.amount, None, None, reward.pk,
                                               item and item.pk, item and item.computed_amount))  # fmt: skip
        if reward is None or reward.state == Reward.State.CALCULATED:
            if c is not None:
                calculated_after[pool_key] += c.amount
                ledger_after[c.asset] += c.amount
                payable_after[c.asset] += ZERO if p.preview else c.amount
        elif reward.state != Reward.State.VOID:
            ledger_after[reward.asset] += reward.amount
            payable_after[reward.asset] += reward.amount

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

    ledger_now: dict[str, Decimal] = defaultdict(lambda: ZERO)
    payable_now: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for row in ledger.values():
        if row.state != Reward.State.VOID:
            ledger_now[row.asset] += row.amount
            payable_now[row.asset] += ZERO if row.preview else row.amount
    given_by_asset: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for c in computed:
        given_by_asset[c.asset] += c.amount
    assets = sorted(set(ledger_now) | set(ledger_after) | set(given_by_asset))
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
        pools=tuple(preview_pools),
        totals=tuple(
            PreviewAssetTotal(asset, given_by_asset[asset], ledger_now[asset], ledger_after[asset], payable_now[asset], payable_after[asset]) for asset in assets
        ),
    )


def campaign_dashboard_charts(dashboard: CampaignDashboard) -> dict[str, str]:
    """The dashboard's SVG charts by name: `posts_per_day`, `leaderboard`, and one
    `pool_<period>` per content period with rewards (largest shares first, at most 25 bars)."""
    days = dashboard.posts_per_day
    charts = {
        "posts_per_day": stacked_columns(
            chart_id="chart-posts-per-day",
            title=_("Posts per day (UTC+8)"),
            categories=[d.day.strftime("%m-%d") for d in days],
            series=[
                Series(_("qualified"), QUALIFIED_COLOUR, [d.qualified for d in days]),
                Series(_("not qualified"), OTHER_COLOUR, [d.not_qualified for d in days]),
            ],
            empty_text=_("No posts in the window yet."),
        )
    }
    campaign = dashboard.campaign
    for period, shares in dashboard.pool_shares:
        shown = shares[:CHART_CREATORS]
        title = _("Content pool %(period)s per creator") % {"period": period}
        if len(shares) > len(shown):
            title += " " + _("(largest %(shown)d of %(total)d)") % {"shown": len(shown), "total": len(shares)}
        charts[f"pool_{period}"] = horizontal_bars(
            chart_id=f"chart-pool-{period}",
            title=title,
            bars=[
                Bar(f"{s.uid} {s.nickname}".strip(), s.amount, f"{s.amount} {s.asset}" + (" " + _("(preview)") if s.preview else ""),
                    "#8c959f" if s.preview else "#0969da")
                for s in shown
            ],  # fmt: skip
            reference=Reference(campaign.pool_cap, _("cap %(amount)s") % {"amount": campaign.pool_cap}),
            empty_text=_("No content pool rewards."),
        )
    run = dashboard.latest_run
    top = run.leaderboard.top if run and run.leaderboard else ()
    charts["leaderboard"] = horizontal_bars(
        chart_id="chart-leaderboard",
        title=_("Leaderboard: Top %(n)d scores") % {"n": CHART_LEADERS},
        bars=[Bar(f"#{e.rank} {e.uid} {e.nickname}".strip(), e.score, colour="#8250df") for e in top],
        empty_text=_("No ranked traders in the latest settlement."),
    )
    return charts
