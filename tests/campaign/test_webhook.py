"""The signed posts webhook: signature, staleness, replay, and the same service behind it."""

import json
from datetime import timedelta

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


def test_only_post_is_allowed(client):
    assert client.get(URL).status_code == 405


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


def test_the_five_minute_beat_stores_and_judges_what_a_lost_message_left_behind(client, campaign, settings, django_capture_on_commit_callbacks):
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
    assert result == {"skipped": "GATE_FEED_BASE_URL is not set", "judged": {campaign.slug: 1}}
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
