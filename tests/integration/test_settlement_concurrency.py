"""Two settlements at once on PostgreSQL, and a scheduled settlement run by a real worker."""

import json
import threading
from datetime import datetime

import pytest
from django.db import connection
from django_celery_beat.models import PeriodicTask

from campaign.services import posts_import_file, signups_import
from config.celery import app
from rewards.models import Reward, SettlementRun
from rewards.services import settle_campaign
from rewards.services.schedule import settlement_schedule_sync
from tests.rewards.scenario import REGISTRATIONS, SIGNUPS, STATS, posts_jsonl
from traders.services import registrations_import, trader_stats_import

DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")


def load(campaign):
    registrations_import(data=REGISTRATIONS.encode())
    signups_import(campaign=campaign, data=SIGNUPS.encode())
    trader_stats_import(data=STATS.encode())
    posts_import_file(campaign=campaign, data=posts_jsonl().encode())
    return campaign


def ledger():
    return sorted(Reward.objects.values_list("trader__uid", "kind", "period", "amount", "state", "preview"))


@pytest.mark.postgres
def test_two_settlements_at_once_give_one_result(transactional_db, campaign):
    campaign = load(campaign)
    barrier, errors = threading.Barrier(2), []

    def settle():
        try:
            barrier.wait()
            settle_campaign(campaign=campaign, at=DUE, triggered_by=threading.current_thread().name)
        except Exception as exc:  # noqa: BLE001 - the assertion below reports whatever went wrong
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=settle, name=f"worker-{i}") for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert SettlementRun.objects.count() == 2
    after_two = ledger()
    settle_campaign(campaign=campaign, at=DUE)
    assert after_two == ledger() and len(after_two) == 7


@pytest.mark.redis
def test_a_real_worker_runs_the_scheduled_settlement(celery_worker, campaign):
    campaign = load(campaign)
    assert settlement_schedule_sync(campaign=campaign) == [f"settle {campaign.slug} final"]
    task = PeriodicTask.objects.get(name=f"settle {campaign.slug} final")
    assert task.clocked.clocked_time == DUE and task.one_off
    # What beat does when the clock strikes: send the stored task with its stored arguments.
    result = app.send_task(task.task, args=json.loads(task.args), kwargs=json.loads(task.kwargs) | {"at": DUE.isoformat()})
    outcome = result.get(timeout=60)
    assert outcome["ledger"]["created"] == 7
    assert SettlementRun.objects.get().triggered_by == f"beat: settle {campaign.slug} final"
    assert len(ledger()) == 7 and not any(row[-1] for row in ledger())
