"""The persistent near-duplicate index (`DuplicateBand`): lookups, the streamed rebuild, recovery."""

import json
import random

import pytest

from campaign.models import DuplicateBand, Post, ReferenceText
from campaign.near_duplicates import band_keys
from campaign.near_duplicates.db import bands_lookup
from campaign.services import posts_import_file, posts_qualify, reference_texts_import
from campaign.services.duplicates import duplicates_rebuild, duplicates_refresh
from tests.campaign.test_duplicates_order import brute_force, variants
from tests.factories import OTHER_TEXTS, TRADING_TEXT, enrolled_trader, post_item

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
    assert DuplicateBand.objects.filter(campaign=campaign, key=0, owner=0).exists()


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
    before = DuplicateBand.objects.count()
    late = post_item("late-copy", 1, created_at="2026-02-23T10:00:00+08:00", text=TRADING_TEXT + " again")
    Post.objects.filter(post_id="b0-orig").update(index_stale=True)  # already indexed: no new rows
    posts_import_file(campaign=campaign, data=jsonl(late))
    assert DuplicateBand.objects.count() == before + 40
    Post.objects.update(index_stale=True)
    Post.objects.filter(post_id__in=["late-copy", "b0-orig", "b1-orig"]).update(index_stale=True)
    Post.objects.exclude(post_id__in=["late-copy", "b0-orig", "b1-orig"]).update(index_stale=False)
    duplicates_rebuild(campaign=campaign)
    assert DuplicateBand.objects.count() == before + 40
    assert links()["late-copy"] == "b0-near"


def test_a_lost_index_is_rebuilt_by_the_next_refresh(campaign):
    enrolled_trader(uid=1)
    posts_import_file(campaign=campaign, data=jsonl(*variants()))
    expected = links()
    # What a crash does to an UNLOGGED table on PostgreSQL: every row gone, the mark too.
    DuplicateBand.objects.all().delete()
    posts_import_file(campaign=campaign, data=jsonl(post_item("new", 1, created_at="2026-02-25T10:00:00+08:00", text=OTHER_TEXTS[0] + " more")))
    assert links() == expected | {"new": "b1-near"}
    assert DuplicateBand.objects.filter(key=0, owner=0).count() == 1
    assert DuplicateBand.objects.count() == 40 * Post.objects.count() + 1


def test_rows_left_by_an_edited_text_never_make_a_candidate(campaign):
    enrolled_trader(uid=1)
    posts_import_file(campaign=campaign, data=jsonl(post_item("a", 1, created_at="2026-02-13T10:00:00+08:00")))
    a = Post.objects.get()
    posts_import_file(campaign=campaign, data=jsonl(post_item("a", 1, created_at="2026-02-13T10:00:00+08:00", text=OTHER_TEXTS[0])))
    assert DuplicateBand.objects.filter(owner=a.id).count() == 80  # the old text's rows stay
    # A later copy of the old text: the stale rows name `a`, whose current text does not match.
    posts_import_file(campaign=campaign, data=jsonl(post_item("b", 1, created_at="2026-02-14T10:00:00+08:00")))
    assert links() == {}
    assert Post.objects.get(post_id="b").verdict == "qualified"


def test_a_refresh_of_nothing_changes_nothing_and_a_second_refresh_is_idempotent(campaign):
    enrolled_trader(uid=1)
    posts_import_file(campaign=campaign, data=jsonl(*variants()))
    assert duplicates_refresh(campaign=campaign) == set()
    ids = set(Post.objects.filter(post_id__startswith="b0").values_list("id", flat=True))
    rows = DuplicateBand.objects.count()
    assert duplicates_refresh(campaign=campaign, post_ids=ids) == ids
    assert DuplicateBand.objects.count() == rows
    assert links() == brute_force(variants())
    posts_qualify(campaign=campaign)
    assert links() == brute_force(variants())
