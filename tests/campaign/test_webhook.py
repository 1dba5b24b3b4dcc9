"""The signed posts webhook: signature, staleness, replay, and the same service behind it."""

import json
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from campaign import signing
from campaign.models import Campaign, Post, WebhookDelivery
from tests.factories import enrolled_trader, post_item

pytestmark = pytest.mark.django_db
URL = "/hooks/posts/"


def deliver(client, payload, *, delivery="d-1", secret=None, now=None, body=None, headers=None):
    body = body if body is not None else json.dumps(payload).encode()
    sent = signing.signed_headers(secret or settings.WEBHOOK_SECRET, body, now=now or timezone.now(), delivery_id=delivery)
    sent.update(headers or {})
    return client.post(URL, data=body, content_type="application/json", headers=sent)


def test_a_valid_delivery_is_queued_then_stored_then_judged(client, campaign, eager_tasks, django_capture_on_commit_callbacks):
    enrolled_trader(uid=1)
    with django_capture_on_commit_callbacks() as queued:
        response = deliver(client, {"campaign": campaign.slug, "items": [post_item("w1", 1), post_item("w2", 1, created_at="2026-02-14T12:00:00"), 7]})
    assert response.status_code == 202
    # Refused at the door with the import's own reasons; the rest is queued, nothing stored yet.
    assert response.json() == {
        "delivery": "d-1",
        "status": "queued",
        "accepted": 1,
        "rejected": [
            {"item": 2, "reason": "created_at has no UTC offset (add Z or +HH:MM): '2026-02-14T12:00:00'"},
            {"item": 3, "reason": "expected a JSON object"},
        ],
    }
    delivery = WebhookDelivery.objects.get()
    assert delivery.processed_at is None and delivery.items == 3 and delivery.campaign == campaign
    assert not Post.objects.exists() and queued

    with django_capture_on_commit_callbacks() as judging:
        for callback in queued:
            callback()  # the worker: stores the posts and marks the delivery, in one transaction
    delivery.refresh_from_db()
    assert delivery.processed_at is not None
    run = delivery.import_run
    assert (run.source, run.total, run.accepted, run.rejected) == ("webhook", 3, 1, 2)
    assert sorted(r.line for r in run.rejected_records.all()) == [2, 3]
    assert all("delivery d-1 item" in r.raw for r in run.rejected_records.all())
    assert Post.objects.get().verdict == "pending"

    with django_capture_on_commit_callbacks(execute=True):
        for callback in judging:
            callback()  # the judging run after the posts committed
    assert Post.objects.get().verdict == "qualified"


def test_a_bad_signature_is_refused_with_a_json_error(client, campaign):
    response = deliver(client, {"campaign": campaign.slug, "items": [post_item("w1", 1)]}, secret="wrong")
    assert response.status_code == 401 and response.json()["error"] == "bad_signature"
    assert not Post.objects.exists()


def test_a_tampered_body_is_refused(client, campaign):
    body = json.dumps({"campaign": campaign.slug, "items": [post_item("w1", 1)]}).encode()
    headers = signing.signed_headers(settings.WEBHOOK_SECRET, body, now=timezone.now(), delivery_id="x")
    response = client.post(URL, data=body.replace(b"w1", b"w9"), content_type="application/json", headers=headers)
    assert response.status_code == 401 and response.json()["error"] == "bad_signature"


def test_a_missing_signature_is_refused(client, campaign):
    response = client.post(URL, data=b"{}", content_type="application/json")
    assert response.status_code == 401 and response.json()["error"] in {"missing_signature", "bad_timestamp"}


def test_a_timestamp_older_than_five_minutes_is_refused(client, campaign):
    old = timezone.now() - timedelta(seconds=301)
    response = deliver(client, {"campaign": campaign.slug, "items": []}, now=old)
    assert response.status_code == 401 and response.json()["error"] == "stale_timestamp"
    assert deliver(client, {"campaign": campaign.slug, "items": []}, now=timezone.now() - timedelta(seconds=290), delivery="ok").status_code == 202


def test_a_replayed_delivery_is_refused_and_changes_nothing(client, campaign, eager_tasks, django_capture_on_commit_callbacks):
    payload = {"campaign": campaign.slug, "items": [post_item("w1", 1, likes=5)]}
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(client, payload, delivery="same").status_code == 202
    payload["items"][0]["likes"] = 500
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = deliver(client, payload, delivery="same")
    assert response.status_code == 409 and response.json()["error"] == "replayed_delivery"
    assert queued == [] and WebhookDelivery.objects.count() == 1
    assert Post.objects.get().likes == 5


