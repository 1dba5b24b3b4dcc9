"""The dashboard page of a campaign: `campaign_dashboard_get` gathers every number the page shows
in one dataclass. The campaign's progress is read here (phase, periods and their due dates,
registrations, sign-ups, enrolment, posts per verdict and per UTC+8 day), with the lists of work
(review items, imports, payout reports); the money panels come from `rewards.dashboard.ledger`,
what changed since the latest settlement from `rewards.dashboard.since`, and the pool budgets from
`rewards.budgets`. No writes.

Counts are taken in the database (GROUP BY), except enrolment, which is a rule over each trader's
registration and sign-ups (`campaign.selectors.enrolment_map`, the same reading settlement uses).
Days are UTC+8 calendar days (RULES.md section 7).
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from campaign.models import Campaign, Post, Signup
from campaign.selectors import enrolment_map
from core.models import ImportRun, RejectedRecord
from core.screen_time import SCREEN_ZONE
from rewards.budgets import pool_budgets_get
from rewards.dashboard.ledger import (
    AdjustmentTotal,
    CreatorShare,
    LatestRun,
    RewardRow,
    adjustment_totals_get,
    latest_run_get,
    pool_shares_get,
    reward_rows_get,
)
from rewards.dashboard.since import SinceSettlement, since_run_get
from rewards.models import PayoutReport, ReviewItem, Reward
from rewards.rules.budget import PoolBudget
from traders.models import LeadTraderRegistration


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
    first = campaign.starts_at.astimezone(SCREEN_ZONE).date()
    last = (campaign.ends_at - timedelta(microseconds=1)).astimezone(SCREEN_ZONE).date()
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


def _traders(campaign: Campaign) -> dict:
    """The traders panel: registrations by status and market, sign-ups, and enrolment by reason."""
    markets, registrations, registrations_total = _registrations()
    signups = Signup.objects.filter(campaign=campaign)
    enrolments = enrolment_map(campaign=campaign)
    reasons = Counter(e.reason for e in enrolments.values())
    return {
        "markets": markets,
        "registrations": registrations,
        "registrations_total": registrations_total,
        "signup_rows": signups.count(),
        "signup_traders": signups.values("trader").distinct().count(),
        "signup_traders_in_window": signups.filter(submitted_at__gte=campaign.starts_at, submitted_at__lt=campaign.ends_at).values("trader").distinct().count(),
        "enrolment": tuple(Tally(code, code, n) for code, n in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))),
        "enrolled": sum(1 for e in enrolments.values() if e.enrolled),
        "known_traders": len(enrolments),
    }


def _posts_per_day(campaign: Campaign) -> tuple[DayPosts, ...]:
    days = campaign_days(campaign)
    start = datetime.combine(days[0], time.min, tzinfo=SCREEN_ZONE)
    end = datetime.combine(days[-1] + timedelta(days=1), time.min, tzinfo=SCREEN_ZONE)
    rows = (
        Post.objects.filter(campaign=campaign, created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDate("created_at", tzinfo=SCREEN_ZONE))
        .values_list("day", "verdict")
        .annotate(n=Count("id"))
        .order_by()
    )
    qualified, other = Counter(), Counter()
    for day, verdict, n in rows:
        (qualified if verdict == Post.Verdict.QUALIFIED else other)[day] += n
    return tuple(DayPosts(day, qualified[day], other[day]) for day in days)


def _posts(campaign: Campaign) -> dict:
    """The posts panel: by verdict, by moderation decision, and per UTC+8 day of the window."""
    verdicts = Counter(dict(Post.objects.filter(campaign=campaign).values_list("verdict").annotate(n=Count("*")).order_by()))
    moderation = Counter(dict(Post.objects.filter(campaign=campaign).exclude(moderation="").values_list("moderation").annotate(n=Count("id")).order_by()))
    return {
        "posts_total": sum(verdicts.values()),
        "posts_by_verdict": tuple(Tally(v.value, str(v.label), verdicts[v.value]) for v in Post.Verdict),
        "posts_by_moderation": tuple(Tally(m.value, str(m.label), moderation[m.value]) for m in Post.Moderation if m.value),
        "posts_per_day": _posts_per_day(campaign),
    }


def _ledger(campaign: Campaign) -> dict:
    """The ledger panels: the rewards table, what awaits approval or payment, the open review
    items (the latest ten), the pool budgets and the adjustments."""
    by_kind, totals = reward_rows_get(campaign=campaign)
    open_items = ReviewItem.objects.filter(reward__campaign=campaign, status=ReviewItem.Status.OPEN)
    return {
        "pool_shares": pool_shares_get(campaign=campaign),
        "rewards": by_kind,
        "reward_totals": totals,
        "approvable": Reward.objects.filter(campaign=campaign, state=Reward.State.CALCULATED, preview=False).count(),
        "payable_unpaid": Reward.objects.filter(campaign=campaign, state=Reward.State.APPROVED).count(),
        "open_review_items": open_items.count(),
        "review_items": tuple(open_items.select_related("reward", "reward__trader").order_by("-created_at", "-id")[:10]),
        "budgets": tuple(pool_budgets_get(campaign=campaign)),
        "adjustments": adjustment_totals_get(campaign=campaign),
    }


def _files(campaign: Campaign) -> dict:
    """The files panel: the latest five imports, their rejected rows, and the latest five payout reports."""
    return {
        "import_runs": tuple(ImportRun.objects.filter(campaign_link__campaign=campaign).order_by("-started_at", "-id")[:5]),
        "rejected_rows": RejectedRecord.objects.filter(run__campaign_link__campaign=campaign).count(),
        "payout_reports": tuple(PayoutReport.objects.filter(campaign=campaign).order_by("-created_at", "-id")[:5]),
    }


def campaign_dashboard_get(campaign: Campaign, *, at: datetime | None = None) -> CampaignDashboard:
    """Everything the ops dashboard shows about `campaign`, read now (or as of `at` for the phase
    and due flags). Registrations are the exchange's, not the campaign's: every registration
    counts towards enrolment in every campaign."""
    at = at or timezone.now()
    latest_run = latest_run_get(campaign=campaign)
    periods = tuple(PeriodDue(p.code, p.starts_at, p.ends_at, p.ends_at + campaign.grace, p.is_due(at, campaign.grace)) for p in campaign.content_periods())
    return CampaignDashboard(
        campaign=campaign,
        at=at,
        phase=_phase(campaign, at),
        periods=periods,
        final_due_at=campaign.ends_at + campaign.grace,
        **_traders(campaign),
        **_posts(campaign),
        latest_run=latest_run,
        **_ledger(campaign),
        since=None if latest_run is None else since_run_get(campaign=campaign, run=latest_run.run, at=at),
        **_files(campaign),
    )
