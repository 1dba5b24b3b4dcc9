"""What-if runs in the background: at a million posts a preview or an apply takes minutes, so the
admin validates in the request, queues a `WhatIfRun`, and `whatif_run_task` computes it with
`whatif_preview` or `whatif_apply`, writing its progress and outcome on the row for the run's page
to show.

A run is claimed, restarted and finished by conditional updates, so a task delivered twice, a
restart and a worker that died all leave one attempt owning the run and one outcome on it.
"""

import logging
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from campaign.models import Campaign, Post
from rewards.exceptions import RewardError
from rewards.models import SettlementRun, WhatIfRun
from rewards.services.whatif.apply import apply_permissions_check, whatif_apply
from rewards.services.whatif.changes import campaign_with_changes, config_fingerprint
from rewards.services.whatif.preview import whatif_preview
from rewards.services.whatif.results import json_value, whatif_applied_result, whatif_preview_result

logger = logging.getLogger(__name__)

PREVIEW_MAX_AGE = timedelta(hours=1)  # a preview older than this is made again before it is applied


class RunSuperseded(Exception):
    """Another attempt owns the run now (it was restarted or claimed again): this one stops."""


def _stale_before(now: datetime) -> datetime:
    # No execution of a task outlives the hard time limit, so a run silent for that long has lost its worker.
    return now - timedelta(seconds=getattr(settings, "CELERY_TASK_TIME_LIMIT", None) or 20 * 60)


def _claimable(now: datetime) -> Q:
    return Q(state=WhatIfRun.State.QUEUED) | Q(state=WhatIfRun.State.RUNNING, heartbeat_at__lt=_stale_before(now))


def _restartable(now: datetime) -> Q:
    return Q(state=WhatIfRun.State.FAILED) | Q(state__in=[WhatIfRun.State.QUEUED, WhatIfRun.State.RUNNING], heartbeat_at__lt=_stale_before(now))


def _enqueue(run: WhatIfRun) -> None:
    from rewards.tasks import whatif_run_task

    transaction.on_commit(lambda: whatif_run_task.delay(run.pk))


def whatif_preview_start(*, campaign: Campaign, changes: dict, at: datetime, user) -> WhatIfRun:
    """Queue the what-if preview of `changes` as of `at`; `whatif_run_task` computes it after commit.

    Validates first, in the caller's request, as `whatif_preview` will: a bad change raises
    `ValidationError` keyed by field (`campaign_with_changes`) and queues nothing. Writes one
    queued run; the changes are kept as JSON (decimals as strings), which the preview reads back
    to the same values.
    """
    if timezone.is_naive(at):
        raise ValueError("the preview instant must be timezone-aware")
    campaign_with_changes(campaign=Campaign.objects.get(pk=campaign.pk), changes=changes)
    run = WhatIfRun.objects.create(
        campaign=campaign, kind=WhatIfRun.Kind.PREVIEW, changes={name: json_value(value) for name, value in changes.items()}, at=at, created_by=user if user.pk else None
    )
    _enqueue(run)
    return run


