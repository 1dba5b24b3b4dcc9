"""The contract of core.database: each function gives the same observable result on whichever
database is configured (SQLite by default; PostgreSQL when DATABASE_URL is set). Run it both ways.

And the rule that makes it the one place: no module of the apps reads `connection.vendor` but it.
"""

import ast
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from campaign.models import DuplicateBand, DuplicateBandRecent, IndexMark, Post
from campaign.services.posts import WRITTEN, _posts_upsert
from core.database import binary_collation, rows_batches, rows_insert, rows_lookup, rows_move, rows_replace, rows_take, rows_update, rows_upsert, values_binary
from tests.factories import CampaignFactory, TraderFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def stored_post(campaign, post_id, *, author=None, seen=None, **fields):
    seen = seen or timezone.now()
    defaults = {"text": f"text of {post_id}", "content_hash": "a" * 64, "created_at": seen - timedelta(days=1), "first_seen_at": seen, "last_seen_at": seen}
    return Post.objects.create(campaign=campaign, post_id=post_id, author=author or TraderFactory(uid=1), **{**defaults, **fields})


def record_of(post, **changes):
    """An unsaved copy of `post` with `changes`: what a writer proposes for it."""
    copy = Post(**{f.attname: getattr(post, f.attname) for f in Post._meta.concrete_fields if not f.primary_key})
    for name, value in changes.items():
        setattr(copy, name, value)
    return copy


NEWER = "excluded.last_seen_at >= t.last_seen_at"
KEEP_NEWEST = {
    "likes": f"CASE WHEN {NEWER} THEN excluded.likes ELSE t.likes END",
    "last_seen_at": f"CASE WHEN {NEWER} THEN excluded.last_seen_at ELSE t.last_seen_at END",
}


def upsert(posts):
    return dict(
        rows_upsert(model=Post, objs=posts, conflict=("campaign_id", "post_id"), assign=KEEP_NEWEST, where="t.author_id = excluded.author_id", returning=("post_id", "id"))
    )


def test_an_upsert_inserts_new_rows_and_returns_their_keys(campaign):
    now = timezone.now()
    template = stored_post(campaign, "template", seen=now)
    ids = upsert([record_of(template, post_id="p", likes=3), record_of(template, post_id="q", likes=4)])
    assert ids == dict(Post.objects.filter(post_id__in=["p", "q"]).values_list("post_id", "id"))
    assert dict(Post.objects.filter(post_id__in=["p", "q"]).values_list("post_id", "likes")) == {"p": 3, "q": 4}


def test_an_upsert_keeps_the_version_received_last_and_never_moves_last_seen_back(campaign):
    now = timezone.now()
    stored = stored_post(campaign, "p", likes=400, seen=now)
    assert upsert([record_of(stored, likes=5, last_seen_at=now - timedelta(minutes=5))]) == {"p": stored.pk}
    assert Post.objects.values_list("likes", "last_seen_at").get() == (400, now)
    upsert([record_of(stored, likes=7, last_seen_at=now + timedelta(microseconds=1))])
    assert Post.objects.values_list("likes", "last_seen_at").get() == (7, now + timedelta(microseconds=1))


def test_an_upsert_leaves_a_row_its_condition_refuses_and_does_not_return_it(campaign):
    stored = stored_post(campaign, "p", likes=3)
    other = TraderFactory(uid=2)
    assert upsert([record_of(stored, author_id=other.pk, likes=999, last_seen_at=timezone.now() + timedelta(hours=1))]) == {}
    assert Post.objects.values_list("author__uid", "likes").get() == (1, 3)


def as_written(post: Post) -> tuple:
    """A post as the posts write gives it to the upsert (`WRITTEN` fields)."""
    return tuple(getattr(post, Post._meta.get_field(name).attname) for name in WRITTEN)


