"""One way to settle in the background (`settlement_enqueue`) for every door: the dashboard's settle
form, the what-if apply and the API each queue exactly one run under a task id at once, the worker
settles that very run, and a task delivered twice settles it once."""

import json
import uuid
from datetime import datetime
from decimal import Decimal

import psycopg
import pytest
import time_machine
from django.contrib.auth.models import User

from core.api.tokens import api_token_create
from rewards.models import Reward, SettlementRun
from rewards.services import settlement
from rewards.services.settlement import settlement_enqueue
from rewards.services.whatif.apply import whatif_apply
from rewards.services.whatif.changes import config_fingerprint
from rewards.tasks import settle_campaign_task
from tests.api.conftest import token_client
from tests.integration.conftest import celery_worker  # noqa: F401 - the real worker thread
from tests.reliability.workers import database_url, wait_for

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")


@pytest.fixture
def ops(db):
    return User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456")


@pytest.fixture
def api(ops):
    _, secret = api_token_create(user=ops, name="tests", scopes=["ops", "read"], created_by="tests")
    return token_client(secret)


@pytest.fixture
def judged(monkeypatch):
    """The campaigns `settle_campaign` judged, in order: one entry per settlement that ran."""
    calls, judge = [], settlement.posts_qualify

    def counting(*, campaign, **kwargs):
        calls.append(campaign.pk)
        return judge(campaign=campaign, **kwargs)

    monkeypatch.setattr(settlement, "posts_qualify", counting)
    return calls


def from_the_dashboard(campaign, ops, api, client):
    client.force_login(ops)
    response = client.post(f"/admin/campaign/campaign/{campaign.pk}/dashboard/settle/", {"at": "2026-02-26T00:00:00+08:00"})
    assert response.status_code == 302
    return "admin settle: ops"


def from_the_whatif_apply(campaign, ops, api, client):
    whatif_apply(campaign=campaign, changes={"pool_cap": "300.00"}, note="raise the cap", user=ops, expected_fingerprint=config_fingerprint(campaign), at=DUE)
    return "admin what-if: ops"


def from_the_api(campaign, ops, api, client):
    response = api.post(f"/api/v1/campaigns/{campaign.slug}/settlements/", data=json.dumps({"at": "2026-02-26T00:00:00+08:00"}), content_type="application/json")
    assert response.status_code == 202 and response.json()["state"] == "queued"
    assert response.json()["task_id"] == SettlementRun.objects.get().task_id
    return "API token"