@pytest.mark.parametrize(
    "body, status, code",
    [
        (b"not json", 400, "bad_json"),
        (b'{"items": []}', 400, "bad_body"),
        (b'{"campaign": "nope", "items": []}', 404, "unknown_campaign"),
    ],
)
def test_malformed_bodies_get_a_clear_json_error(client, campaign, body, status, code):
    response = deliver(client, None, body=body)
    assert response.status_code == status and response.json()["error"] == code


def test_a_burst_of_deliveries_is_stored_and_judged_by_the_first_runs_and_the_rest_find_nothing_left(
    client, campaign, eager_tasks, django_capture_on_commit_callbacks
):
    from campaign.services import posts_judge_pending
    from tests.factories import OTHER_TEXTS, TRADING_TEXT

    enrolled_trader(uid=1)
    with django_capture_on_commit_callbacks() as queued:
        deliver(client, {"campaign": campaign.slug, "items": [post_item("orig", 1, text=TRADING_TEXT)]}, delivery="b-1")
        deliver(client, {"campaign": campaign.slug, "items": [post_item("copy", 1, text=TRADING_TEXT + " Same plan.", created_at="2026-02-15T10:00:00+08:00")]}, delivery="b-2")
        deliver(client, {"campaign": campaign.slug, "items": [post_item("other", 1, text=OTHER_TEXTS[0])]}, delivery="b-3")
    assert len(queued) >= 3 and not Post.objects.exists()
    with django_capture_on_commit_callbacks() as judging:
        for callback in queued:
            callback()
    # The first processing run took the three deliveries in one batch, in order; the others found none.
    assert WebhookDelivery.objects.filter(processed_at__isnull=True).count() == 0
    assert len({d.import_run_id for d in WebhookDelivery.objects.all()}) == 1
    assert set(Post.objects.values_list("verdict", flat=True)) == {"pending"}
    assert Post.objects.filter(index_stale=True).count() == 3

    # The first judging run judges every pending post of the burst, near-duplicates included.
    assert posts_judge_pending(campaign=campaign, post_ids=[Post.objects.get(post_id="orig").pk]) == 3
    assert dict(Post.objects.values_list("post_id", "verdict")) == {"orig": "qualified", "copy": "duplicate", "other": "qualified"}
    assert not Post.objects.filter(index_stale=True).exists()
    with django_capture_on_commit_callbacks(execute=True):
        for callback in judging:
            callback()
    assert dict(Post.objects.values_list("post_id", "verdict")) == {"orig": "qualified", "copy": "duplicate", "other": "qualified"}


def test_a_redelivered_post_with_new_engagement_is_rescored_after_it_is_stored(client, campaign, eager_tasks, django_capture_on_commit_callbacks):
    enrolled_trader(uid=1)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, {"campaign": campaign.slug, "items": [post_item("w1", 1, likes=1)]}, delivery="e-1")
    before = Post.objects.get().score
    assert Post.objects.get().verdict == "qualified"
    with django_capture_on_commit_callbacks() as queued:
        deliver(client, {"campaign": campaign.slug, "items": [post_item("w1", 1, likes=50)]}, delivery="e-2")
    with django_capture_on_commit_callbacks() as judging:
        for callback in queued:
            callback()
    assert Post.objects.get().likes == 50 and Post.objects.get().score == before  # stored, not judged yet
    with django_capture_on_commit_callbacks(execute=True):
        for callback in judging:
            callback()
    assert Post.objects.get().score > before


def test_the_five_minute_beat_stores_and_judges_what_a_lost_message_left_behind(client, campaign, settings, django_capture_on_commit_callbacks, eager_tasks):
    from campaign.tasks import feed_pull_open_campaigns

    enrolled_trader(uid=1)
    with django_capture_on_commit_callbacks() as queued:  # the processing message is never sent
        deliver(client, {"campaign": campaign.slug, "items": [post_item("lost", 1)]}, delivery="lost-1")
    assert queued and not Post.objects.exists()
    settings.GATE_FEED_BASE_URL = ""
    now = timezone.now()  # the campaign still collects posts: its window is open today
    Campaign.objects.filter(pk=campaign.pk).update(starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1))
    with django_capture_on_commit_callbacks():  # nor is the judging message
        result = feed_pull_open_campaigns.apply().get()
    assert (list(result["deliveries"]), list(result["judge"]), result["skipped"]) == ([campaign.slug], [campaign.slug], "GATE_FEED_BASE_URL is not set")
    assert WebhookDelivery.objects.get().processed_at is not None
    assert Post.objects.get().verdict != "pending" and not Post.objects.get().index_stale


