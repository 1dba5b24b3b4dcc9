"""Ops through the API: the ledger services behind approve and mark paid, settlements enqueued
after commit and followed to their run, payout reports, and money always as strings."""

import csv
import io
import json
import re
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.db.models import ProtectedError
from openpyxl import load_workbook

from campaign.models import Campaign
from config.celery import app
from rewards.models import PayoutBatch, PayoutReport, Reward, SettlementRun
from rewards.services import payout_report_store, settlement
from rewards.tasks import settle_campaign_task
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db
SLUG = "star-lead-traders-2"


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_money_is_serialized_as_strings_with_two_decimals(settled, read_client):
    rewards = read_client.get("/api/v1/rewards/?limit=100").json()["results"]
    assert rewards and all(isinstance(r["amount"], str) and re.fullmatch(r"[0-9]+\.[0-9]{2}", r["amount"]) for r in rewards)
    assert {r["amount"] for r in rewards if r["kind"] == "leaderboard"} == {"4000.00", "3000.00"}
    schema = read_client.get("/api/schema/?format=json").json()["components"]["schemas"]
    assert schema["Reward"]["properties"]["amount"]["type"] == "string"
    assert schema["StatusReward"]["properties"]["amount"]["type"] == "string"


def test_the_rewards_list_filters(settled, read_client):
    def uids(query):
        return sorted({(r["uid"], r["kind"]) for r in read_client.get(f"/api/v1/rewards/?{query}").json()["results"]})

    assert uids("kind=leaderboard") == [(1001, "leaderboard"), (1002, "leaderboard")]
    assert uids("uid=1002&state=calculated&kind=first_post") == [(1002, "first_post")]
    assert uids("state=approved") == [(1001, "content_pool"), (1001, "first_post"), (1001, "leaderboard")]
    assert uids("preview=true") == [] and uids("period=P1") == [(1001, "content_pool"), (1002, "content_pool")]
    assert uids("campaign=other") == []
    response = read_client.get("/api/v1/rewards/?kind=bonus")
    assert response.status_code == 400 and "kind" in response.json()["fields"]
    page = read_client.get("/api/v1/rewards/?limit=2&offset=2").json()
    assert page["count"] == 7 and len(page["results"]) == 2


def test_approve_then_mark_paid_through_the_services(settled, ops_client):
    ids = list(Reward.objects.filter(trader__uid=1002).order_by("pk").values_list("pk", flat=True))
    body = post(ops_client, "/api/v1/rewards/approve/", {"reward_ids": ids + [ids[0], 999999]}).json()
    assert body["done"] == ids and body["refused"] == [{"id": 999999, "reason": "no reward 999999"}]
    again = post(ops_client, "/api/v1/rewards/approve/", {"reward_ids": ids}).json()
    assert again["done"] == [] and all("is approved, not calculated" in r["reason"] for r in again["refused"])

    body = post(ops_client, "/api/v1/rewards/mark-paid/", {"reward_ids": ids, "reference": " BANK-2026-02 ", "note": "wire"}).json()
    assert body["batch"] == "BANK-2026-02" and body["done"] == ids
    assert set(Reward.objects.filter(pk__in=ids).values_list("state", "payout_batch__reference")) == {("paid", "BANK-2026-02")}
    assert PayoutBatch.objects.get().created_by.startswith("user")


def test_the_ledger_refusing_a_payment_is_a_409(settled, ops_client):
    other = CampaignFactory()
    PayoutBatch.objects.create(campaign=other, reference="USED", created_by="x")
    ids = list(Reward.objects.filter(trader__uid=1001).values_list("pk", flat=True))
    response = post(ops_client, "/api/v1/rewards/mark-paid/", {"reward_ids": ids, "reference": "USED"})
    assert response.status_code == 409 and response.json() == {"error": "refused", "detail": "payout batch USED belongs to another campaign"}
    response = post(ops_client, "/api/v1/rewards/mark-paid/", {"reward_ids": [999999], "reference": "NEW"})
    assert response.status_code == 409 and response.json()["detail"] == "no rewards selected"
    response = post(ops_client, "/api/v1/rewards/mark-paid/", {"reward_ids": ids, "reference": "  "})
    assert response.status_code == 400 and "reference" in response.json()["fields"]