def test_the_posts_upsert_keeps_everything_of_a_version_received_later(campaign):
    now = timezone.now()
    stored = stored_post(campaign, "p", likes=400, index_stale=False, judged_at=now, signature=b"\x01\x02", seen=now)
    older = record_of(stored, likes=5, text="older", content_hash="0" * 64, index_stale=True, judged_at=None, last_seen_at=now - timedelta(minutes=5))
    assert _posts_upsert([as_written(older)]) == {"p": stored.pk}
    after = Post.objects.get()
    assert (after.likes, after.text, after.content_hash, after.last_seen_at) == (400, stored.text, stored.content_hash, now)
    assert (after.index_stale, after.judged_at, bytes(after.signature)) == (False, now, b"\x01\x02")


def test_the_posts_upsert_takes_a_later_version_and_keeps_its_verdict_only_if_nothing_judged_changed(campaign):
    now = timezone.now()
    stored = stored_post(campaign, "p", likes=4, index_stale=False, judged_at=now, seen=now)
    later = now + timedelta(minutes=1)
    _posts_upsert([as_written(record_of(stored, last_seen_at=later, judged_at=now))])  # unchanged figures
    assert Post.objects.values_list("judged_at", "index_stale", "last_seen_at").get() == (now, False, later)
    _posts_upsert([as_written(record_of(stored, likes=5, content_hash="b" * 64, last_seen_at=later + timedelta(minutes=1), judged_at=now, index_stale=False))])
    assert Post.objects.values_list("likes", "judged_at", "index_stale").get() == (5, None, True)  # a new text waits for the index


def test_binary_collation_orders_by_code_point(campaign):
    names = ["b", "B", "a", "Z", "é", "É", "z", "ｚ", "😀", "中", "10", "9", "_"]
    author = TraderFactory(uid=1)
    for name in names:
        stored_post(campaign, name, author=author)
    ordered = list(Post.objects.order_by(binary_collation("post_id")).values_list("post_id", flat=True))
    assert ordered == sorted(names)  # Python compares strings by code point
    above = Post.objects.annotate(by_code_point=binary_collation("post_id")).filter(by_code_point__gt="Z")
    assert sorted(above.values_list("post_id", flat=True)) == sorted(name for name in names if name > "Z")


def test_values_binary_round_trips_bytes_text_numbers_and_instants(campaign):
    now = timezone.now()
    stored_post(campaign, "p", signature=bytes(range(256)), likes=2**31 - 1, views=2**62, text="中文 😀 tab\there", seen=now)
    rows = Post.objects.order_by().values_list("post_id", "signature", "likes", "views", "text", "last_seen_at", "deleted")
    (row,) = values_binary(rows)
    assert (row[0], bytes(row[1]), *row[2:]) == ("p", bytes(range(256)), 2**31 - 1, 2**62, "中文 😀 tab\there", now, False)


def test_batches_give_every_row_once_and_leave_out_rows_inserted_meanwhile(campaign):
    author = TraderFactory(uid=1)
    expected = {stored_post(campaign, f"p{i}", author=author).pk for i in range(7)}
    seen, sizes = [], []
    for batch in rows_batches(Post.objects.order_by().values_list("id", "likes"), size=3):
        sizes.append(len(batch))
        seen.extend(pk for pk, _ in batch)
        Post.objects.filter(pk__in=[pk for pk, _ in batch]).update(likes=1)  # the caller writes what it was given
        stored_post(campaign, f"late{len(seen)}", author=author)
    assert sorted(seen) == sorted(expected) and max(sizes) == 3 and sum(sizes) == 7


def test_batches_of_an_empty_queryset_are_none(campaign):
    assert list(rows_batches(Post.objects.values_list("id"), size=3)) == []