def whatif_apply_start(*, preview_run: WhatIfRun, note: str, user) -> WhatIfRun:
    """Queue the apply of a finished preview (`whatif_apply`, run by `whatif_run_task` after commit).

    Refuses in the request what can be known now: a user without `APPLY_PERMISSIONS`
    (`PermissionDenied`); a run that is not a finished preview, or finished more than
    `PREVIEW_MAX_AGE` ago (`ValidationError`); an empty note, a preview that changes nothing, one
    already being applied, or a configuration changed since the preview (`RewardError`).
    `whatif_apply` checks the configuration again under the campaign lock when the run executes.
    """
    apply_permissions_check(user)
    if preview_run.kind != WhatIfRun.Kind.PREVIEW or preview_run.state != WhatIfRun.State.FINISHED:
        raise ValidationError(_("Only a finished preview can be applied."))
    if preview_run.finished_at < timezone.now() - PREVIEW_MAX_AGE:
        raise ValidationError(_("This preview is more than an hour old; preview again."))
    note = (note or "").strip()
    if not note:
        raise RewardError(_("A note is required to apply a what-if configuration."))
    if not preview_run.result.get("changes"):
        raise RewardError(_("Nothing to apply: the proposed configuration is the current one."))
    busy = preview_run.applies.exclude(state=WhatIfRun.State.FAILED).first()
    if busy is not None:
        raise RewardError(_("This preview is already applied or being applied (run #%(run)s).") % {"run": busy.pk})
    if config_fingerprint(Campaign.objects.get(pk=preview_run.campaign_id)) != preview_run.fingerprint:
        raise RewardError(_("The campaign configuration changed since this preview; preview again before applying."))
    run = WhatIfRun.objects.create(
        campaign_id=preview_run.campaign_id,
        kind=WhatIfRun.Kind.APPLY,
        preview=preview_run,
        changes=preview_run.changes,
        at=preview_run.at,
        fingerprint=preview_run.fingerprint,
        note=note,
        created_by=user,
    )
    _enqueue(run)
    return run


def whatif_run_restartable(*, run: WhatIfRun, now: datetime | None = None) -> bool:
    """Whether `whatif_run_restart` would take the run: failed, or silent longer than a task may live."""
    return WhatIfRun.objects.filter(_restartable(now or timezone.now()), pk=run.pk).exists()


def whatif_run_restart(*, run: WhatIfRun, user) -> WhatIfRun:
    """Queue a failed run again, or one whose worker died (silent longer than a task may live).

    An apply needs `APPLY_PERMISSIONS` (`PermissionDenied`) and runs again as its author asked it.
    A conditional update takes the run back to queued, so a finished or live run is refused
    (`RewardError`) and two restarts at once queue it once; an old attempt that wakes up finds
    the run no longer its own and stops without writing.
    """
    if run.kind == WhatIfRun.Kind.APPLY:
        apply_permissions_check(user)
    now = timezone.now()
    restarted = WhatIfRun.objects.filter(_restartable(now), pk=run.pk).update(
        state=WhatIfRun.State.QUEUED, done=0, total=None, error="", result={}, started_at=None, finished_at=None, heartbeat_at=now
    )
    if restarted != 1:
        raise RewardError(_("This run is finished or still running; there is nothing to restart."))
    _enqueue(run)
    run.refresh_from_db()
    return run


def whatif_run_execute(*, run_id: int) -> dict:
    """Compute a queued run (the body of `whatif_run_task`) and record its outcome on the row.

    Idempotent and safe to deliver twice: the run is claimed by a conditional update (queued, or
    running but silent longer than a task may live -> running, `attempts` + 1), so a finished or
    failed run is never computed again and a live one is left to its worker. Progress and the
    outcome are written only while the attempt still owns the run. A preview calls
    `whatif_preview` (reads only); an apply calls `whatif_apply` and marks the run finished in the
    same transaction, so the configuration is applied exactly once per run. A refused change, a
    stale configuration or a missing permission fails the run with the reason; so does any other
    error, logged; a database error puts the run back in the queue and is raised for a retry.
    """
    now = timezone.now()
    claimed = WhatIfRun.objects.filter(_claimable(now), pk=run_id).update(
        state=WhatIfRun.State.RUNNING, attempts=F("attempts") + 1, started_at=now, heartbeat_at=now, done=0, total=None, error=""
    )
    run = WhatIfRun.objects.select_related("campaign", "created_by").filter(pk=run_id).first()
    if run is None:
        return {"skipped": "run is gone"}
    if claimed != 1:
        return {"run": run.pk, "skipped": run.state}
    mine = WhatIfRun.objects.filter(pk=run.pk, attempts=run.attempts, state=WhatIfRun.State.RUNNING)

    def progress(done: int, total: int) -> None:
        if mine.update(done=done, total=total, heartbeat_at=timezone.now()) != 1:
            raise RunSuperseded

    try:
        if run.kind == WhatIfRun.Kind.PREVIEW:
            preview = whatif_preview(campaign=run.campaign, changes=run.changes, at=run.at, progress=progress)
            _finish(mine, result=whatif_preview_result(preview), fingerprint=preview.fingerprint)
        else:
            _apply(run, mine, progress)
    except RunSuperseded:
        return {"run": run.pk, "skipped": "superseded"}
    except OperationalError:
        mine.update(state=WhatIfRun.State.QUEUED)
        raise
    except (ValidationError, RewardError, PermissionDenied) as exc:
        return _fail(run, mine, _refusal(exc))
    except SoftTimeLimitExceeded:
        return _fail(run, mine, _("Stopped: it took longer than the task time limit (%(seconds)s s).") % {"seconds": settings.CELERY_TASK_SOFT_TIME_LIMIT})
    except Exception as exc:
        logger.exception("what-if run %s failed", run.pk)
        return _fail(run, mine, _("Stopped by an unexpected error: %(error)s") % {"error": f"{type(exc).__name__}: {exc}"})
    return {"run": run.pk, "state": WhatIfRun.State.FINISHED.value}


