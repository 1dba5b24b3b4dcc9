"""A Celery worker killed with SIGKILL in the middle of a settlement: the ledger stays as it was,
and the re-delivered task completes it on the next worker. Real worker processes, real Redis,
real PostgreSQL."""

import signal
import time
import uuid
from datetime import datetime

import psycopg
import pytest
from django.db import connection

from campaign.services import posts_import_file, signups_import
from rewards.invariants import ledger_violations
from rewards.models import Reward, SettlementRun
from rewards.tasks import settle_campaign_task
from tests.reliability.workers import VISIBILITY, database_url, start_worker, wait_for
from tests.rewards.scenario import REGISTRATIONS, SIGNUPS, STATS, posts_jsonl
from traders.services import registrations_import, trader_stats_import

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")


def test_a_worker_killed_mid_settlement_leaves_the_ledger_intact_and_the_retry_completes_it(transactional_db, campaign, tmp_path):
    registrations_import(data=REGISTRATIONS.encode())
    signups_import(campaign=campaign, data=SIGNUPS.encode())
    trader_stats_import(data=STATS.encode())
    posts_import_file(campaign=campaign, data=posts_jsonl().encode())
    queue = f"kill-{uuid.uuid4().hex[:8]}"
    log = open(tmp_path / "workers.log", "w")
    dsn = database_url().replace("postgres://", "postgresql://")
    with psycopg.connect(dsn) as blocker:
        # Hold the campaign's row lock so the worker stops inside its settlement transaction.
        blocker.execute("SELECT id FROM campaign_campaign WHERE id = %s FOR UPDATE", [campaign.pk])
        first = start_worker(queue, log)
        try:
            settle_campaign_task.apply_async(args=[campaign.pk], kwargs={"at": DUE.isoformat(), "triggered_by": "kill-test"}, queue=queue)
            with psycopg.connect(dsn, autocommit=True) as watcher:
                wait_for(
                    lambda: watcher.execute(
                        # pg_stat_activity cuts long queries, so match the start of the campaign row lock.
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE %s",
                        ['SELECT "campaign_campaign"."id"%'],
                    ).fetchone()[0] == 1,
                    60,
                    lambda: "the worker to block inside the settlement: "
                    + repr(watcher.execute("SELECT datname, state, wait_event_type, left(query, 120) FROM pg_stat_activity WHERE backend_type = 'client backend'").fetchall()),
                )
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        finally:
            if first.poll() is None:
                first.kill()
        blocker.rollback()
    connection.close()
    assert Reward.objects.count() == 0 and SettlementRun.objects.count() == 0, "the killed settlement left rows behind"
    time.sleep(VISIBILITY + 1)
    second = start_worker(queue, log)
    try:
        wait_for(lambda: Reward.objects.count() == 7, 90, "the re-delivered settlement to complete")
    finally:
        second.terminate()
        second.wait(timeout=30)
        log.close()
    assert SettlementRun.objects.filter(triggered_by="kill-test").count() == 1
    assert ledger_violations(campaign=campaign) == []