def test_a_bulk_update_writes_each_row_its_values_where_the_guard_holds(campaign):
    author = TraderFactory(uid=1)
    p, q = stored_post(campaign, "p", author=author), stored_post(campaign, "q", author=author, content_hash="b" * 64)
    changed = rows_update(
        model=Post,
        values=("id", "text_length", "trading_term", "content_hash"),
        rows=[(p.pk, 11, True, "a" * 64), (q.pk, 22, False, "stale" + "0" * 59)],  # q's text changed since it was read
        assign={"text_length": "v.text_length", "trading_term": "v.trading_term"},
        where="t.id = v.id AND t.content_hash = v.content_hash",
    )
    assert changed == 1
    assert dict(Post.objects.values_list("post_id", "text_length")) == {"p": 11, "q": None}
    assert Post.objects.get(post_id="p").trading_term is True


def test_a_bulk_update_stores_a_constant_instant_that_compares_equal_to_itself(campaign):
    author = TraderFactory(uid=1)
    posts = [stored_post(campaign, f"p{i}", author=author) for i in range(3)]
    now = timezone.now().replace(microsecond=0)  # Django writes a whole second without a fraction
    rows = [(post.pk, "qualified", 10 * i) for i, post in enumerate(posts)]
    assert rows_update(model=Post, values=("id", "verdict", "score"), rows=rows, assign={"verdict": "v.verdict", "score": "v.score"}, constants={"judged_at": now}, where="t.id = v.id") == 3
    assert list(Post.objects.filter(judged_at=now, judged_at__gte=now, judged_at__lte=now).order_by("score").values_list("score", flat=True)) == [0, 10, 20]


def test_a_bulk_update_matches_on_a_value_that_is_not_a_column(campaign):
    p = stored_post(campaign, "p", content_hash="0123456789abcdef" + "f" * 48, index_stale=True)
    prefix = ("prefix", models.CharField(max_length=16))
    where = "t.id = v.id AND t.index_stale AND substr(t.content_hash, 1, 16) = v.prefix"
    assert rows_update(model=Post, values=("id", prefix), rows=[(p.pk, "0123456789abcdee")], constants={"index_stale": False}, where=where) == 0
    assert rows_update(model=Post, values=("id", prefix), rows=[(p.pk, "0123456789abcdef")], constants={"index_stale": False}, where=where) == 1
    assert Post.objects.get().index_stale is False


def test_a_bulk_update_writes_empty_values_even_when_every_row_has_one(campaign):
    author = TraderFactory(uid=1)
    earlier = stored_post(campaign, "earlier", author=author)
    p, q = stored_post(campaign, "p", author=author, duplicate_of=earlier), stored_post(campaign, "q", author=author, duplicate_of=earlier)
    links = ("id", "duplicate_of", "duplicate_of_reference")
    assign = {"duplicate_of_id": "v.duplicate_of_id", "duplicate_of_reference_id": "v.duplicate_of_reference_id"}
    assert rows_update(model=Post, values=links, rows=[(p.pk, None, None), (q.pk, None, None)], assign=assign, where="t.id = v.id") == 2
    assert not Post.objects.filter(duplicate_of__isnull=False).exists()
    assert rows_update(model=Post, values=links, rows=[(q.pk, earlier.pk, None)], assign=assign, where="t.id = v.id") == 1
    assert Post.objects.get(duplicate_of__isnull=False) == q


def test_a_bulk_update_of_many_rows_crosses_every_batch(campaign):
    author = TraderFactory(uid=1)
    template = stored_post(campaign, "template", author=author)
    Post.objects.bulk_create([record_of(template, post_id=f"p{i}") for i in range(1500)])
    rows = [(pk, pk % 97) for pk in Post.objects.values_list("id", flat=True)]
    assert rows_update(model=Post, values=("id", "score"), rows=rows, assign={"score": "v.score"}, where="t.id = v.id") == len(rows)
    assert all(pk % 97 == score for pk, score in Post.objects.values_list("id", "score"))


def bands(campaign):
    return sorted(DuplicateBand.objects.filter(campaign=campaign).values_list("key", "owner"))


