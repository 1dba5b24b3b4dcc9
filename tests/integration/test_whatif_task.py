"""What-if runs on a real Celery worker over the real Redis broker (never eager): progress seen
while a preview runs, a failing run's error, a re-delivered task that computes nothing again, a
restarted run computed once by its new attempt, and an apply that queues its settlement.

To see a preview half-way without timing anything, a second connection holds an ACCESS EXCLUSIVE
lock on the settlement runs table: the preview judges every post, reports it, then waits on its
first read of that table (`settled_due`) until the test lets it go (PostgreSQL).
"""

import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.db import connection, transaction
from django.utils import timezone

from campaign.models import Campaign, Post
from rewards.models import Reward, SettlementRun, WhatIfRun
from rewards.services.whatif.preview import whatif_preview
from rewards.services.whatif.results import whatif_preview_load
from rewards.services.whatif.runs import whatif_apply_start, whatif_preview_start, whatif_run_restart
from rewards.tasks import whatif_run_task
from tests.rewards.scenario import scenario_load

pytestmark = [pytest.mark.redis]
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
WAIT = 60  # seconds: how long a wait for the worker may last before the test gives up


@pytest.fixture
def loaded(campaign):
    scenario_load(campaign)
    return campaign


@pytest.fixture
def ops(transactional_db):
    user = User.objects.create_user("ops", password="pw-ops-123456", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_campaign", "change_campaign", "view_settlementrun", "add_settlementrun"]))
    return User.objects.get(pk=user.pk)


def wait_for(condition, what):
    """Poll `condition` until it returns something true; fail naming `what` after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def fresh(run):
    return WhatIfRun.objects.get(pk=run.pk)


@contextmanager
def settlement_runs_locked():
    """Hold ACCESS EXCLUSIVE on rewards_settlementrun from another connection until the block ends."""
    locked, release, errors = threading.Event(), threading.Event(), []

    def hold():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("LOCK TABLE rewards_settlementrun IN ACCESS EXCLUSIVE MODE")
                locked.set()
                release.wait(WAIT)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            locked.set()
        finally:
            connection.close()

    thread = threading.Thread(target=hold, name="lock-holder")
    thread.start()
    locked.wait(WAIT)
    try:
        assert errors == []
        yield
    finally:
        release.set()
        thread.join(WAIT)


def cap_gains(preview):
    return [(r.uid, r.difference) for r in preview.gainers]


@pytest.mark.postgres
def test_a_preview_runs_on_the_worker_and_its_progress_shows_while_it_runs(celery_worker, loaded, ops):
    posts = Post.objects.filter(campaign=loaded).count()
    with settlement_runs_locked():
        run = whatif_preview_start(campaign=loaded, changes={"pool_cap": Decimal("300")}, at=DUE, user=ops)
        assert (run.state, run.done, run.total) == ("queued", 0, None)
        # Every post judged under both configurations, then blocked before the two settlements.
        midway = wait_for(lambda: (r := fresh(run)).done == 2 * posts and r, "the posts to be judged")
        assert (midway.state, midway.total) == ("running", 2 * posts + 2) and 0 < midway.done < midway.total
    done = wait_for(lambda: (r := fresh(run)).state == "finished" and r, "the preview to finish")
    assert done.done == done.total == 2 * posts + 2 and done.attempts == 1 and done.error == ""
    assert cap_gains(whatif_preview_load(run=done)) == [(1002, Decimal("160.87")), (1001, Decimal("139.13"))]
    assert cap_gains(whatif_preview_load(run=done)) == cap_gains(whatif_preview(campaign=loaded, changes={"pool_cap": "300"}, at=DUE))
    assert not Reward.objects.exists() and not SettlementRun.objects.exists()


def test_a_redelivered_task_does_not_compute_a_finished_run_again(celery_worker, loaded, ops):
    run = whatif_preview_start(campaign=loaded, changes={"pool_cap": Decimal("300")}, at=DUE, user=ops)
    first = wait_for(lambda: (r := fresh(run)).state == "finished" and r, "the preview to finish")
    assert whatif_run_task.delay(run.pk).get(timeout=WAIT) == {"run": run.pk, "skipped": "finished"}
    again = fresh(run)
    assert (again.result, again.finished_at, again.heartbeat_at, again.attempts) == (first.result, first.finished_at, first.heartbeat_at, 1)


def test_a_failing_run_records_its_error(celery_worker, loaded, ops):
    run = WhatIfRun.objects.create(campaign=loaded, kind="preview", changes={"duplicate_threshold": "0.5", "pool_cap": "300"}, at=DUE, created_by=ops)
    outcome = whatif_run_task.delay(run.pk).get(timeout=WAIT)
    failed = fresh(run)
    assert outcome["state"] == "failed" and failed.state == "failed" and failed.finished_at is not None
    assert failed.error == "Near-duplicate Jaccard threshold: Ensure this value is greater than or equal to 0.8." == outcome["error"]


@pytest.mark.postgres
def test_a_run_restarted_while_its_worker_hangs_is_computed_once_by_the_new_attempt(celery_worker, loaded, ops, settings):
    posts = Post.objects.filter(campaign=loaded).count()
    run = WhatIfRun.objects.create(campaign=loaded, kind="preview", changes={"pool_cap": "300"}, at=DUE, created_by=ops)
    with settlement_runs_locked():
        first = whatif_run_task.delay(run.pk)
        wait_for(lambda: fresh(run).done == 2 * posts, "the first attempt to judge the posts")
        # Its worker looks dead (silent longer than a task may live): ops run it again.
        WhatIfRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 1))
        assert whatif_run_restart(run=run, user=ops).state == "queued"
    # The first attempt wakes up, finds the run no longer its own, and stops without writing;
    # the restart's message, queued behind it on this one-process worker, computes it.
    assert first.get(timeout=WAIT) == {"run": run.pk, "skipped": "superseded"}
    done = wait_for(lambda: (r := fresh(run)).state == "finished" and r, "the second attempt to finish")
    assert (done.attempts, done.done, done.total) == (2, 2 * posts + 2, 2 * posts + 2)
    assert cap_gains(whatif_preview_load(run=done)) == [(1002, Decimal("160.87")), (1001, Decimal("139.13"))]


def test_an_apply_runs_on_the_worker_once_and_its_settlement_follows(celery_worker, loaded, ops):
    preview = whatif_preview_start(campaign=loaded, changes={"pool_cap": Decimal("300")}, at=DUE, user=ops)
    preview = wait_for(lambda: (r := fresh(preview)).state == "finished" and r, "the preview to finish")
    applying = whatif_apply_start(preview_run=preview, note="raise the cap", user=ops)
    applied = wait_for(lambda: (r := fresh(applying)).state == "finished" and r, "the apply to finish")
    assert applied.result["changes"] == [{"field": "pool_cap", "current": "100.00", "proposed": "300.00"}]
    settlement = wait_for(lambda: SettlementRun.objects.filter(finished_at__isnull=False).first(), "the settlement it queued")
    assert settlement.triggered_by == "admin what-if: ops" and settlement.at == DUE
    assert dict(Reward.objects.filter(kind="content_pool").values_list("trader__uid", "amount")) == {1001: Decimal("239.13"), 1002: Decimal("260.87")}
    assert whatif_run_task.delay(applying.pk).get(timeout=WAIT) == {"run": applying.pk, "skipped": "finished"}
    assert LogEntry.objects.count() == 1 and Campaign.objects.get(pk=loaded.pk).pool_cap == Decimal("300.00")
