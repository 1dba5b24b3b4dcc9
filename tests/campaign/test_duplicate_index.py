"""The persistent near-duplicate index (`DuplicateBand`): lookups, the streamed rebuild, recovery."""

import json
import random

import pytest

from campaign.models import DuplicateBand, DuplicateBandRecent, Post, ReferenceText
from campaign.near_duplicates import band_keys
from campaign.near_duplicates import db as bands_db
from campaign.near_duplicates.db import BAND_TABLES, bands_lookup, index_complete
from campaign.services import posts_import_file, posts_qualify, reference_texts_import
from campaign.services.duplicates import duplicates_rebuild, duplicates_refresh
from tests.campaign.test_duplicates_order import brute_force, variants
from tests.factories import OTHER_TEXTS, TRADING_TEXT, band_rows, enrolled_trader, post_item

pytestmark = pytest.mark.django_db

REFERENCE = (
    "Weekly desk letter: we keep a small long in BTC perpetual futures, stop loss under the range low, "
    "take profit at the prior high; funding rate stays calm and open interest is flat into Friday."
)


def jsonl(*items):
    return "\n".join(json.dumps(i) for i in items).encode()


def links():
    return dict(Post.objects.filter(duplicate_of__isnull=False).values_list("post_id", "duplicate_of__post_id"))


def test_a_lookup_finds_every_owner_of_a_key_and_never_the_complete_mark(campaign):
    enrolled_trader(uid=1)
    posts_import_file(campaign=campaign, data=jsonl(post_item("a", 1), post_item("b", 1, text=TRADING_TEXT + " !"), post_item("c", 1, text=OTHER_TEXTS[0])))
    a, b = (Post.objects.get(post_id=p) for p in "ab")
    shared = set(band_keys(bytes(a.signature))) & set(band_keys(bytes(b.signature)))
    assert shared
    found = bands_lookup(campaign, shared | {0})
    assert {owner for _, owner in found} == {a.id, b.id}
    assert index_complete(campaign)


def test_the_streamed_rebuild_equals_the_brute_force_links_with_references_and_identical_copies(campaign):
    enrolled_trader(uid=1)
    reference_texts_import(campaign=campaign, data=REFERENCE.encode())
    items = variants()
    items += [post_item(f"copy{i}", 1, created_at="2026-02-22T10:00:00+08:00", text="  " + OTHER_TEXTS[2].upper()) for i in range(5)]
    items.append(post_item("refcopy", 1, text=REFERENCE + " yes"))
    random.Random(1).shuffle(items)
    posts_import_file(campaign=campaign, data=jsonl(*items))
    ref = ReferenceText.objects.get()
    expected = brute_force([i for i in items if i["post_id"] != "refcopy"])
    assert links() == expected
    assert Post.objects.get(post_id="refcopy").duplicate_of_reference == ref

    Post.objects.update(duplicate_of=None, duplicate_of_reference=None)
    changed = duplicates_rebuild(campaign=campaign)
    assert links() == expected
    assert Post.objects.get(post_id="refcopy").duplicate_of_reference == ref
    linked = Post.objects.filter(duplicate_of__isnull=False) | Post.objects.filter(duplicate_of_reference__isnull=False)
    assert changed == set(linked.values_list("id", flat=True))
    assert duplicates_rebuild(campaign=campaign) == set()  # idempotent


def test_a_rebuild_with_few_stale_posts_adds_their_rows_and_keeps_the_others(campaign):
    enrolled_trader(uid=1)
    posts_import_file(campaign=campaign, data=jsonl(*variants()))
    before = len(band_rows())
    late = post_item("late-copy", 1, created_at="2026-02-23T10:00:00+08:00", text=TRADING_TEXT + " again")
    Post.objects.filter(post_id="b0-orig").update(index_stale=True)  # already indexed: no new rows
    posts_import_file(campaign=campaign, data=jsonl(late))
    assert len(band_rows()) == before + 40
    Post.objects.update(index_stale=True)
    Post.objects.filter(post_id__in=["late-copy", "b0-orig", "b1-orig"]).update(index_stale=True)
    Post.objects.exclude(post_id__in=["late-copy", "b0-orig", "b1-orig"]).update(index_stale=False)
    duplicates_rebuild(campaign=campaign)
    assert len(band_rows()) == before + 40
    assert links()["late-copy"] == "b0-near"


