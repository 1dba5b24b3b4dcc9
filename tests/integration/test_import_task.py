"""The admin's file imports on real Celery workers, real Redis and real PostgreSQL (never eager):
the task imports a queued run; delivered again, a finished run is not imported twice; a worker
killed in the middle leaves a run that shows what it committed, which ops start again from its
page and which then completes."""

import signal
import uuid
from datetime import timedelta

import psycopg
import pytest
from celery.contrib.testing.worker import start_worker as start_worker_thread
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from campaign.models import Signup
from campaign.services import campaign_import_queue, campaign_import_run_create
from campaign.tasks import campaign_import_file
from config.celery import app
from core.models import ImportRun, RejectedRecord
from tests.reliability.workers import VISIBILITY, database_url, start_worker, wait_for
from traders.models import Trader

pytestmark = [pytest.mark.redis]
REG_HEADER = b"uid,nickname,market,status,applied_at,approved_at\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_a_queued_upload_is_imported_by_the_worker_and_not_twice_when_delivered_again(celery_worker, campaign):
    data = b"uid,submitted_at,square_handle,contact\n42,2026-02-13T10:00:00Z,h,\nbad,2026-02-13T10:00:00Z,h,\n"
    run = campaign_import_queue(campaign=campaign, kind="signups", upload=SimpleUploadedFile("signups.csv", data), created_by="ops")
    wait_for(lambda: ImportRun.objects.get(pk=run.pk).finished_at is not None, 30, "the worker to import the file")
    run.refresh_from_db()
    assert (run.state, run.total, run.accepted, run.rejected, run.expected_lines, run.last_line) == ("finished", 2, 1, 1, 3, 3)
    assert Signup.objects.get().trader.uid == 42
    again = campaign_import_file.delay(run.pk).get(timeout=30)
    assert again == {"run": run.pk, "skipped": "the run is finished"}
    assert RejectedRecord.objects.filter(run=run).count() == 1 and Signup.objects.count() == 1


def test_a_task_for_a_run_that_is_gone_returns_quietly(celery_worker):
    assert campaign_import_file.delay(999999).get(timeout=30) == {"run": 999999, "skipped": "the run is gone"}


@pytest.mark.postgres
def test_a_worker_killed_mid_import_leaves_its_counts_and_ops_start_the_run_again_to_completion(transactional_db, campaign, client, tmp_path):
    path = tmp_path / "registrations.csv"
    path.write_bytes(REG_HEADER + b"".join(b"%d,n%d,futures,approved,2026-02-01T10:00:00Z,\n" % (uid, uid) for uid in range(1, 5001)))
    Trader.objects.create(uid=3000)  # its row is locked below, in the second chunk of 2,000
    run = campaign_import_run_create(
        campaign=campaign, kind="registrations", source=ImportRun.Source.ADMIN, filename=path.name,
        status=ImportRun.Status.QUEUED, file_path=str(path), expected_lines=5001,
    )  # fmt: skip
    queue = f"import-kill-{uuid.uuid4().hex[:8]}"
    log = open(tmp_path / "workers.log", "w")
    dsn = database_url().replace("postgres://", "postgresql://")
    with psycopg.connect(dsn) as blocker:
        blocker.execute("SELECT id FROM traders_trader WHERE uid = 3000 FOR UPDATE")
        first = start_worker(queue, log)
        try:
            campaign_import_file.apply_async(args=[run.pk], queue=queue)
            wait_for(lambda: ImportRun.objects.get(pk=run.pk).total == 2000, 60, "the first chunk to commit")
            with psycopg.connect(dsn, autocommit=True) as watcher:
                wait_for(
                    lambda: watcher.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE %s",
                        ['INSERT INTO "traders_trader"%'],
                    ).fetchone()[0] == 1,
                    60,
                    "the worker to block inside the second chunk",
                )
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        finally:
            if first.poll() is None:
                first.kill()
        blocker.rollback()

    run.refresh_from_db()
    # What the killed worker committed is there, and the run says so.
    assert (run.total, run.accepted, run.rejected, run.last_line, run.finished_at) == (2000, 2000, 0, 2001, None)
    assert Trader.objects.count() == 2001  # uids 1 to 2000, and 3000
    assert run.state == "running"  # until its lease runs out
    ImportRun.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=1))  # ten minutes later
    assert ImportRun.objects.get(pk=run.pk).state == "interrupted"

    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456"))
    url = f"/admin/core/importrun/{run.pk}/change/"
    assert 'id="import-run-restart"' in client.get(url).content.decode()
    app.conf.task_always_eager = False
    try:
        with start_worker_thread(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            assert client.post(f"/admin/core/importrun/{run.pk}/restart/").status_code == 302
            wait_for(lambda: ImportRun.objects.get(pk=run.pk).finished_at is not None, 60, "the run started again to complete")
    finally:
        app.conf.task_always_eager = app.conf.get("CELERY_TASK_ALWAYS_EAGER", app.conf.task_always_eager)
    run.refresh_from_db()
    assert (run.state, run.total, run.accepted, run.rejected, run.last_line) == ("finished", 5000, 5000, 0, 5001)
    assert Trader.objects.count() == 5000 and not RejectedRecord.objects.exists()
    assert "5,000 records, 5,000 imported, 0 rejected" in client.get(url).content.decode()

    # The killed worker's message comes back to its queue: delivered again, it finds the run done.
    second = start_worker(queue, log)
    try:
        wait_for(lambda: "'the run is finished'" in (tmp_path / "workers.log").read_text(), 30 + VISIBILITY, "the message delivered again")
    finally:
        second.terminate()
        second.wait(timeout=30)
        log.close()
    run.refresh_from_db()
    assert (run.total, run.accepted) == (5000, 5000) and Trader.objects.count() == 5000
