"""Engagement history (issue 9): kept from the first change of a post's figures, through every door."""

import json
from datetime import datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaign import signing
from campaign.models import EngagementSnapshot, Post
from campaign.services import posts_import_file
from tests.factories import OTHER_TEXTS, enrolled_trader, post_item

pytestmark = pytest.mark.django_db

T1 = datetime.fromisoformat("2026-02-14T13:00:00+08:00")
T2 = T1 + timedelta(hours=2)
T3 = T2 + timedelta(hours=2)
T4 = T3 + timedelta(hours=2)


def jsonl(*items):
    return ("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n").encode()


def ingest_at(at, campaign, *items):
    with time_machine.travel(at, tick=False):
        report = posts_import_file(campaign=campaign, data=jsonl(*items))
    assert report.ok, report.errors
    return report


def history(post_id="p1"):
    return list(
        EngagementSnapshot.objects.filter(post__post_id=post_id)
        .order_by("observed_at", "id")
        .values_list("observed_at", "likes", "comments", "shares", "views")
    )


@pytest.fixture
def author(db):
    return enrolled_trader(uid=1)


def test_a_first_ingest_writes_no_history(campaign, author):
    ingest_at(T1, campaign, post_item("p1", 1, likes=3), post_item("p2", 1, text=OTHER_TEXTS[0], views=900))
    assert Post.objects.count() == 2
    assert not EngagementSnapshot.objects.exists()


def test_the_first_change_records_the_stored_figures_when_last_seen_and_the_new_ones(campaign, author):
    ingest_at(T1, campaign, post_item("p1", 1, likes=3, views=120))
    ingest_at(T2, campaign, post_item("p1", 1, likes=40, comments=2, shares=1, views=5000))
    assert history() == [(T1, 3, 0, 0, 120), (T2, 40, 2, 1, 5000)]
    post = Post.objects.get(post_id="p1")
    assert (post.likes, post.comments, post.shares, post.views, post.last_seen_at, post.first_seen_at) == (40, 2, 1, 5000, T2, T1)


def test_a_further_change_writes_one_row(campaign, author):
    ingest_at(T1, campaign, post_item("p1", 1, likes=3))
    ingest_at(T2, campaign, post_item("p1", 1, likes=40))
    ingest_at(T3, campaign, post_item("p1", 1, likes=39))  # the newest wins, even going down
    assert history() == [(T1, 3, 0, 0, 0), (T2, 40, 0, 0, 0), (T3, 39, 0, 0, 0)]
    assert Post.objects.get(post_id="p1").likes == 39


def test_reingesting_identical_figures_writes_nothing(campaign, author):
    ingest_at(T1, campaign, post_item("p1", 1, likes=3))
    ingest_at(T2, campaign, post_item("p1", 1, likes=3))
    assert not EngagementSnapshot.objects.exists()
    assert Post.objects.get(post_id="p1").last_seen_at == T2  # seen again, nothing changed
    ingest_at(T3, campaign, post_item("p1", 1, likes=8))
    ingest_at(T4, campaign, post_item("p1", 1, likes=8))
    ingest_at(T4 + timedelta(minutes=1), campaign, post_item("p1", 1, likes=8))
    assert history() == [(T2, 3, 0, 0, 0), (T3, 8, 0, 0, 0)]


def test_a_change_after_unchanged_reingests_also_records_when_the_old_figures_were_last_seen(campaign, author):
    # Otherwise the interval of the jump to 900 would run from T2, not from T3.
    ingest_at(T1, campaign, post_item("p1", 1, likes=3))
    ingest_at(T2, campaign, post_item("p1", 1, likes=8))
    ingest_at(T3, campaign, post_item("p1", 1, likes=8))
    ingest_at(T4, campaign, post_item("p1", 1, likes=900))
    assert history() == [(T1, 3, 0, 0, 0), (T2, 8, 0, 0, 0), (T3, 8, 0, 0, 0), (T4, 900, 0, 0, 0)]


def test_a_text_or_deletion_change_alone_writes_no_history(campaign, author):
    ingest_at(T1, campaign, post_item("p1", 1, likes=3))
    ingest_at(T2, campaign, post_item("p1", 1, likes=3, text=OTHER_TEXTS[1], deleted=True))
    assert Post.objects.get(post_id="p1").deleted
    assert not EngagementSnapshot.objects.exists()


def test_a_refused_identity_change_writes_no_history(campaign, author):
    ingest_at(T1, campaign, post_item("p1", 1, likes=3))
    with time_machine.travel(T2, tick=False):
        report = posts_import_file(campaign=campaign, data=jsonl(post_item("p1", 2, likes=500)))
    assert not report.ok
    assert Post.objects.get(post_id="p1").likes == 3
    assert not EngagementSnapshot.objects.exists()


def test_the_history_of_a_chunk_is_written_in_one_insert(campaign, author):
    items = [post_item(f"p{i}", 1, text=f"{OTHER_TEXTS[0]} #{i}") for i in range(50)]
    ingest_at(T1, campaign, *items)
    with CaptureQueriesContext(connection) as queries, time_machine.travel(T2, tick=False):
        assert posts_import_file(campaign=campaign, data=jsonl(*[{**item, "likes": 7} for item in items])).ok
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "campaign_engagementsnapshot"')]
    assert len(inserts) == 1
    assert EngagementSnapshot.objects.count() == 100
    assert EngagementSnapshot.objects.filter(observed_at=T2, likes=7).count() == 50


