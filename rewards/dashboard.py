"""Reads for the ops dashboard of a campaign: `campaign_dashboard_get` gathers every number the
page shows in one dataclass, and `campaign_dashboard_charts` draws its charts. No writes.

Counts are taken in the database (GROUP BY), except enrolment, which is a rule over each trader's
registration and sign-ups (`campaign.selectors.enrolment_map`, the same reading settlement uses).
Days are UTC+8 calendar days (RULES.md section 7). Money stays `Decimal` from the ledger.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.models import Campaign, Post, Signup
from campaign.selectors import enrolment_map
from rewards.charts import Bar, Reference, Series, horizontal_bars, stacked_columns
from rewards.models import PayoutReport, Reward, ReviewItem, SettlementRun
from traders.models import ImportRun, LeadTraderRegistration, RejectedRecord, Trader

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
    run = SettlementRun.objects.filter(campaign=campaign, finished_at__isnull=False).order_by("-started_at", "-id").first()
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
        latest_run=_latest_run(campaign),
        pool_shares=_pool_shares(campaign),
        rewards=by_kind,
        reward_totals=totals,
        approvable=Reward.objects.filter(campaign=campaign, state=Reward.State.CALCULATED, preview=False).count(),
        payable_unpaid=Reward.objects.filter(campaign=campaign, state=Reward.State.APPROVED).count(),
        open_review_items=open_items.count(),
        review_items=tuple(open_items.select_related("reward", "reward__trader").order_by("-created_at", "-id")[:10]),
        import_runs=tuple(ImportRun.objects.filter(campaign_slug=campaign.slug).order_by("-started_at", "-id")[:5]),
        rejected_rows=RejectedRecord.objects.filter(run__campaign_slug=campaign.slug).count(),
        payout_reports=tuple(PayoutReport.objects.filter(campaign=campaign).order_by("-created_at", "-id")[:5]),
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