def test_a_backlog_of_large_deliveries_is_taken_in_batches_bounded_by_items(client, campaign, django_capture_on_commit_callbacks):
    from campaign.services.webhook import webhook_deliveries_process
    from tests.factories import OTHER_TEXTS

    enrolled_trader(uid=1)
    with django_capture_on_commit_callbacks():  # queued only
        for n in range(3):
            items = [post_item(f"b{n}-{i}", 1, text=f"{OTHER_TEXTS[i]} #{n}") for i in range(2)]
            assert deliver(client, {"campaign": campaign.slug, "items": items}, delivery=f"big-{n}").status_code == 202
    with django_capture_on_commit_callbacks():
        assert webhook_deliveries_process(campaign=campaign, batch_items=3) == 3
    runs = [d.import_run_id for d in WebhookDelivery.objects.order_by("id")]
    assert len(set(runs)) == 3  # 2 + 2 items would pass 3: one delivery a batch
    assert Post.objects.count() == 6


def test_a_captured_delivery_replayed_under_a_new_id_is_refused_and_the_newer_figures_stay(client, campaign, eager_tasks, django_capture_on_commit_callbacks):
    """Issue 15: the signature covers the delivery id, so a captured delivery resent within the
    age window under a fresh X-Gate-Delivery no longer rolls the likes back from 400 to 5."""
    enrolled_trader(uid=1)
    old_body = json.dumps({"campaign": campaign.slug, "items": [post_item("w1", 1, likes=5)]}).encode()
    captured = signing.signed_headers(settings.WEBHOOK_SECRET, old_body, now=timezone.now(), delivery_id="old-1")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(URL, data=old_body, content_type="application/json", headers=captured).status_code == 202
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(client, {"campaign": campaign.slug, "items": [post_item("w1", 1, likes=400)]}, delivery="new-1").status_code == 202
    assert Post.objects.get().likes == 400

    replayed = {**captured, signing.DELIVERY_HEADER: "replay-1"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, data=old_body, content_type="application/json", headers=replayed)
    assert response.status_code == 401 and response.json()["error"] == "bad_signature"
    assert not WebhookDelivery.objects.filter(delivery_id="replay-1").exists()
    assert Post.objects.get().likes == 400


def _raw_headers(body, delivery_id):
    """Headers signed as a sender would, for a delivery id that `signed_headers` refuses to sign."""
    import hashlib
    import hmac

    timestamp = str(int(timezone.now().timestamp()))
    message = f"{timestamp}.{delivery_id}.".encode("utf-8", "surrogatepass") + body
    signature = "sha256=" + hmac.new(settings.WEBHOOK_SECRET.encode(), message, hashlib.sha256).hexdigest()
    return {signing.TIMESTAMP_HEADER: timestamp, signing.DELIVERY_HEADER: delivery_id, signing.SIGNATURE_HEADER: signature}


@pytest.mark.parametrize(
    "delivery_id, code",
    [("", "missing_delivery"), ("d.1", "bad_delivery"), ("d 1", "bad_delivery"), ("x" * 201, "bad_delivery"), ("é", "bad_delivery"), ("d/../1", "bad_delivery")],
)
def test_a_missing_or_malformed_delivery_id_is_a_json_400(client, campaign, delivery_id, code):
    body = json.dumps({"campaign": campaign.slug, "items": [post_item("w1", 1)]}).encode()
    response = client.post(URL, data=body, content_type="application/json", headers=_raw_headers(body, delivery_id))
    assert response.status_code == 400 and response.json()["error"] == code and response.json()["detail"]
    assert not WebhookDelivery.objects.exists()


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "body",
    [
        nested(100_000).encode(),  # Python's JSON scanner recurses once a level: RecursionError
        ('{"campaign": "star-lead-traders-2", "items": [%s]}' % nested(100_000)).encode(),
        # An otherwise good delivery whose post carries a field 300 levels deep: 304 in all.
        json.dumps({"campaign": "star-lead-traders-2", "items": [{**post_item("deep", 1), "extra": json.loads(nested(300))}]}).encode(),
    ],
    ids=["100000-arrays", "100000-arrays-as-an-item", "a-field-past-256-levels"],
)
def test_a_body_nested_deeper_than_the_api_takes_is_a_json_400(client, campaign, body):
    response = deliver(client, None, body=body, delivery="deep-1")
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json() == {"error": "bad_json", "detail": "the body is not JSON we take: nested deeper than 256 levels"}
    assert not WebhookDelivery.objects.exists()


