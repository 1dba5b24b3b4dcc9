"""'Earliest wins' whatever the ingestion order, through the database-backed index."""

import json
from itertools import combinations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign.models import Post, Signup
from campaign.near_duplicates import DEFAULT_THRESHOLD
from campaign.qualification import jaccard_at_least, shingles
from campaign.services import posts_import_file
from tests.factories import OTHER_TEXTS, TRADING_TEXT, band_rows, enrolled_trader, post_item

BASES = [TRADING_TEXT, *OTHER_TEXTS]


def variants():
    """Originals, near-copies (one word changed) and a far copy, with creation times."""
    items = []
    for b, base in enumerate(BASES):
        items.append(post_item(f"b{b}-orig", 1, created_at=f"2026-02-1{3 + b}T10:00:00+08:00", text=base))
        items.append(post_item(f"b{b}-near", 1, created_at=f"2026-02-1{3 + b}T09:00:00+08:00", text=base.replace("the", "a", 1) + " ok"))
        items.append(post_item(f"b{b}-later", 1, created_at=f"2026-02-2{b}T10:00:00+08:00", text=base + " Again."))
        items.append(post_item(f"b{b}-tie", 1, created_at=f"2026-02-1{3 + b}T10:00:00+08:00", text=base + "!"))
    return items


def brute_force(items):
    """The O(n^2) reading of RULES.md: the earliest earlier post with Jaccard >= 0.8."""
    order = {i["post_id"]: (i["created_at"], i["post_id"]) for i in items}  # all offsets are +08:00 here
    sets = {i["post_id"]: shingles(i["text"]) for i in items}
    expected = {}
    for a, b in combinations(sorted(order, key=order.get), 2):
        if b not in expected and jaccard_at_least(sets[a], sets[b], DEFAULT_THRESHOLD):
            expected[b] = a
    return expected


@pytest.mark.usefixtures("ledger_invariants")
@pytest.mark.django_db
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(order=st.permutations(variants()), batch=st.integers(min_value=1, max_value=6))
def test_duplicate_links_do_not_depend_on_ingestion_order_or_batching(campaign, order, batch):
    Post.objects.all().delete()  # hypothesis reuses one database across its examples
    if not Signup.objects.filter(trader__uid=1).exists():
        enrolled_trader(uid=1)
    for i in range(0, len(order), batch):
        chunk = order[i : i + batch]
        assert posts_import_file(campaign=campaign, data="\n".join(json.dumps(x) for x in chunk).encode()).ok
    links = {p.post_id: p.duplicate_of.post_id for p in Post.objects.filter(duplicate_of__isnull=False).select_related("duplicate_of")}
    assert links == brute_force(order)
    assert set(Post.objects.filter(verdict="duplicate").values_list("post_id", flat=True)) == set(links)


@pytest.mark.django_db
def test_a_post_ingested_later_but_created_earlier_flips_the_verdict_of_the_later_copy(campaign):
    enrolled_trader(uid=1)
    posts_import_file(campaign=campaign, data=json.dumps(post_item("late", 1, created_at="2026-02-20T10:00:00+08:00")).encode())
    assert Post.objects.get(post_id="late").verdict == "qualified"
    posts_import_file(campaign=campaign, data=json.dumps(post_item("early", 1, created_at="2026-02-13T10:00:00+08:00", text=TRADING_TEXT + " ")).encode())
    assert dict(Post.objects.values_list("post_id", "verdict")) == {"late": "duplicate", "early": "qualified"}


@pytest.mark.django_db
def test_editing_the_earlier_text_frees_its_former_copy(campaign):
    enrolled_trader(uid=1)
    data = [post_item("a", 1, created_at="2026-02-13T10:00:00+08:00"), post_item("b", 1, created_at="2026-02-14T10:00:00+08:00")]
    posts_import_file(campaign=campaign, data="\n".join(json.dumps(x) for x in data).encode())
    assert Post.objects.get(post_id="b").verdict == "duplicate"
    edited = post_item("a", 1, created_at="2026-02-13T10:00:00+08:00", text=OTHER_TEXTS[0])
    posts_import_file(campaign=campaign, data=json.dumps(edited).encode())
    assert dict(Post.objects.values_list("post_id", "verdict")) == {"a": "qualified", "b": "qualified"}


@pytest.mark.django_db
def test_the_bulk_rebuild_gives_the_same_links_and_index_as_the_incremental_path(campaign):
    from campaign.services import posts_ingest
    from campaign.services.duplicates import duplicates_rebuild
    from core.reading import SourceRecord

    enrolled_trader(uid=1)
    items = variants()
    # One record at a time, judged as it arrives (the webhook's path).
    for n, item in enumerate(reversed(items), start=1):
        posts_ingest(campaign=campaign, records=[SourceRecord(n, json.dumps(item), item)])
    incremental = dict(Post.objects.filter(duplicate_of__isnull=False).values_list("post_id", "duplicate_of__post_id"))
    bands = band_rows()
    assert len(bands) == 40 * len(items) + 1  # 40 keys per post, and the complete mark
    assert incremental == brute_force(items)
    Post.objects.update(duplicate_of=None, index_stale=True)
    duplicates_rebuild(campaign=campaign)
    assert dict(Post.objects.filter(duplicate_of__isnull=False).values_list("post_id", "duplicate_of__post_id")) == incremental
    assert band_rows() == bands
    assert not Post.objects.filter(index_stale=True).exists()


@pytest.mark.django_db
def test_a_crash_between_writing_and_judging_is_finished_by_the_next_qualification(campaign):
    from campaign.services import posts_qualify

    enrolled_trader(uid=1)
    posts_import_file(campaign=campaign, data="\n".join(json.dumps(i) for i in variants()).encode())
    expected = dict(Post.objects.values_list("post_id", "verdict"))
    # As if the process died after the posts were written: links gone, flags left set.
    Post.objects.update(duplicate_of=None, index_stale=True, verdict="pending")
    posts_qualify(campaign=campaign)
    assert dict(Post.objects.values_list("post_id", "verdict")) == expected
