"""RULES.md section 3: a post's figures are those of the record received last, whatever order
the records are stored in (a webhook delivery by its receipt, a feed page by its fetch, a file or
API batch by its upload). A record received before the stored version changes nothing."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from campaign.models import EngagementSnapshot, Post
from campaign.services import posts_ingest
from campaign.services.posts import WRITTEN, _posts_upsert
from core.models import ImportRun
from core.reading import SourceRecord, item_records
from tests.factories import enrolled_trader, post_item

pytestmark = pytest.mark.django_db


def received(item, at):
    """One record of `item` as received at `at` (a webhook delivery's `received_at`)."""
    (record,) = item_records([item])
    return SourceRecord(record.line, record.raw, record.data, record.error, seen_at=at)


def ingest(campaign, *records, **kwargs):
    return posts_ingest(campaign=campaign, records=list(records), source=ImportRun.Source.WEBHOOK, **kwargs)


def test_a_delivery_stored_late_never_overwrites_figures_received_after_it(campaign):
    enrolled_trader(uid=1)
    now = timezone.now()
    early, late = now - timedelta(minutes=3), now - timedelta(minutes=1)
    ingest(campaign, received(post_item("p", 1, likes=400, views=9000), late))
    report = ingest(campaign, received(post_item("p", 1, likes=5, views=100, deleted=True), early))
    post = Post.objects.get()
    assert report.ok  # a valid record, only superseded: nothing to refuse
    assert (post.likes, post.views, post.deleted) == (400, 9000, False)
    assert post.last_seen_at == late  # never dated back (SQLite moved it back before)
    assert not EngagementSnapshot.objects.exists()  # the superseded figures are not history either


def test_a_record_received_later_still_wins_even_downwards(campaign):
    enrolled_trader(uid=1)
    now = timezone.now()
    ingest(campaign, received(post_item("p", 1, likes=400), now - timedelta(minutes=3)))
    ingest(campaign, received(post_item("p", 1, likes=5), now - timedelta(minutes=1)))
    post = Post.objects.get()
    assert post.likes == 5 and post.last_seen_at == now - timedelta(minutes=1)
    assert list(EngagementSnapshot.objects.order_by("observed_at").values_list("likes", flat=True)) == [400, 5]


def test_in_one_batch_the_record_received_last_wins_not_the_last_in_order(campaign):
    enrolled_trader(uid=1)
    now = timezone.now()
    ingest(
        campaign,
        received(post_item("p", 1, likes=400), now - timedelta(minutes=1)),
        received(post_item("p", 1, likes=5), now - timedelta(minutes=2)),
    )
    assert Post.objects.get().likes == 400


def test_in_one_file_the_later_line_wins(campaign):
    """Every record of a file is received at its upload: on a tie the later line wins."""
    enrolled_trader(uid=1)
    posts_ingest(campaign=campaign, records=item_records([post_item("p", 1, likes=400), post_item("p", 1, likes=5)]))
    assert Post.objects.get().likes == 5


def test_a_file_is_dated_by_its_upload_not_by_when_its_rows_are_written(campaign):
    """A delivery received while a file is being imported is newer than the file's rows."""
    enrolled_trader(uid=1)
    run_started = timezone.now()
    delivery = received(post_item("p", 1, likes=400), run_started + timedelta(milliseconds=1))
    ingest(campaign, delivery)
    # The file's run started before the delivery arrived: its record of the post changes nothing.
    file_records = item_records([post_item("p", 1, likes=5)])
    run = ImportRun.objects.create(kind=ImportRun.Kind.POSTS)
    ImportRun.objects.filter(pk=run.pk).update(started_at=run_started)
    from campaign.services.post_records import post_parse
    from campaign.services.posts import _posts_write

    with transaction.atomic():
        refused = _posts_write(campaign, [(r, post_parse(r.data)) for r in file_records], received_at=run_started)
    assert refused == []
    assert Post.objects.get().likes == 400


def test_the_upsert_itself_keeps_a_version_received_later(campaign):
    """The guard in the upsert, for a post another writer stored after this write read the rows
    (the same statement on both databases: core.database.rows_upsert)."""
    enrolled_trader(uid=1)
    now = timezone.now()
    ingest(campaign, received(post_item("p", 1, likes=400, text="BTC long " + "y" * 120), now))
    stored = Post.objects.get()
    stale = Post.objects.get()
    stale.pk = None
    stale.likes, stale.text, stale.content_hash = 5, "older text " * 20, "0" * 64
    stale.last_seen_at = stale.first_seen_at = now - timedelta(minutes=5)
    with transaction.atomic():
        ids = _posts_upsert([tuple(getattr(stale, Post._meta.get_field(name).attname) for name in WRITTEN)])
    after = Post.objects.get()
    assert ids == {"p": stored.pk}  # not mistaken for an identity change
    assert (after.likes, after.text, after.content_hash, after.last_seen_at) == (400, stored.text, stored.content_hash, now)
    assert after.judged_at == stored.judged_at and after.index_stale == stored.index_stale