def test_a_post_nested_deeper_than_a_record_may_be_is_refused_alone(client, campaign, eager_tasks, django_capture_on_commit_callbacks):
    """RULES.md section 9: no field makes a delivery fail as a whole; the deep item is refused
    with its reason at the door, the good one is stored."""
    payload = {"campaign": campaign.slug, "items": [post_item("good", 1), {**post_item("deep", 1), "extra": json.loads(nested(70))}]}
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, payload, delivery="deep-item")
    assert response.status_code == 202
    assert response.json()["accepted"] == 1 and response.json()["rejected"] == [{"item": 2, "reason": "nested deeper than 64 levels"}]
    assert list(Post.objects.values_list("post_id", flat=True)) == ["good"]


def test_a_body_nested_exactly_as_deep_as_the_api_takes_is_queued(client, campaign):
    from core.api.parsers import MAX_DEPTH, json_depth

    payload = {"campaign": campaign.slug, "items": [{**post_item("deep", 1), "extra": json.loads(nested(MAX_DEPTH - 3))}]}
    assert json_depth(payload) == MAX_DEPTH
    assert deliver(client, payload, delivery="deep-ok").status_code == 202


@pytest.mark.parametrize(
    "body, error",
    [
        (b'{"campaign": "star-lead-traders-2", "items": [], "x": "\xff\xfe"}', "bad_json"),
        ('{"campaign": "star-lead-traders-2", "items": []}'.encode("utf-16"), "bad_json"),  # json.loads(bytes) would take it
        (b'{"campaign": "star-lead-traders-2", "items": [], "x": "\xed\xa0\x80"}', "bad_json"),  # a surrogate spelt in UTF-8
        (b"", "bad_json"),
        (b'{"campaign": "a\\u0000b", "items": []}', "unknown_campaign"),  # PostgreSQL refuses NUL in a query
        (b'{"campaign": "\\ud800", "items": []}', "unknown_campaign"),
        (('{"campaign": "%s", "items": []}' % ("c" * 100_000)).encode(), "unknown_campaign"),
    ],
    ids=["bad-utf8", "utf16", "utf8-surrogate", "empty", "nul-slug", "surrogate-slug", "huge-slug"],
)
def test_bodies_that_are_not_utf8_json_or_name_no_possible_campaign_get_a_json_error(client, campaign, body, error):
    response = deliver(client, None, body=body, delivery="enc-1")
    assert response.status_code in {400, 404} and response.json()["error"] == error
    assert len(response.content) < 1000  # the slug is not echoed whole
    assert not WebhookDelivery.objects.exists()


def test_other_methods_get_a_json_405(client):
    for response in (client.get(URL), client.put(URL, data=b"{}"), client.delete(URL)):
        assert response.status_code == 405 and response.json()["error"] == "method_not_allowed" and response["Allow"] == "POST"


# --- the senders of docs/webhook-contract.md, run as written against a real server ---------------

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "webhook-contract.md"


def contract_block(language, containing):
    blocks = re.findall(rf"^```{language}\n(.*?)^```", CONTRACT.read_text(encoding="utf-8"), re.S | re.M)
    (block,) = [b for b in blocks if containing in b]
    return block


def test_the_python_sender_of_the_contract_delivers_and_a_retry_is_a_409(live_server, transactional_db, campaign):
    namespace = {}
    exec(compile(contract_block("python", "def deliver("), str(CONTRACT), "exec"), namespace)  # noqa: S102 - our own document
    deliver_ = namespace["deliver"]
    url = f"{live_server.url}/hooks/posts/"
    items = [post_item("doc-python", 1)]
    status, answer = deliver_(url, settings.WEBHOOK_SECRET, campaign.slug, items, "doc-python-1")
    assert (status, answer["status"], answer["accepted"]) == (202, "queued", 1)
    assert deliver_(url, settings.WEBHOOK_SECRET, campaign.slug, items, "doc-python-1")[1]["error"] == "replayed_delivery"
    assert deliver_(url, "another-secret", campaign.slug, items, "doc-python-2") == (401, {"error": "bad_signature", "detail": signing.BadSignatureError().message})
    assert list(WebhookDelivery.objects.values_list("delivery_id", flat=True)) == ["doc-python-1"]


