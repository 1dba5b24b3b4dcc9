"""The webhook answers once the posts are stored; a real worker on the real broker judges them.

Deliveries run side by side (no campaign lock on the door), so the judging after them must still
pair near-duplicates that arrived at the same moment and leave nothing unjudged.
"""

import json
import threading
import time

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.utils import timezone

from campaign import signing
from campaign.models import Post, WebhookDelivery
from tests.factories import OTHER_TEXTS, TRADING_TEXT, enrolled_trader, post_item

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def deliver(url, slug, items, delivery):
    body = json.dumps({"campaign": slug, "items": items}).encode()
    headers = signing.signed_headers(settings.WEBHOOK_SECRET, body, now=timezone.now(), delivery_id=delivery)
    headers["Content-Type"] = "application/json"
    return requests.post(f"{url}/hooks/posts/", data=body, headers=headers, timeout=30)


def wait_for(predicate, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_deliveries_at_the_same_moment_are_judged_by_the_worker_and_near_copies_still_paired(live_server, celery_worker, campaign):
    enrolled_trader(uid=1)
    items = [
        post_item("first", 1, created_at="2026-02-13T10:00:00+08:00", text=TRADING_TEXT),
        post_item("copy", 1, created_at="2026-02-14T10:00:00+08:00", text=TRADING_TEXT + " Same plan."),
        post_item("other", 1, created_at="2026-02-14T11:00:00+08:00", text=OTHER_TEXTS[0]),
    ]
    barrier, statuses = threading.Barrier(len(items)), []

    def send(i):
        try:
            barrier.wait()
            statuses.append(deliver(live_server.url, campaign.slug, [items[i]], f"same-moment-{i}").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(items))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert statuses == [202, 202, 202]
    assert wait_for(lambda: Post.objects.count() == 3 and not Post.objects.filter(verdict="pending").exists()), "the worker left posts unstored or unjudged"
    assert not WebhookDelivery.objects.filter(processed_at__isnull=True).exists()
    assert dict(Post.objects.values_list("post_id", "verdict")) == {"first": "qualified", "copy": "duplicate", "other": "qualified"}
    assert not Post.objects.filter(index_stale=True).exists()


def test_a_redelivery_with_new_engagement_is_rescored_by_the_worker(live_server, celery_worker, campaign):
    enrolled_trader(uid=1)
    assert deliver(live_server.url, campaign.slug, [post_item("p", 1, likes=1)], "r-1").status_code == 202
    assert wait_for(lambda: Post.objects.filter(post_id="p", verdict="qualified").exists())
    first = Post.objects.get(post_id="p").score
    assert deliver(live_server.url, campaign.slug, [post_item("p", 1, likes=80)], "r-2").status_code == 202
    assert wait_for(lambda: Post.objects.get(post_id="p").score > first), "the new engagement was never scored"
    assert Post.objects.get(post_id="p").likes == 80


def test_a_delivery_never_waits_for_a_judging_run_or_a_settlement_holding_the_campaign_lock(transactional_db, campaign):
    """The campaign lock is FOR NO KEY UPDATE: a post insert's key-share lock on its campaign is
    compatible with it. With a plain FOR UPDATE this delivery would wait for the holder."""
    from django.db import transaction

    from campaign.services import posts_ingest
    from campaign.services.duplicates import duplicates_lock
    from core.reading import item_records

    enrolled_trader(uid=1)
    held, release, errors = threading.Event(), threading.Event(), []

    def holder():
        try:
            with transaction.atomic():
                duplicates_lock(campaign)
                held.set()
                release.wait(30)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")  # waiting on the holder would fail here
            report = posts_ingest(campaign=campaign, records=item_records([post_item("while-locked", 1)]), judge_later=True)
        assert report.run.accepted == 1
        assert Post.objects.get(post_id="while-locked").verdict == "pending"
    finally:
        release.set()
        thread.join(30)
    assert errors == []


def test_a_delivery_that_cannot_be_stored_is_kept_as_failed_and_the_queue_moves_on(client, campaign, django_capture_on_commit_callbacks):
    """The database refuses one post (a trigger stands in for any failure of a delivery's own);
    its delivery is marked failed with the reason, the deliveries around it are stored."""
    from campaign.services.webhook import webhook_deliveries_process
    from core.models import RejectedRecord

    enrolled_trader(uid=1)
    with django_capture_on_commit_callbacks():  # queued only: this test runs the worker's function itself
        for delivery, post_id, text in (("f-1", "before", TRADING_TEXT), ("f-2", "poison", OTHER_TEXTS[0]), ("f-3", "after", OTHER_TEXTS[1])):
            body = json.dumps({"campaign": campaign.slug, "items": [post_item(post_id, 1, text=text)]}).encode()
            headers = signing.signed_headers(settings.WEBHOOK_SECRET, body, now=timezone.now(), delivery_id=delivery)
            assert client.post("/hooks/posts/", data=body, content_type="application/json", headers=headers).status_code == 202
    with connection.cursor() as cursor:  # rolled back with the test's transaction
        cursor.execute(
            "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN IF NEW.post_id = 'poison' THEN "
            "RAISE EXCEPTION 'poison post refused by the test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        cursor.execute("CREATE TRIGGER refuse_poison BEFORE INSERT ON campaign_post FOR EACH ROW EXECUTE FUNCTION refuse_poison()")

    assert webhook_deliveries_process(campaign=campaign) == 3
    assert sorted(Post.objects.values_list("post_id", flat=True)) == ["after", "before"]
    assert not WebhookDelivery.objects.filter(processed_at__isnull=True).exists()
    failed = WebhookDelivery.objects.get(delivery_id="f-2").import_run
    assert (failed.total, failed.accepted, failed.rejected) == (1, 0, 1)
    record = RejectedRecord.objects.get(run=failed)
    assert record.raw == "delivery f-2" and "poison post refused by the test" in record.reason
    assert webhook_deliveries_process(campaign=campaign) == 0  # nothing left, nothing twice