def test_an_insert_leaves_out_rows_already_stored_and_takes_numpy_columns(campaign):
    rows_insert(model=DuplicateBand, columns={"key": [1, 2], "owner": [10, 10]}, constants={"campaign": campaign.pk})
    rows_insert(model=DuplicateBand, columns={"key": np.array([2, 3], dtype=np.int64), "owner": np.array([10, 11], dtype=np.int64)}, constants={"campaign": campaign.pk})
    assert bands(campaign) == [(1, 10), (2, 10), (3, 11)]


def test_a_lookup_finds_each_row_once_within_its_filter(campaign):
    other = CampaignFactory()
    rows_insert(model=DuplicateBand, columns={"key": [1, 1, 2, 9], "owner": [10, 11, 10, 12]}, constants={"campaign": campaign.pk})
    rows_insert(model=DuplicateBand, columns={"key": [1], "owner": [99]}, constants={"campaign": other.pk})
    found = rows_lookup(model=DuplicateBand, fields=("key", "owner"), filters={"campaign_id": campaign.pk}, key="key", keys=[2, 1, 1, 5, 2])
    assert sorted(found) == [(1, 10), (1, 11), (2, 10)]


def test_a_move_takes_the_scope_s_rows_keeps_the_target_s_and_leaves_the_others(campaign):
    other = CampaignFactory()
    rows_insert(model=DuplicateBand, columns={"key": [1], "owner": [10]}, constants={"campaign": campaign.pk})
    DuplicateBand.objects.filter(campaign=campaign).update(sketch=b"kept")
    DuplicateBandRecent.objects.bulk_create(
        [DuplicateBandRecent(campaign=campaign, key=1, owner=10, sketch=b"moved"), DuplicateBandRecent(campaign=campaign, key=2, owner=11, sketch=b"s")]
        + [DuplicateBandRecent(campaign=other, key=1, owner=99)]
    )
    assert rows_move(source=DuplicateBandRecent, target=DuplicateBand, scope={"campaign": campaign.pk}, ordered="key") == 2
    assert sorted(DuplicateBand.objects.filter(campaign=campaign).values_list("key", "owner", "sketch")) == [(1, 10, b"kept"), (2, 11, b"s")]
    assert list(DuplicateBandRecent.objects.values_list("campaign", "key", "owner")) == [(other.pk, 1, 99)]


def test_a_lookup_of_many_keys_crosses_every_batch(campaign):
    keys = list(range(1, 12001))
    rows_insert(model=DuplicateBand, columns={"key": keys, "owner": [7] * len(keys)}, constants={"campaign": campaign.pk})
    assert len(rows_lookup(model=DuplicateBand, fields=("owner",), filters={"campaign_id": campaign.pk}, key="key", keys=keys)) == len(keys)


def test_a_take_deletes_the_rows_of_its_keys_and_returns_them_once(campaign):
    IndexMark.objects.bulk_create(IndexMark(post_id=pk, campaign_id=campaign.pk, prefix=f"{pk:016x}") for pk in range(1, 12001))
    taken = rows_take(model=IndexMark, fields=("post_id", "prefix"), key="post_id", keys=[*range(2, 12001, 2), 3, 3, 99999])
    assert sorted(taken) == [(pk, f"{pk:016x}") for pk in sorted([*range(2, 12001, 2), 3])]  # every batch; a key twice, once; a key with no row, nothing
    assert rows_take(model=IndexMark, fields=("post_id",), key="post_id", keys=[2, 3, 5]) == [(5,)]  # taken once
    assert IndexMark.objects.count() == 12000 - 6000 - 2


def test_a_replace_swaps_the_rows_of_its_scope_and_keeps_the_others(campaign):
    other = CampaignFactory()
    rows_insert(model=DuplicateBand, columns={"key": [1, 2], "owner": [10, 10]}, constants={"campaign": campaign.pk})
    rows_insert(model=DuplicateBand, columns={"key": [1], "owner": [99]}, constants={"campaign": other.pk})
    blocks = ({"key": np.array(keys), "owner": np.array(owners)} for keys, owners in [([5, 6], [50, 60]), ([], []), ([0], [0])])
    rows_replace(model=DuplicateBand, scope={"campaign": campaign.pk}, blocks=blocks)
    assert bands(campaign) == [(0, 0), (5, 50), (6, 60)]
    assert bands(other) == [(1, 99)]
    assert rows_lookup(model=DuplicateBand, fields=("owner",), filters={"campaign_id": campaign.pk}, key="key", keys=[5]) == [(50,)]  # the key is whole again