def _apply(run: WhatIfRun, mine, progress) -> None:
    if run.created_by is None:
        raise RewardError(_("The user who asked for this apply no longer exists."))
    # Judging every post again happens inside the apply's transaction: the count is the work.
    progress(0, Post.objects.filter(campaign_id=run.campaign_id).count())
    with transaction.atomic():
        applied = whatif_apply(
            campaign=run.campaign, changes=run.changes, note=run.note, user=run.created_by, expected_fingerprint=run.fingerprint, at=run.at
        )
        _finish(mine, result=whatif_applied_result(applied))  # RunSuperseded here rolls the apply back


def _finish(mine, **values) -> None:
    now = timezone.now()
    if mine.update(state=WhatIfRun.State.FINISHED, done=F("total"), finished_at=now, heartbeat_at=now, **values) != 1:
        raise RunSuperseded


def _fail(run: WhatIfRun, mine, message: str) -> dict:
    now = timezone.now()
    mine.update(state=WhatIfRun.State.FAILED, error=message, finished_at=now, heartbeat_at=now)
    return {"run": run.pk, "state": WhatIfRun.State.FAILED.value, "error": message}


def _field_label(name: str) -> str:
    try:
        return capfirst(str(Campaign._meta.get_field(name).verbose_name))
    except FieldDoesNotExist:  # NON_FIELD_ERRORS, or a field a what-if may not change
        return name


def _refusal(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        return "; ".join(f"{_field_label(name)}: {' '.join(messages)}" for name, messages in exc.message_dict.items())
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc)


def whatif_apply_settlement(*, run: WhatIfRun) -> SettlementRun | None:
    """The settlement a finished apply queued: the run it recorded. An apply recorded before runs
    were queued at once names none: then the campaign's first run as of the apply's instant,
    triggered by it, that started after the apply committed."""
    if run.kind != WhatIfRun.Kind.APPLY or run.state != WhatIfRun.State.FINISHED:
        return None
    if run.result.get("settlement_run"):
        return SettlementRun.objects.filter(pk=run.result["settlement_run"]).first()
    return (
        SettlementRun.objects.filter(
            campaign_id=run.campaign_id, at=datetime.fromisoformat(run.result["settle_at"]), triggered_by=run.result["triggered_by"], started_at__gte=run.finished_at
        )
        .order_by("started_at", "id")
        .first()
    )


def whatif_runs_list(*, campaign: Campaign, limit: int = 10):
    """The campaign's latest what-if runs, newest first."""
    return WhatIfRun.objects.filter(campaign=campaign).select_related("created_by").order_by("-created_at", "-id")[:limit]
