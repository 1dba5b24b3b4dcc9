"""Batch upserts: each record reported on its own, the good ones imported through the same
service as the files, the bad ones kept as rejected records; nothing a client sends is a 5xx."""

import csv
import json

import pytest
from django.utils import timezone

from campaign import signing
from campaign.models import Post, Signup
from core.models import ImportRun, RejectedRecord
from tests.factories import post_item
from traders.models import LeadTraderRegistration, Trader, TradingStats

pytestmark = pytest.mark.django_db
SLUG = "star-lead-traders-2"


def registration(uid, **overrides):
    item = {"uid": uid, "nickname": f"n{uid}", "market": "futures", "status": "approved", "applied_at": "2026-02-01T10:00:00+08:00", "approved_at": None}
    item.update(overrides)
    return item


def stored_item(raw):
    """The item a rejected record keeps: JSON for posts; for the CSV services, a CSV row whose one
    field is the item's JSON (those services read CSV text: see core.api.records)."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        (cell,) = next(csv.reader([raw]))
        return json.loads(cell)


def send(client, url, items):
    return client.post(url, data=json.dumps(items), content_type="application/json")


def test_a_batch_with_bad_records_imports_the_good_ones_and_keeps_the_bad(ingest_client):
    items = [
        registration(1),
        registration(2, applied_at="2026-02-01T10:00:00"),
        "not an object",
        registration(3, market="options"),
        registration(4, nickname="two\nlines"),
        registration(5),
    ]
    response = send(ingest_client, "/api/v1/registrations/", items)
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["accepted"], body["rejected"]) == (6, 3, 3)
    assert body["results"] == [
        {"index": 1, "ok": True, "error": None},
        {"index": 2, "ok": False, "error": "applied_at has no UTC offset (add Z or +HH:MM): '2026-02-01T10:00:00'"},
        {"index": 3, "ok": False, "error": "expected a JSON object, got a string"},
        {"index": 4, "ok": False, "error": "market must be one of futures, spot, got 'options'"},
        {"index": 5, "ok": True, "error": None},
        {"index": 6, "ok": True, "error": None},
    ]
    assert set(LeadTraderRegistration.objects.values_list("trader__uid", flat=True)) == {1, 4, 5}
    assert Trader.objects.get(uid=4).nickname == "two\nlines"
    run = ImportRun.objects.get(pk=body["run"])
    assert (run.kind, run.source, run.total, run.accepted, run.rejected) == ("registrations", "api", 6, 3, 3)
    assert "API token gsq_" in run.created_by
    kept = list(RejectedRecord.objects.filter(run=run).values_list("reason", "raw"))
    assert len(kept) == 3
    assert any("applied_at has no UTC offset" in reason and "2026-02-01T10:00:00" in raw for reason, raw in kept)
    assert any(raw.startswith('"') and stored_item(raw) == "not an object" for _, raw in kept)


def test_sending_the_same_batch_again_changes_nothing(ingest_client, campaign):
    items = [post_item("p1", 11, likes=3), post_item("p2", 12)]
    first = send(ingest_client, f"/api/v1/campaigns/{SLUG}/posts/", items).json()
    state = list(Post.objects.order_by("post_id").values_list("post_id", "likes", "verdict", "text"))
    second = send(ingest_client, f"/api/v1/campaigns/{SLUG}/posts/", items).json()
    assert first["accepted"] == second["accepted"] == 2 and second["run"] != first["run"]
    assert list(Post.objects.order_by("post_id").values_list("post_id", "likes", "verdict", "text")) == state


def test_a_post_whose_author_changes_is_refused_and_the_stored_post_kept(ingest_client, campaign):
    send(ingest_client, f"/api/v1/campaigns/{SLUG}/posts/", [post_item("p1", 11)])
    body = send(ingest_client, f"/api/v1/campaigns/{SLUG}/posts/", [post_item("p1", 12), post_item("p2", 12, created_at="soon")]).json()
    assert body["results"][0]["error"] == "post p1: re-ingest changes author_uid from 11 to 12; the stored post is kept"
    assert body["results"][1]["error"] == "created_at is not an ISO 8601 instant: 'soon'"
    assert Post.objects.get(post_id="p1").author.uid == 11
    assert RejectedRecord.objects.filter(run_id=body["run"]).count() == 2


def test_sign_ups_and_trading_stats_go_through_their_services(ingest_client, campaign):
    signups = [{"uid": 21, "submitted_at": "2026-02-13T10:00:00+08:00", "square_handle": "h", "contact": "tg:@h"}, {"uid": 0, "submitted_at": "2026-02-13T10:00:00Z"}]
    body = send(ingest_client, f"/api/v1/campaigns/{SLUG}/signups/", signups).json()
    assert [r["ok"] for r in body["results"]] == [True, False] and body["results"][1]["error"] == "uid must be a positive integer, got 0"
    assert Signup.objects.get().contact == "tg:@h"
    stats = [{"uid": 21, "as_of": "2026-02-20T00:00:00Z", "new_copiers": 4, "copier_pnl_usdt": "-50.25"}, {"uid": 21, "as_of": "2026-02-21T00:00:00Z", "new_copiers": 1, "copier_pnl_usdt": 1.5}]
    body = send(ingest_client, "/api/v1/trader-stats/", stats).json()
    assert body["accepted"] == 2
    assert sorted(str(v) for v in TradingStats.objects.values_list("copier_pnl_usdt", flat=True)) == ["-50.25000000", "1.50000000"]


@pytest.mark.parametrize(
    "url, items, reason",
    [
        ("/api/v1/registrations/", [registration(2**63)], "uid is larger than any UID can be (9223372036854775807): 9223372036854775808"),
        ("/api/v1/registrations/", [registration(1, nickname="nul\x00")], "contains a NUL character (\\x00)"),
        ("/api/v1/registrations/", [registration(1, nickname="\ud800")], "contains an unpaired surrogate (not valid Unicode text)"),
        ("/api/v1/registrations/", [registration(1, applied_at="0001-01-01T00:00:00+01:00")], "applied_at is out of range: '0001-01-01T00:00:00+01:00'"),
        ("/api/v1/registrations/", [{}], "uid must be a positive integer, got None"),
        ("/api/v1/trader-stats/", [{"uid": 1, "as_of": "2026-02-20T00:00:00Z", "new_copiers": 2**31, "copier_pnl_usdt": "0"}], "new_copiers must be an integer from 0 to 2147483647, got 2147483648"),
        (f"/api/v1/campaigns/{SLUG}/posts/", [post_item("p1", 1, likes=2**31)], "likes must be an integer from 0 to 2147483647, got 2147483648"),
        (f"/api/v1/campaigns/{SLUG}/posts/", [post_item("p1", 1, text="a\x00b")], "contains a NUL character (\\x00)"),
        (f"/api/v1/campaigns/{SLUG}/posts/", [post_item("p1", 1, created_at="9999-12-31T23:00:00-05:00")], "created_at is out of range: '9999-12-31T23:00:00-05:00'"),
        (f"/api/v1/campaigns/{SLUG}/posts/", [post_item("p1", 1, created_at="2026-02-14T12:00:00+18:25")], "created_at has an offset beyond ±15:59, which no time zone uses: '2026-02-14T12:00:00+18:25'"),
        ("/api/v1/trader-stats/", [{"uid": 1, "as_of": "2026-02-20T00:00:00-16:00", "new_copiers": 1, "copier_pnl_usdt": "0"}], "as_of has an offset beyond ±15:59, which no time zone uses: '2026-02-20T00:00:00-16:00'"),
        (f"/api/v1/campaigns/{SLUG}/signups/", [{"uid": 1, "submitted_at": "2026-02-13T10:00:00Z", "contact": "\x00"}], "contains a NUL character (\\x00)"),
    ],
)
def test_a_value_no_column_can_hold_is_a_rejected_record_not_a_server_error(ingest_client, campaign, url, items, reason):
    body = send(ingest_client, url, items).json()
    assert body["results"] == [{"index": 1, "ok": False, "error": reason}]
    kept = RejectedRecord.objects.get(run_id=body["run"])
    assert stored_item(kept.raw) == items[0]


GOOD_ITEMS = {
    "/api/v1/registrations/": lambda n: registration(n),
    "/api/v1/trader-stats/": lambda n: {"uid": n, "as_of": "2026-02-20T00:00:00Z", "new_copiers": 1, "copier_pnl_usdt": "1.00"},
    f"/api/v1/campaigns/{SLUG}/signups/": lambda n: {"uid": n, "submitted_at": "2026-02-13T10:00:00+08:00", "square_handle": "h", "contact": ""},
    f"/api/v1/campaigns/{SLUG}/posts/": lambda n: post_item(f"p{n}", n),
}


@pytest.mark.parametrize("url", list(GOOD_ITEMS))
def test_an_item_that_is_not_an_object_is_refused_on_its_own_and_the_others_imported(ingest_client, campaign, url):
    good = GOOD_ITEMS[url]
    items = [good(1), None, 3, 2.5, [good(2)], "text", True, {}, good(3)]
    response = send(ingest_client, url, items)
    assert response.status_code == 200, response.content
    body = response.json()
    errors = [(r["index"], r["error"]) for r in body["results"] if not r["ok"]]
    assert errors[:6] == [
        (2, "expected a JSON object, got null"),
        (3, "expected a JSON object, got a number"),
        (4, "expected a JSON object, got a number"),
        (5, "expected a JSON object, got an array"),
        (6, "expected a JSON object, got a string"),
        (7, "expected a JSON object, got a boolean"),
    ]
    assert [r["index"] for r in body["results"] if r["ok"]] == [1, 9] and errors[6][0] == 8  # {} lacks every field
    assert (body["total"], body["accepted"], body["rejected"]) == (9, 2, 7)
    kept = dict(RejectedRecord.objects.filter(run_id=body["run"]).values_list("line", "raw"))
    assert stored_item(kept[2]) is None and stored_item(kept[5]) == [good(2)]


@pytest.mark.parametrize("payload", [{"uid": 1}, "text", None, 3])
def test_a_body_that_is_not_an_array_is_refused_whole(ingest_client, payload):
    response = ingest_client.post("/api/v1/registrations/", data=json.dumps(payload), content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == "invalid"
    assert not ImportRun.objects.exists()


def test_a_batch_over_the_limit_is_refused_whole(ingest_client):
    response = send(ingest_client, "/api/v1/registrations/", [registration(1)] * 2001)
    assert response.status_code == 400 and "fields" in response.json()
    assert not ImportRun.objects.exists()


def test_an_empty_batch_is_an_empty_run(ingest_client):
    body = send(ingest_client, "/api/v1/registrations/", []).json()
    assert (body["total"], body["results"]) == (0, [])


def test_an_unknown_campaign_is_a_404(ingest_client):
    response = send(ingest_client, "/api/v1/campaigns/nope/posts/", [])
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_malformed_json_is_a_400_in_the_api_error_shape(ingest_client):
    response = ingest_client.post("/api/v1/registrations/", data=b"[{", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == "parse_error"


def test_the_posts_webhook_is_also_served_under_the_api(client, campaign, settings, eager_tasks, django_capture_on_commit_callbacks):
    from campaign.models import WebhookDelivery

    body = json.dumps({"campaign": SLUG, "items": [post_item("w1", 31)]}).encode()
    headers = signing.signed_headers(settings.WEBHOOK_SECRET, body, now=timezone.now(), delivery_id="api-1")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/hooks/posts/", data=body, content_type="application/json", headers=headers)
    assert response.status_code == 202 and response.json()["accepted"] == 1 and response.json()["status"] == "queued"
    assert WebhookDelivery.objects.get(delivery_id="api-1").import_run.source == "webhook"


def test_an_unknown_api_path_is_a_json_404(ingest_client):
    for response in (ingest_client.get("/api/v1/nothing/here/"), ingest_client.post("/api/v1/campaigns/a b/posts/"), ingest_client.options("/api/v1/x/")):
        assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_a_document_nested_too_deeply_is_a_400(ingest_client):
    body = "[" + '{"a": [' * 200 + "]}" * 200 + "]"
    response = ingest_client.post("/api/v1/registrations/", data=body, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == "parse_error"
    deeper = "[" * 100_000 + "]" * 100_000
    assert ingest_client.post("/api/v1/registrations/", data=deeper, content_type="application/json").status_code == 400


def test_a_uid_of_thousands_of_digits_is_a_rejected_record(ingest_client):
    body = send(ingest_client, "/api/v1/registrations/", [registration("9" * 5000)]).json()
    assert body["results"][0]["error"].startswith("uid is larger than any UID can be (9223372036854775807)")


def test_a_body_over_the_upload_limit_is_a_json_413(ingest_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = send(ingest_client, "/api/v1/registrations/", [registration(1, nickname="x" * 90)] * 10)
    assert response.status_code == 413 and response.json()["error"] == "too_large"


def test_a_record_nested_deeper_than_a_record_may_be_is_refused_alone(ingest_client):
    """RULES.md section 9: a field nested 70 deep refuses its record, not the batch."""
    deep = registration(7)
    deep["extra"] = json.loads("[" * 70 + "]" * 70)
    body = send(ingest_client, "/api/v1/registrations/", [registration(6), deep]).json()
    assert [(r["ok"], r["error"]) for r in body["results"]] == [(True, None), (False, "nested deeper than 64 levels")]
