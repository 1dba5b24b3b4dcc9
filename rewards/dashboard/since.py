"""What changed since a campaign's latest finished settlement: the dashboard's warning that settling
again may change the ledger. `since_settlement_get` counts, per input the ledger depends on, the
rows changed since the run beside the rows there are now, and lists the pools the run left as
previews that have fallen due since. Counts are taken in the database. No writes.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.models import Campaign, ModerationDecision, Post, ReferenceText, Signup
from rewards.dashboard.ledger import latest_finished_run
from rewards.models import ReviewFlag, Reward, SettlementRun
from traders.models import LeadTraderRegistration, TradingStats


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


def since_run_get(*, campaign: Campaign, run: SettlementRun, at: datetime) -> SinceSettlement:
    """What changed since `run` (see `since_settlement_get`)."""
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
    run = latest_finished_run(campaign=campaign)
    return None if run is None else since_run_get(campaign=campaign, run=run, at=at or timezone.now())