def test_a_lost_index_is_rebuilt_by_the_next_refresh(campaign):
    enrolled_trader(uid=1)
    posts_import_file(campaign=campaign, data=jsonl(*variants()))
    expected = links()
    # What a crash does to an UNLOGGED table on PostgreSQL: every row gone, the mark too.
    for model in BAND_TABLES:
        model.objects.all().delete()
    posts_import_file(campaign=campaign, data=jsonl(post_item("new", 1, created_at="2026-02-25T10:00:00+08:00", text=OTHER_TEXTS[0] + " more")))
    assert links() == expected | {"new": "b1-near"}
    assert band_rows(key=0, owner=0) == [(0, 0)]
    assert len(band_rows()) == 40 * Post.objects.count() + 1


def test_rows_left_by_an_edited_text_never_make_a_candidate(campaign):
    enrolled_trader(uid=1)
    posts_import_file(campaign=campaign, data=jsonl(post_item("a", 1, created_at="2026-02-13T10:00:00+08:00")))
    a = Post.objects.get()
    posts_import_file(campaign=campaign, data=jsonl(post_item("a", 1, created_at="2026-02-13T10:00:00+08:00", text=OTHER_TEXTS[0])))
    assert len(band_rows(owner=a.id)) == 80  # the old text's rows stay
    # A later copy of the old text: the stale rows name `a`, whose current text does not match.
    posts_import_file(campaign=campaign, data=jsonl(post_item("b", 1, created_at="2026-02-14T10:00:00+08:00")))
    assert links() == {}
    assert Post.objects.get(post_id="b").verdict == "qualified"


def test_a_refresh_of_nothing_changes_nothing_and_a_second_refresh_is_idempotent(campaign):
    enrolled_trader(uid=1)
    posts_import_file(campaign=campaign, data=jsonl(*variants()))
    assert duplicates_refresh(campaign=campaign) == set()
    ids = set(Post.objects.filter(post_id__startswith="b0").values_list("id", flat=True))
    rows = band_rows()
    assert duplicates_refresh(campaign=campaign, post_ids=ids) == ids
    assert band_rows() == rows
    assert links() == brute_force(variants())
    posts_qualify(campaign=campaign)
    assert links() == brute_force(variants())


def test_texts_indexed_after_a_rewrite_go_to_the_small_table_and_a_rewrite_empties_it(campaign):
    enrolled_trader(uid=1)
    posts_import_file(campaign=campaign, data=jsonl(*variants()))
    Post.objects.update(index_stale=True)
    duplicates_rebuild(campaign=campaign)  # every post stale: the rows are rewritten in the large table
    assert DuplicateBandRecent.objects.count() == 0
    large = DuplicateBand.objects.count()
    late = post_item("late-copy", 1, created_at="2026-02-23T10:00:00+08:00", text=TRADING_TEXT + " again")
    posts_import_file(campaign=campaign, data=jsonl(late))
    assert DuplicateBand.objects.count() == large
    assert DuplicateBandRecent.objects.exclude(owner=0).count() == 40
    assert links()["late-copy"] == "b0-near"
    Post.objects.update(index_stale=True)
    duplicates_rebuild(campaign=campaign)
    assert DuplicateBandRecent.objects.count() == 0
    assert DuplicateBand.objects.count() == large + 40


def test_a_full_small_table_is_merged_into_the_large_one_and_the_answers_stay(campaign, monkeypatch):
    monkeypatch.setattr(bands_db, "RECENT_ROWS", 50)
    monkeypatch.setattr(bands_db, "MERGE_CHECK", 1)
    enrolled_trader(uid=1)
    items = variants()
    posts_import_file(campaign=campaign, data=jsonl(*items[:2]))  # the first texts: the small table, with the mark
    rows = band_rows()
    assert DuplicateBandRecent.objects.count() == len(rows)
    posts_import_file(campaign=campaign, data=jsonl(*items[2:]))  # more than 50 rows waiting: merged first
    assert set(rows) <= set(DuplicateBand.objects.values_list("key", "owner"))
    assert not set(rows) & set(DuplicateBandRecent.objects.exclude(owner=0).values_list("key", "owner"))  # the mark is added again
    assert index_complete(campaign)
    assert links() == brute_force(items)


def test_a_row_held_by_both_tables_is_found_once(campaign):
    enrolled_trader(uid=1)
    posts_import_file(campaign=campaign, data=jsonl(post_item("a", 1), post_item("b", 1, text=TRADING_TEXT + " !")))
    a, b = (Post.objects.get(post_id=p) for p in "ab")
    keys = sorted(set(band_keys(bytes(a.signature))))
    DuplicateBand.objects.bulk_create([DuplicateBand(campaign=campaign, key=key, owner=a.id) for key in keys])
    found = bands_lookup(campaign, keys)
    assert sorted(found) == sorted({(key, owner) for key, owner in band_rows(key__in=keys)})
    assert len(found) == len(set(found))