def test_a_settlement_is_enqueued_after_commit_and_followed_to_its_run(campaign, ops_client, read_client, eager_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(ops_client, f"/api/v1/campaigns/{SLUG}/settlements/", {"at": "2026-02-20T12:00:00+08:00"})
    assert response.status_code == 202 and len(callbacks) == 1
    pointer = response.json()
    assert response["Location"] == pointer["url"] == f"/api/v1/settlements/{pointer['task_id']}/"
    # The run is written at once, queued under the task's id; nothing runs before the commit.
    queued = SettlementRun.objects.get()
    assert (queued.task_id, queued.state, queued.finished_at) == (pointer["task_id"], "queued", None) and not Reward.objects.exists()
    assert read_client.get(pointer["url"]).json() == {"task_id": pointer["task_id"], "state": "queued", "url": pointer["url"], "run": None} == pointer

    callbacks[0]()
    followed = read_client.get(pointer["url"]).json()
    assert followed["state"] == "finished"
    run = SettlementRun.objects.get()
    assert run.pk == queued.pk  # the worker settled the queued run, not another
    assert followed["run"]["id"] == run.pk and followed["run"]["at"] == "2026-02-20T04:00:00Z"
    assert followed["run"]["summary"]["leaderboard"]["due"] is False  # settled before due: a preview
    assert run.task_id == pointer["task_id"] and "API token gsq_" in run.triggered_by and pointer["task_id"] not in run.triggered_by
    detail = read_client.get(f"/api/v1/settlement-runs/{run.pk}/").json()
    assert detail["state"] == "finished" and detail["config"]["pool_cap"] == "100.00"
    assert [r["id"] for r in read_client.get(f"/api/v1/settlement-runs/?campaign={SLUG}").json()["results"]] == [run.pk]


def test_a_settlement_instant_with_any_offset_is_settled_as_that_instant(campaign, ops_client, eager_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(ops_client, f"/api/v1/campaigns/{SLUG}/settlements/", {"at": "2026-02-20T23:30:00+13:45"})
    assert response.status_code == 202
    assert SettlementRun.objects.get().at.isoformat() == "2026-02-20T09:45:00+00:00"


def test_a_settlement_instant_without_an_offset_is_refused(campaign, ops_client):
    response = post(ops_client, f"/api/v1/campaigns/{SLUG}/settlements/", {"at": "2026-02-20T12:00:00"})
    assert response.status_code == 400
    assert response.json()["fields"] == {"at": ["at has no UTC offset (add Z or +HH:MM): '2026-02-20T12:00:00'"]}


def test_the_payout_report_downloads_match_the_service(settled, read_client):
    response = read_client.get(f"/api/v1/campaigns/{SLUG}/payout-report.csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith(f'attachment; filename="{SLUG}-payout-')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["uid", "nickname", "kind", "period", "asset", "amount", "status"] and len(rows) == 8
    assert rows[3] == ["1001", "alpha", "leaderboard", "ALL", "USDT", "4000.00", "approved"]

    response = read_client.get(f"/api/v1/campaigns/{SLUG}/payout-report.xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in sheet[4]] == [1001, "alpha", "leaderboard", "ALL", "USDT", 4000, "approved"]

    # An error of a download is JSON, whatever the client asked for.
    response = read_client.get("/api/v1/campaigns/nope/payout-report.csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_stored_payout_reports_are_listed(settled, read_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    report = payout_report_store(campaign=Campaign.objects.get(slug=SLUG), created_by="finance")
    body = read_client.get(f"/api/v1/payout-reports/?campaign={SLUG}").json()
    assert body["results"] == [{"id": report.pk, "campaign": SLUG, "created_at": body["results"][0]["created_at"], "created_by": "finance", "rows": 7}]
    assert PayoutReport.objects.count() == 1


def test_an_id_no_settlement_was_started_under_is_a_404(settled, read_client):
    response = read_client.get(f"/api/v1/settlements/{uuid.uuid4()}/")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "no settlement was started under this id"}


def test_a_queued_settlement_answers_queued_until_a_worker_has_run_it(transactional_db, campaign, ops_client, read_client, monkeypatch):
    """Through the configured broker and result backend (in memory by default, Redis in CI) and a
    real worker thread, never eager: the worker starts only after the GETs of the queued state."""
    broken, eager = CampaignFactory(), app.conf.task_always_eager
    judge = settlement.posts_qualify

    def judge_or_break(*, campaign, **kwargs):
        if campaign.pk == broken.pk:
            raise RuntimeError("judging broke")
        return judge(campaign=campaign, **kwargs)

    monkeypatch.setattr(settlement, "posts_qualify", judge_or_break)
    app.conf.task_always_eager = False
    try:
        pointer = post(ops_client, f"/api/v1/campaigns/{SLUG}/settlements/", {"at": "2026-02-20T12:00:00+08:00"}).json()
        failing = post(ops_client, f"/api/v1/campaigns/{broken.slug}/settlements/", {}).json()
        with pytest.raises(ProtectedError):
            broken.delete()  # a queued settlement keeps its campaign
        assert read_client.get(pointer["url"]).json() == {"task_id": pointer["task_id"], "state": "queued", "url": pointer["url"], "run": None}
        assert read_client.get(failing["url"]).json()["state"] == "queued"
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            settled = SettlementRun.objects.get(campaign=campaign)
            assert settle_campaign_task.AsyncResult(pointer["task_id"]).get(timeout=60)["run"] == settled.pk
            assert settle_campaign_task.AsyncResult(failing["task_id"]).get(timeout=60, propagate=False).args == ("judging broke",)
        followed = read_client.get(pointer["url"]).json()
        assert followed["state"] == "finished" and followed["run"]["id"] == settled.pk
        assert read_client.get(failing["url"]).json() == {"task_id": failing["task_id"], "state": "failed", "url": failing["url"], "run": None}
        assert read_client.get(f"/api/v1/settlements/{uuid.uuid4()}/").status_code == 404
    finally:
        app.conf.task_always_eager = eager