@pytest.mark.skipif(not (shutil.which("openssl") and shutil.which("curl")), reason="the shell sender needs openssl and curl")
def test_the_shell_sender_of_the_contract_delivers(live_server, transactional_db, campaign, tmp_path):
    script = contract_block("sh", "openssl dgst")
    script = re.sub(r"^SECRET=.*$", f"SECRET='{settings.WEBHOOK_SECRET}'", script, count=1, flags=re.M)
    script = re.sub(r"^URL=.*$", f"URL='{live_server.url}/hooks/posts/'", script, count=1, flags=re.M)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"delivery": "d-20260220-0001", "status": "queued", "accepted": 1, "rejected": []}
    assert WebhookDelivery.objects.get().delivery_id == "d-20260220-0001"


@pytest.mark.parametrize("batch_size", [1, 500], ids=["one-delivery-a-batch", "one-batch"])
def test_a_delivery_received_first_but_stored_last_never_overwrites_the_figures_received_after_it(client, campaign, django_capture_on_commit_callbacks, batch_size):
    """RULES.md section 3: newest by receipt. Two web processes can take deliveries in one order
    and be handed ids in the other; the worker stores by id, so here it stores the later-received
    delivery first, and the earlier one after it must change nothing."""
    from campaign.services.webhook import webhook_deliveries_process

    enrolled_trader(uid=1)
    with django_capture_on_commit_callbacks():  # queued only: the worker is run by hand below
        assert deliver(client, {"campaign": campaign.slug, "items": [post_item("p", 1, likes=400, views=9000)]}, delivery="received-second").status_code == 202
        assert deliver(client, {"campaign": campaign.slug, "items": [post_item("p", 1, likes=5, views=100)]}, delivery="received-first").status_code == 202
    second = WebhookDelivery.objects.get(delivery_id="received-second")
    WebhookDelivery.objects.filter(delivery_id="received-first").update(received_at=second.received_at - timedelta(seconds=30))
    assert list(WebhookDelivery.objects.order_by("id").values_list("delivery_id", flat=True)) == ["received-second", "received-first"]

    with django_capture_on_commit_callbacks():  # not judged: only the stored figures matter here
        assert webhook_deliveries_process(campaign=campaign, batch_size=batch_size) == 2
    post = Post.objects.get()
    assert (post.likes, post.views) == (400, 9000)
    assert post.last_seen_at == second.received_at  # never moved back to the earlier receipt
    assert not WebhookDelivery.objects.filter(processed_at__isnull=True).exists()


def test_a_delivery_has_at_most_as_many_items_as_an_api_batch(client, campaign, django_capture_on_commit_callbacks):
    """A 5 MB body of 2.6 million zeros was taken item by item: a gigabyte, minutes, and a 136 MB
    answer listing each refusal. The door now refuses more than MAX_BATCH items whole."""
    from core.api.records import MAX_BATCH

    with django_capture_on_commit_callbacks():  # the door only
        response = deliver(client, {"campaign": campaign.slug, "items": [0] * (MAX_BATCH + 1)}, delivery="many-1")
        assert response.status_code == 400
        assert response.json() == {"error": "too_many_items", "detail": "a delivery has at most 2,000 items; this one has 2,001"}
        assert not WebhookDelivery.objects.exists()
        response = deliver(client, {"campaign": campaign.slug, "items": [post_item(str(n), 1) for n in range(MAX_BATCH)]}, delivery="many-2")
    assert response.status_code == 202 and response.json()["accepted"] == MAX_BATCH


def test_the_contract_states_the_limits_the_door_applies():
    from core.api.parsers import MAX_DEPTH
    from core.api.records import MAX_BATCH

    contract = CONTRACT.read_text(encoding="utf-8")
    assert f"at most {MAX_BATCH:,} items" in contract and f"more than {MAX_BATCH:,} items" in contract
    assert f"nested at most {MAX_DEPTH} levels" in contract and f"nested more than {MAX_DEPTH} levels" in contract
    assert f"`MAX_BODY_BYTES` bytes ({5 * 1024 * 1024:,} by default)" in contract
    assert f"1 to {signing.DELIVERY_ID_MAX_LENGTH} characters of `A-Z a-z 0-9 _ : -`" in contract
    assert "`WEBHOOK_MAX_AGE_SECONDS`\n(300 by default)" in contract
    for code in ("too_large", "not_configured", "missing_signature", "bad_timestamp", "missing_delivery", "bad_delivery", "bad_signature",
                 "stale_timestamp", "bad_json", "bad_body", "too_many_items", "unknown_campaign", "replayed_delivery", "method_not_allowed"):  # fmt: skip
        assert f"`{code}`" in contract, code