def test_the_file_import_command_keeps_the_history(tmp_path, campaign, author):
    path = tmp_path / "posts.jsonl"
    for at, likes in ((T1, 3), (T2, 3), (T3, 60)):
        path.write_bytes(jsonl(post_item("p1", 1, likes=likes)))
        with time_machine.travel(at, tick=False):
            call_command("import_posts", "--campaign", campaign.slug, str(path), "--no-progress")
    assert history() == [(T2, 3, 0, 0, 0), (T3, 60, 0, 0, 0)]


def deliver(client, campaign, item, delivery):
    body = json.dumps({"campaign": campaign.slug, "items": [item]}).encode()
    headers = signing.signed_headers(settings.WEBHOOK_SECRET, body, now=timezone.now(), delivery_id=delivery)
    response = client.post("/hooks/posts/", data=body, content_type="application/json", headers=headers)
    assert response.status_code == 202 and response.json()["accepted"] == 1
    return response


def test_the_webhook_keeps_the_history(client, campaign, author, eager_tasks, django_capture_on_commit_callbacks):
    for n, (at, likes) in enumerate(((T1, 3), (T2, 45), (T3, 45), (T4, 45))):
        with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks(execute=True):  # queued, then stored
            deliver(client, campaign, post_item("p1", 1, likes=likes), delivery=f"d-{n}")
    assert history() == [(T1, 3, 0, 0, 0), (T2, 45, 0, 0, 0)]
    assert Post.objects.get(post_id="p1").last_seen_at == T4


def test_a_queued_delivery_is_dated_by_its_receipt_not_by_when_a_worker_stored_it(client, campaign, author, django_capture_on_commit_callbacks):
    from campaign.services.webhook import webhook_deliveries_process

    ingest_at(T1, campaign, post_item("p1", 1, likes=3))
    for n, (at, likes) in enumerate(((T2, 45), (T3, 90))):
        with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks():  # queued, the worker is away
            deliver(client, campaign, post_item("p1", 1, likes=likes), delivery=f"late-{n}")
    with time_machine.travel(T4, tick=False), django_capture_on_commit_callbacks():
        assert webhook_deliveries_process(campaign=campaign, batch_size=1) == 2  # one delivery a batch
    # Without the receipt time both changes would be dated T4, a second apart: a false jump.
    assert history() == [(T1, 3, 0, 0, 0), (T2, 45, 0, 0, 0), (T3, 90, 0, 0, 0)]
    assert Post.objects.get(post_id="p1").last_seen_at == T3


def test_the_post_admin_page_shows_the_history_newest_first(client, campaign, author):
    from django.contrib.auth.models import User

    ingest_at(T1, campaign, post_item("p1", 1, likes=3))
    ingest_at(T2, campaign, post_item("p1", 1, likes=40, views=250))
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw"))
    html = client.get(f"/admin/campaign/post/{Post.objects.get(post_id='p1').pk}/change/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    inline = html.index("Engagement history (newest first)")
    # Local time (Asia/Shanghai, labelled UTC+8); the newer observation (score 1 + 40 + 2 = 43) comes first.
    newer, older = html.index("2026-02-14 15:00 UTC+8", inline), html.index("2026-02-14 13:00 UTC+8", inline)
    assert newer < older
    assert html.index(">43<", newer) < older


@pytest.mark.postgres
def test_two_imports_changing_one_post_at_once_record_its_changes_one_after_the_other(transactional_db, campaign):
    import threading

    enrolled_trader(uid=1)
    for round_ in range(3):  # a race needs more than one chance to show itself
        Post.objects.all().delete()
        posts_import_file(campaign=campaign, data=jsonl(post_item("p1", 1, likes=1)))
        seen = Post.objects.get().last_seen_at
        barrier, errors, uploaded = threading.Barrier(2), [], {}

        def run(likes):
            try:
                barrier.wait()
                report = posts_import_file(campaign=campaign, data=jsonl(post_item("p1", 1, likes=likes)))
                uploaded[likes] = report.run.started_at
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=run, args=(likes,)) for likes in (600, 700)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        rows = history()
        # Newest by upload (RULES.md section 3): the post holds the figures of the import that
        # started last, whichever committed last; the other import's figures are history only if
        # it committed first (it is then older than nothing stored), never after.
        last_upload = max(uploaded, key=uploaded.get) if uploaded[600] != uploaded[700] else Post.objects.get().likes
        assert [likes for _, likes, *_ in rows][0] == 1 and rows[0][0] == seen and len(rows) in (2, 3), (round_, rows)
        assert rows[-1][1] == Post.objects.get().likes == last_upload  # the history ends with the figures the post holds
        assert {likes for _, likes, *_ in rows[1:-1]} <= {600, 700} - {last_upload}
        assert [at for at, *_ in rows] == sorted(at for at, *_ in rows)
