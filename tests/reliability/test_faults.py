"""Faults on purpose, against the real PostgreSQL: nothing lost, nothing paid or stored twice."""

import json
import threading
from datetime import datetime
from decimal import Decimal

import psycopg
import pytest
import requests
from django.conf import settings
from django.db import OperationalError, connection
from django.utils import timezone

from campaign import signing
from campaign.models import Post, Signup, WebhookDelivery
from campaign.services import posts_import_file, signups_import
from core.models import ImportRun
from rewards.invariants import frozen_rewards, ledger_violations
from rewards.models import ReviewItem, Reward
from rewards.services import settle_campaign
from tests.factories import enrolled_trader, post_item
from tests.rewards.scenario import REGISTRATIONS, SIGNUPS, STATS, posts_jsonl
from traders.services import registrations_import, trader_stats_import

pytestmark = pytest.mark.postgres
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")


def in_threads(target, n):
    barrier, errors = threading.Barrier(n), []

    def run(i):
        try:
            barrier.wait()
            target(i)
        except Exception as exc:  # noqa: BLE001 - reported by the caller's assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_the_same_webhook_delivered_five_times_at_once_stores_one_post(live_server, transactional_db, campaign, eager_tasks):
    enrolled_trader(uid=1)
    body = json.dumps({"campaign": campaign.slug, "items": [post_item("once", 1, likes=3)]}).encode()
    headers = signing.signed_headers(settings.WEBHOOK_SECRET, body, now=timezone.now(), delivery_id="dup-1")
    headers["Content-Type"] = "application/json"
    statuses = []
    errors = in_threads(lambda i: statuses.append(requests.post(f"{live_server.url}/hooks/posts/", data=body, headers=headers, timeout=30).status_code), 5)
    assert errors == []
    assert sorted(statuses) == [202, 409, 409, 409, 409]
    assert Post.objects.filter(post_id="once").count() == 1 and WebhookDelivery.objects.count() == 1
    assert Post.objects.get(post_id="once").verdict == "qualified"  # judged once the delivery committed


class DropConnectionAfterFirstChunk:
    """A progress bar whose second update kills our PostgreSQL session from outside, the way a
    failover or an idle-killer would."""

    def __init__(self):
        self.calls = 0

    def update(self, n):
        self.calls += 1
        if self.calls == 1:
            pid = connection.connection.info.backend_pid
            db = settings.DATABASES["default"]
            with psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"], dbname=connection.settings_dict["NAME"], autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_a_dropped_database_connection_during_an_import_is_reported_and_a_rerun_completes_it(transactional_db, campaign):
    rows = "".join(f"{uid},2026-02-13T10:00:00Z,h{uid},\n" for uid in range(1, 5001))
    data = ("uid,submitted_at,square_handle,contact\n" + rows).encode()
    with pytest.raises(OperationalError):
        signups_import(campaign=campaign, data=data, progress=DropConnectionAfterFirstChunk())
    connection.close()
    unfinished = ImportRun.objects.get()
    # The run shows it never finished, and what it did: its counters commit with each chunk.
    assert unfinished.finished_at is None and (unfinished.total, unfinished.accepted, unfinished.last_line) == (2000, 2000, 2001)
    assert Signup.objects.count() == 2000  # the first chunk committed, the rest did not
    report = signups_import(campaign=campaign, data=data)
    assert report.ok and Signup.objects.count() == 5000


def load(campaign):
    registrations_import(data=REGISTRATIONS.encode())
    signups_import(campaign=campaign, data=SIGNUPS.encode())
    trader_stats_import(data=STATS.encode())
    posts_import_file(campaign=campaign, data=posts_jsonl().encode())


def test_beat_firing_the_same_settlement_twice_at_once_gives_one_result(transactional_db, campaign):
    load(campaign)
    settle_campaign(campaign=campaign, at=DUE)
    reference = sorted(Reward.objects.values_list("trader__uid", "kind", "period", "amount", "state"))
    Reward.objects.all().delete()
    errors = in_threads(lambda i: settle_campaign(campaign=campaign, at=DUE, triggered_by=f"beat-{i}"), 4)
    assert errors == []
    assert sorted(Reward.objects.values_list("trader__uid", "kind", "period", "amount", "state")) == reference
    assert ledger_violations(campaign=campaign) == []


def test_approved_rewards_survive_concurrent_resettlements_untouched(transactional_db, campaign):
    load(campaign)
    settle_campaign(campaign=campaign, at=DUE)
    Reward.objects.filter(kind="leaderboard").update(state="approved", approved_by="fin", approved_at=timezone.now())
    frozen = frozen_rewards(campaign=campaign)
    Post.objects.filter(author__uid=1002).update(likes=400, judged_at=None)  # 1002 overtakes 1001 on the board
    errors = in_threads(lambda i: settle_campaign(campaign=campaign, at=DUE), 3)
    assert errors == []
    assert frozen_rewards(campaign=campaign) == frozen
    # Both approved leaderboard rewards would swap amounts: one review item each, not one per run.
    assert sorted(ReviewItem.objects.values_list("reward__trader__uid", "stored_amount", "computed_amount")) == [
        (1001, Decimal("4000.00"), Decimal("3000.00")),
        (1002, Decimal("3000.00"), Decimal("4000.00")),
    ]
    assert ledger_violations(campaign=campaign) == []


def test_two_halves_of_a_near_duplicate_pair_arriving_at_once_are_still_paired(transactional_db, campaign):
    from campaign.services import posts_ingest
    from core.reading import SourceRecord
    from tests.factories import TRADING_TEXT

    enrolled_trader(uid=1)
    items = [
        post_item("first", 1, created_at="2026-02-13T10:00:00+08:00", text=TRADING_TEXT),
        post_item("copy", 1, created_at="2026-02-14T10:00:00+08:00", text=TRADING_TEXT + " Same plan."),
    ]
    for _ in range(3):  # several rounds: a race needs more than one chance to show itself
        Post.objects.all().delete()
        errors = in_threads(lambda i: posts_ingest(campaign=campaign, records=[SourceRecord(1, json.dumps(items[i]), items[i])]), 2)
        assert errors == []
        assert dict(Post.objects.values_list("post_id", "verdict")) == {"first": "qualified", "copy": "duplicate"}