@pytest.mark.parametrize("door", [from_the_dashboard, from_the_whatif_apply, from_the_api], ids=["dashboard", "what-if apply", "API"])
def test_each_door_queues_one_run_under_a_task_id_and_the_worker_settles_that_run(
    door, loaded, ops, api, client, eager_tasks, judged, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        by = door(loaded, ops, api, client)
    queued = SettlementRun.objects.get()
    assert queued.state == "queued" and queued.finished_at is None and queued.at == DUE
    assert uuid.UUID(queued.task_id) and by in queued.triggered_by
    assert not Reward.objects.exists() and judged == []  # nothing settles before the commit

    for callback in callbacks:
        callback()
    run = SettlementRun.objects.get()
    assert (run.pk, run.task_id, run.state, run.at) == (queued.pk, queued.task_id, "finished", DUE) and run.finished_at is not None
    assert judged == [loaded.pk] and Reward.objects.filter(preview=False).count() == 7
    assert set(Reward.objects.values_list("settlement_run", flat=True)) == {run.pk}


def test_a_task_delivered_twice_settles_its_run_once(loaded, judged):
    run = settlement_enqueue(campaign=loaded, at=DUE, by="tests")
    deliver = dict(args=[loaded.pk, DUE.isoformat()], kwargs={"triggered_by": "tests"}, task_id=run.task_id)
    first = settle_campaign_task.apply(**deliver).get()
    ledger = list(Reward.objects.order_by("pk").values_list("pk", "amount", "preview", "updated_at", "settlement_run"))
    finished = SettlementRun.objects.get().finished_at

    second = settle_campaign_task.apply(**deliver).get()
    assert first["run"] == second["run"] == run.pk and first["ledger"]["created"] == 7
    assert judged == [loaded.pk]  # the second delivery judged nothing and wrote nothing
    assert SettlementRun.objects.get().finished_at == finished
    assert list(Reward.objects.order_by("pk").values_list("pk", "amount", "preview", "updated_at", "settlement_run")) == ledger


def test_an_attempt_that_raises_marks_its_run_failed_and_a_later_delivery_settles_that_run(loaded, monkeypatch):
    run = settlement_enqueue(campaign=loaded, at=DUE, by="tests")
    judge = settlement.posts_qualify

    def broken(**kwargs):
        raise RuntimeError("judging broke")

    monkeypatch.setattr(settlement, "posts_qualify", broken)
    deliver = dict(args=[loaded.pk, DUE.isoformat()], kwargs={"triggered_by": "tests"}, task_id=run.task_id)
    with pytest.raises(RuntimeError, match="judging broke"):
        settle_campaign_task.apply(**deliver).get()
    run.refresh_from_db()
    assert (run.state, run.finished_at) == ("failed", None) and not Reward.objects.exists()

    monkeypatch.setattr(settlement, "posts_qualify", judge)
    assert settle_campaign_task.apply(**deliver).get()["run"] == run.pk
    run.refresh_from_db()
    assert run.state == "finished" and SettlementRun.objects.count() == 1 and Reward.objects.filter(settlement_run=run).count() == 7


def test_the_api_reports_queued_then_running_then_finished_from_the_run(loaded, api, eager_tasks, monkeypatch, django_capture_on_commit_callbacks):
    asked, ran = datetime.fromisoformat("2026-03-01T10:00:00+08:00"), datetime.fromisoformat("2026-03-01T10:05:00+08:00")
    with time_machine.travel(asked, tick=False), django_capture_on_commit_callbacks(execute=False) as callbacks:
        pointer = api.post(f"/api/v1/campaigns/{loaded.slug}/settlements/", data=json.dumps({}), content_type="application/json").json()
    states = [api.get(pointer["url"]).json()["state"]]
    judge = settlement.posts_qualify

    def judge_and_look(**kwargs):
        states.append(api.get(pointer["url"]).json()["state"])  # what a caller sees while it runs
        return judge(**kwargs)

    monkeypatch.setattr(settlement, "posts_qualify", judge_and_look)
    with time_machine.travel(ran, tick=False):
        for callback in callbacks:
            callback()
    followed = api.get(pointer["url"]).json()
    states.append(followed["state"])
    assert states == ["queued", "running", "finished"]
    run = SettlementRun.objects.get()
    assert followed["run"]["id"] == run.pk and run.task_id == pointer["task_id"]
    assert run.at == ran  # no instant asked: as of when it ran, not when it was queued


def test_the_beat_and_the_command_still_settle_without_a_queued_run(loaded):
    beat = settle_campaign_task.apply(args=[loaded.pk], kwargs={"at": DUE.isoformat(), "triggered_by": "beat: settle final", "full_judge": True}).get()
    run = SettlementRun.objects.get(pk=beat["run"])
    assert run.state == "finished" and run.task_id and run.triggered_by == "beat: settle final"
    command = settlement.settle_campaign(campaign=loaded, at=DUE, triggered_by="command")
    assert command.state == "finished" and command.task_id is None and SettlementRun.objects.count() == 2
    assert Reward.objects.filter(preview=False).count() == 7
    assert set(Reward.objects.filter(kind="leaderboard").values_list("amount", flat=True)) == {Decimal("4000.00"), Decimal("3000.00")}


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.usefixtures("celery_worker")
def test_on_a_real_worker_the_run_shows_running_while_it_settles_and_a_second_delivery_settles_nothing(loaded, api, judged):
    """PostgreSQL, Redis and a worker thread: the campaign lock is held elsewhere, so the worker
    stops inside its settlement transaction; the run it claimed already says running there."""
    with psycopg.connect(database_url().replace("postgres://", "postgresql://")) as blocker:
        blocker.execute("SELECT id FROM campaign_campaign WHERE id = %s FOR NO KEY UPDATE", [loaded.pk])  # as campaign_lock does
        pointer = api.post(f"/api/v1/campaigns/{loaded.slug}/settlements/", data=json.dumps({"at": DUE.isoformat()}), content_type="application/json").json()
        wait_for(lambda: api.get(pointer["url"]).json()["state"] == "running", 60, "the worker to claim the run")
        assert judged == [] and not Reward.objects.exists()
        blocker.rollback()
    wait_for(lambda: api.get(pointer["url"]).json()["state"] == "finished", 60, "the settlement to finish")
    run = SettlementRun.objects.get()
    assert run.task_id == pointer["task_id"] and Reward.objects.filter(settlement_run=run).count() == 7

    # The same message again (a redelivery), then a task behind it: once that one is back, the
    # solo worker has handled the redelivery.
    settle_campaign_task.apply_async(args=[loaded.pk, DUE.isoformat()], kwargs={"triggered_by": "redelivered"}, task_id=pointer["task_id"])
    assert settle_campaign_task.apply_async(args=[0]).get(timeout=60) == {"skipped": "campaign is gone"}
    assert judged == [loaded.pk] and SettlementRun.objects.get().finished_at == run.finished_at
    assert SettlementRun.objects.get().triggered_by == run.triggered_by and Reward.objects.filter(settlement_run=run).count() == 7
