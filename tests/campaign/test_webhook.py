"""The signed posts webhook: signature, staleness, replay, and the same service behind it."""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from campaign import signing
from campaign.models import Post, WebhookDelivery
from tests.factories import enrolled_trader, post_item

pytestmark = pytest.mark.django_db
URL = "/hooks/posts/"


def deliver(client, payload, *, delivery="d-1", secret=None, now=None, body=None, headers=None):
    body = body if body is not None else json.dumps(payload).encode()
    sent = signing.signed_headers(secret or settings.WEBHOOK_SECRET, body, now=now or timezone.now(), delivery_id=delivery)
    sent.update(headers or {})
    return client.post(URL, data=body, content_type="application/json", headers=sent)


def test_a_valid_delivery_goes_through_the_posts_service(client, campaign):
    enrolled_trader(uid=1)
    response = deliver(client, {"campaign": campaign.slug, "items": [post_item("w1", 1), post_item("w2", 1, created_at="2026-02-14T12:00:00"), 7]})
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 1
    assert body["rejected"] == [
        {"item": 2, "reason": "created_at has no UTC offset (add Z or +HH:MM): '2026-02-14T12:00:00'"},
        {"item": 3, "reason": "expected a JSON object"},
    ]
    assert Post.objects.get().verdict == "qualified"
    assert WebhookDelivery.objects.get().import_run_id == body["run"]


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
    assert deliver(client, {"campaign": campaign.slug, "items": []}, now=timezone.now() - timedelta(seconds=290), delivery="ok").status_code == 200


def test_a_replayed_delivery_is_refused_and_changes_nothing(client, campaign):
    payload = {"campaign": campaign.slug, "items": [post_item("w1", 1, likes=5)]}
    assert deliver(client, payload, delivery="same").status_code == 200
    payload["items"][0]["likes"] = 500
    response = deliver(client, payload, delivery="same")
    assert response.status_code == 409 and response.json()["error"] == "replayed_delivery"
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