def test_a_replace_that_keeps_no_others_empties_the_table_first(campaign):
    other = CampaignFactory()
    rows_insert(model=DuplicateBand, columns={"key": [1], "owner": [99]}, constants={"campaign": other.pk})
    rows_replace(model=DuplicateBand, scope={"campaign": campaign.pk}, blocks=[{"key": [3], "owner": [30]}], others_kept=False)
    assert sorted(DuplicateBand.objects.values_list("campaign_id", "key", "owner")) == [(campaign.pk, 3, 30)]


def test_a_replace_writes_binary_columns_of_one_width_and_nulls(campaign):
    sketches = np.arange(2 * 100, dtype=np.uint8).reshape(2, 100)
    blocks = [
        {"key": np.array([5, 6]), "owner": np.array([50, 60]), "sketch": None},
        {"key": np.array([7, 8]), "owner": np.array([70, 80]), "sketch": sketches},
        {"key": [0], "owner": [0], "sketch": None},
    ]
    rows_replace(model=DuplicateBand, scope={"campaign": campaign.pk}, blocks=blocks, others_kept=False)
    stored = {(key, owner): None if sketch is None else bytes(sketch) for key, owner, sketch in DuplicateBand.objects.values_list("key", "owner", "sketch")}
    assert stored == {(0, 0): None, (5, 50): None, (6, 60): None, (7, 70): sketches[0].tobytes(), (8, 80): sketches[1].tobytes()}


@pytest.mark.postgres
def test_a_replace_after_a_truncate_leaves_every_page_all_visible(campaign):
    """The COPY after the TRUNCATE is FREEZE: its pages are all-visible at once (the visibility
    map, which ANALYZE counts into relallvisible), so no reader sets hint bits on them later; a
    replace that keeps the other rows (a DELETE) copies without it."""
    from django.db import connection

    def visible() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {DuplicateBand._meta.db_table}")
            cursor.execute("SELECT relpages, relallvisible FROM pg_class WHERE oid = %s::regclass", [DuplicateBand._meta.db_table])
            return cursor.fetchone()

    many = {"key": np.arange(1, 5001), "owner": np.full(5000, 7), "sketch": None}
    rows_replace(model=DuplicateBand, scope={"campaign": campaign.pk}, blocks=[many], others_kept=False)
    pages, all_visible = visible()
    assert pages > 5 and all_visible == pages
    rows_replace(model=DuplicateBand, scope={"campaign": campaign.pk}, blocks=[many], others_kept=True)
    assert visible()[1] == 0
    assert DuplicateBand.objects.count() == 5000


def test_a_replace_with_two_rows_alike_raises_and_changes_nothing(campaign):
    rows_insert(model=DuplicateBand, columns={"key": [1], "owner": [10]}, constants={"campaign": campaign.pk})
    with pytest.raises(IntegrityError), transaction.atomic():
        rows_replace(model=DuplicateBand, scope={"campaign": campaign.pk}, blocks=[{"key": [4], "owner": [40]}, {"key": [4], "owner": [40]}])
    assert bands(campaign) == [(1, 10)]


def vendor_readers() -> list[str]:
    """Modules of the apps that read an attribute named `vendor` (a `connection.vendor` branch)."""
    found = []
    for app in ("core", "traders", "campaign", "rewards"):
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            if any(isinstance(node, ast.Attribute) and node.attr == "vendor" for node in ast.walk(tree)):
                found.append(str(path.relative_to(ROOT)))
    return found


def test_no_module_of_the_apps_but_core_database_reads_the_database_vendor():
    assert vendor_readers() == ["core/database.py"]
