"""Settlement: the rules of RULES.md sections 4 to 6 turned into ledger rows, exactly once.

`settle_campaign` makes every verdict current (`posts_qualify`), computes every reward with the
pure rules (`rewards.services.computation`), and writes the ledger in one transaction under a
per-campaign lock (`rewards.services.settlement_ledger`). Rows still `calculated` are replaced;
approved, paid and void rows never change, and a difference on one of them becomes a ReviewItem.
A reward whose period is not yet due (end + grace > at) is a preview. `settlement_enqueue` queues
one for a worker.
"""

import uuid
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from campaign.models import Campaign
from campaign.page_cache import campaign_pages_changed
from campaign.services import campaign_lock, posts_qualify
from rewards.models import SettlementRun
from rewards.services.computation import rewards_compute, settled_due
from rewards.services.settlement_ledger import ledger_write


def settle_campaign(
    *, campaign: Campaign, at: datetime | None = None, triggered_by: str = "", full_judge: bool = False, task_id: str | None = None
) -> SettlementRun:
    """Settle everything due at `at` (default: now) and preview the rest, into the ledger.

    Verdicts are made current first: only the posts not judged since they changed, while the
    campaign's rules, enrolment data and reference texts are those of the last whole judging;
    every post otherwise, and always with `full_judge` (the scheduled settlements at each
    period's end + grace pass it, so money falls due on verdicts judged whole that moment).

    One transaction; the campaign row is locked first (SELECT ... FOR UPDATE), so two concurrent
    settlements (two workers, beat and a click) run one after the other and give one result.
    Idempotent: settling twice leaves the same ledger (only a second SettlementRun row). Amounts
    are exact to the cent (the rules floor and distribute cents; see rewards.rules.money). Due is
    final: a pool an earlier settlement made due stays due whatever `at` is (`settled_due`).

    `task_id` is the id of the task running it. The run queued under it (`settlement_enqueue`)
    is the one settled, marked running at once and claimed under the lock; without one, a new
    run records the id (the beat's tasks). A delivery of a task whose run is already finished
    settles nothing and returns that run; an attempt that raises marks its queued run failed,
    which a retry of the task may still finish.
    """
    at = at or timezone.now()
    if timezone.is_naive(at):
        raise ValueError("settlement instant must be timezone-aware")
    if task_id:
        # Outside the settlement's transaction, so whoever follows the run sees it start.
        SettlementRun.objects.filter(task_id=task_id, state__in=[SettlementRun.State.QUEUED, SettlementRun.State.FAILED]).update(
            state=SettlementRun.State.RUNNING, started_at=timezone.now()
        )
    try:
        return _settle(campaign, at=at, triggered_by=triggered_by, full_judge=full_judge, task_id=task_id)
    except Exception:
        if task_id:
            SettlementRun.objects.filter(task_id=task_id, finished_at__isnull=True).update(state=SettlementRun.State.FAILED)
        raise


def _settle(campaign: Campaign, *, at: datetime, triggered_by: str, full_judge: bool, task_id: str | None) -> SettlementRun:
    from rewards.budgets import pool_budgets_get

    with transaction.atomic():
        campaign = campaign_lock(campaign)
        already_due = settled_due(campaign)
        run, claimed = _run_claim(campaign, at=at, triggered_by=triggered_by, task_id=task_id)
        if not claimed:
            return run
        posts_qualify(campaign=campaign, full=full_judge)
        computed, summary = rewards_compute(campaign=campaign, at=at, already_due=already_due)
        summary["ledger"] = ledger_write(campaign=campaign, run=run, computed=computed)
        summary["budgets"] = [budget.as_json() for budget in pool_budgets_get(campaign=campaign)]
        run.summary, run.state, run.finished_at = summary, SettlementRun.State.FINISHED, timezone.now()
        run.save(update_fields=["summary", "state", "finished_at"])
        campaign_pages_changed(campaign_id=campaign.pk)
    return run


def _run_claim(campaign: Campaign, *, at: datetime, triggered_by: str, task_id: str | None) -> tuple[SettlementRun, bool]:
    """(the run this settlement writes, whether it is this attempt's to write). Called under the
    campaign lock, which every settlement of the campaign holds until it commits: a run of the
    task still unfinished here is no other worker's (a live one would hold the lock), so it is
    claimed; a finished one was settled by an earlier delivery of the same task."""
    values = {"state": SettlementRun.State.RUNNING, "at": at, "started_at": timezone.now(), "config": campaign.rules_config()}
    if task_id:
        mine = SettlementRun.objects.filter(campaign=campaign, task_id=task_id)
        claimed = mine.exclude(state=SettlementRun.State.FINISHED).update(**values)
        run = mine.first()
        if run is not None:
            return run, claimed == 1
    return SettlementRun.objects.create(campaign=campaign, task_id=task_id or None, triggered_by=triggered_by, **values), True


def settlement_enqueue(*, campaign: Campaign, at: datetime | None = None, by: str, full_judge: bool = False) -> SettlementRun:
    """Queue a settlement of `campaign` as of `at` (default: whenever it runs), asked for by `by`:
    the one way every door (the dashboard, the what-if apply, the API) settles in the background.

    Writes the run at once, queued, under a new task id, and sends `settle_campaign_task` with
    that id once the caller's transaction commits, so a worker never looks for rows that are not
    committed, and a rolled-back request leaves neither a run nor a task. The worker settles that
    very run (`settle_campaign` with the task id), so the caller can follow it by its `task_id`.
    """
    from rewards.tasks import settle_campaign_task

    if at is not None and timezone.is_naive(at):
        raise ValueError("settlement instant must be timezone-aware")
    task_id = str(uuid.uuid4())
    run = SettlementRun.objects.create(
        campaign=campaign, at=at or timezone.now(), state=SettlementRun.State.QUEUED, task_id=task_id, triggered_by=by[:150]
    )
    args = [campaign.pk, at.isoformat() if at is not None else None]
    kwargs = {"triggered_by": run.triggered_by, "full_judge": full_judge}
    transaction.on_commit(lambda: settle_campaign_task.apply_async(args=args, kwargs=kwargs, task_id=task_id))
    return run
