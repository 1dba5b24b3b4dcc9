"""Band keys shared by very many texts (boilerplate: a disclaimer, hashtags) and the sketches that
let a lookup skip most of their owners (issue 17; docs/near-duplicates.md, "Boilerplate band keys").

The links must be the brute-force ones whatever the sketches say, through the incremental refresh
(file imports, edited texts), the rebuild that adds stale posts and the full rewrite. Run this file
on SQLite and on PostgreSQL (DATABASE_URL=postgres://...).
"""

import json
import random
from collections import Counter
from datetime import datetime, timedelta, timezone
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaign.models import DuplicateBand, Post
from campaign.near_duplicates import (
    MIN_AGREEMENT,
    NUM_PERM,
    band_keys,
    plausible,
    signature_matrix,
    sketch_matrix,
    sketch_plausible,
    text_signature,
)
from campaign.near_duplicates.core import share_a_band
from campaign.near_duplicates.db import CROWDED, index_forget
from campaign.services import posts_import_file
from campaign.services.duplicates import _Neighbourhood, duplicates_rebuild
from tests.campaign.test_duplicate_contract import brute_force
from tests.factories import band_rows, enrolled_trader, post_item

pytestmark = pytest.mark.django_db

FOUR_FIFTHS = Fraction(4, 5)
DAY = datetime(2026, 2, 14, 4, 0, tzinfo=timezone.utc)
BOILERPLATE = (
    "Not financial advice. Copy trading carries risk and past returns promise nothing about future ones. "
    "Follow the desk for daily setups on BTC and ETH perpetual futures, funding rate notes and stop loss levels. "
    "#GateSquare #CopyTrading #Futures"
)
WORDS = "long short entry target range breakout retest funding bid ask sweep wick candle trend reclaim level zone".split()


def corpus(seed: int, size: int) -> dict[str, tuple[datetime, str]]:
    """{post_id: (created_at, text)}: each text a unique part then the boilerplate, which holds
    about half of its 5-grams (two of them: Jaccard about 0.3, agreeing on some 75 of 200 values),
    and one in six an edited copy of an earlier one (Jaccard about 0.9), sometimes dated before
    it. A band whose minima all fall in the boilerplate gives a key most texts hold."""
    rng = random.Random(seed)
    posts: dict[str, tuple[datetime, str]] = {}
    for n in range(size):
        created = DAY + timedelta(minutes=rng.randint(0, 3 * size))
        if posts and rng.random() < 1 / 6:
            source = posts[rng.choice(sorted(posts))][1]
            at = rng.randrange(len(source))
            text = source[:at] + rng.choice(WORDS) + source[at:]
        else:
            text = " ".join(f"{rng.choice(WORDS)}{rng.randint(10, 99)}" for _ in range(32)) + " " + BOILERPLATE
        posts[f"b{n:03d}"] = (created, text)
    return posts


def import_posts(campaign, posts: dict[str, tuple[datetime, str]], ids, batch: int) -> None:
    for lo in range(0, len(ids), batch):
        items = [post_item(p, 1, created_at=posts[p][0].isoformat(), text=posts[p][1]) for p in ids[lo : lo + batch]]
        assert posts_import_file(campaign=campaign, data="\n".join(json.dumps(i) for i in items).encode()).ok


def links() -> dict[str, str]:
    return dict(Post.objects.filter(duplicate_of__isnull=False).values_list("post_id", "duplicate_of__post_id"))


def key_counts() -> Counter:
    return Counter(key for key, owner in band_rows() if owner != 0)


def assert_sketches_current() -> int:
    """Every stored sketch on a key its owner's text holds is that text's sketch (db.py's rule).
    Returns how many rows carry one."""
    signatures = {pk: bytes(sig) for pk, sig in Post.objects.values_list("id", "signature")}
    rows = band_rows("sketch", sketch__isnull=False)
    for key, owner, sketch in rows:
        signature = signatures.get(owner, b"")
        if signature and key in band_keys(signature):
            assert bytes(sketch) == sketch_matrix(signature_matrix([signature])[0]).tobytes()
    return len(rows)


@pytest.fixture
def boilerplate(campaign):
    """160 boilerplate posts imported in shuffled batches of 20 (one refresh each)."""
    enrolled_trader(uid=1)
    posts = corpus(seed=7, size=160)
    import_posts(campaign, posts, random.Random(8).sample(sorted(posts), len(posts)), batch=20)
    return posts


def test_a_boilerplate_key_gives_the_brute_force_links_by_refresh_rebuild_and_rewrite(campaign, boilerplate):
    posts = boilerplate
    assert max(key_counts().values()) >= 3 * CROWDED  # the corpus has crowded keys
    expected = brute_force(posts)
    assert expected and links() == expected
    assert assert_sketches_current() > 0  # the refreshes wrote sketches on crowded rows

    assert duplicates_rebuild(campaign=campaign) == set()
    assert links() == expected

    # Edited texts (refresh with changed texts: their rows, sketches and former copies).
    rng = random.Random(9)
    edited = rng.sample(sorted(posts), 12)
    for post_id in edited:
        created, text = posts[post_id]
        posts[post_id] = (created, text.replace("Not financial advice", rng.choice(WORDS) + " not advice"))
    import_posts(campaign, posts, edited, batch=5)
    expected = brute_force(posts)
    assert links() == expected
    assert_sketches_current()

    # A full rewrite (the index lost): every crowded row gets its sketch, the links stay.
    index_forget(campaign)
    Post.objects.update(duplicate_of=None)
    duplicates_rebuild(campaign=campaign)
    assert links() == expected
    crowded = {key for key, count in key_counts().items() if count >= CROWDED}
    assert crowded
    assert not DuplicateBand.objects.filter(key__in=crowded, sketch__isnull=True).exists()
    assert assert_sketches_current() == DuplicateBand.objects.filter(key__in=crowded).count()


@pytest.mark.postgres
def test_a_full_rewrite_leaves_statistics_that_count_its_sketched_rows(campaign, boilerplate):
    """The rewrite inserts the sketched rows after its COPY: statistics taken between the two said
    that no row has a sketch, and the planner then read an owner's sketches (`sketches_clear`) by
    scanning every sketched row of the campaign."""
    from django.db import connection

    index_forget(campaign)
    duplicates_rebuild(campaign=campaign)
    sketched = DuplicateBand.objects.filter(campaign=campaign, sketch__isnull=False).count()
    total = DuplicateBand.objects.filter(campaign=campaign).count()
    assert 0 < sketched < total
    with connection.cursor() as cursor:
        cursor.execute("SELECT null_frac FROM pg_stats WHERE tablename = %s AND attname = 'sketch'", [DuplicateBand._meta.db_table])
        (null_frac,) = cursor.fetchone()
    assert null_frac == pytest.approx(1 - sketched / total, abs=0.01)


@pytest.mark.postgres
def test_a_full_rewrite_stores_the_rows_of_a_key_side_by_side(campaign, boilerplate, monkeypatch):
    """The rewrite writes its plain rows, then its sketched rows, each in key order (several
    slices of the key range here), so a lookup reads about one page a key: the table's physical
    order (ctid) is key order within each of the two runs, and the rows are those the refreshes
    wrote before, with current sketches."""
    from django.db import connection

    from campaign.near_duplicates import db

    before = band_rows()
    monkeypatch.setattr(db, "COPY_OWNERS", 7)  # the top bits taken block by block, several blocks
    index_forget(campaign)
    duplicates_rebuild(campaign=campaign)
    assert band_rows() == before
    assert_sketches_current()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, sketch IS NOT NULL FROM {DuplicateBand._meta.db_table} WHERE owner <> 0 ORDER BY ctid")
        stored = cursor.fetchall()
    plain = [key for key, sketched in stored if not sketched]
    sketched = [key for key, sketched in stored if sketched]
    assert plain and sketched
    assert stored == [(key, False) for key in plain] + [(key, True) for key in sketched]  # plain rows first
    assert plain == sorted(plain) and sketched == sorted(sketched)
    assert plain[0] < 0 < plain[-1]  # keys from more than one slice of the range


def test_texts_changed_without_the_index_are_caught_up_by_the_rebuild_with_current_sketches(campaign, boilerplate):
    """The rebuild's other path: a few stale posts (a lockless writer's new texts) get their rows
    added and their old sketches replaced, the other rows kept."""
    posts = boilerplate
    rng = random.Random(10)
    for post_id in rng.sample(sorted(posts), 15):
        created, text = posts[post_id]
        text = text.replace("Copy trading", rng.choice(WORDS))
        posts[post_id] = (created, text)
        Post.objects.filter(post_id=post_id).update(text=text, signature=text_signature(text), index_stale=True)
    rows_before = len(band_rows())
    duplicates_rebuild(campaign=campaign)
    assert len(band_rows()) > rows_before  # rows added, not rewritten
    assert links() == brute_force(posts)
    assert assert_sketches_current() > 0
    assert not Post.objects.filter(index_stale=True).exists()


def test_a_text_edited_while_keeping_a_key_that_stopped_being_crowded_loses_its_old_sketch(campaign, boilerplate):
    """A key's other holders drop their boilerplate, so the rebuild no longer counts the key as
    crowded; the few that keep it were edited too: their rows must not keep their former sketch."""
    posts = boilerplate
    index_forget(campaign)
    duplicates_rebuild(campaign=campaign)  # a rewrite: every crowded row sketched
    owner_of = dict(Post.objects.values_list("id", "post_id"))
    holders = {}
    for key, owner in DuplicateBand.objects.filter(sketch__isnull=False).values_list("key", "owner"):
        holders.setdefault(key, []).append(owner_of[owner])
    key, owners = min(((k, sorted(o)) for k, o in holders.items() if len(o) >= CROWDED + 3), key=lambda item: len(item[1]))
    assert len(owners) < len(posts) // 2  # few enough stale posts for the rebuild to add rows
    kept = []
    for post_id in owners:
        created, text = posts[post_id]
        if len(kept) < 3:
            edited = text.replace(BOILERPLATE, BOILERPLATE + " gm")  # the boilerplate's minima stay
            if key not in band_keys(text_signature(edited)):
                continue
            kept.append(post_id)
        else:
            edited = text.replace(BOILERPLATE, "")
        posts[post_id] = (created, edited)
        Post.objects.filter(post_id=post_id).update(text=edited, signature=text_signature(edited), index_stale=True)
    assert len(kept) == 3

    duplicates_rebuild(campaign=campaign)
    assert links() == brute_force(posts)
    assert assert_sketches_current() > 0
    assert not band_rows(key=key, owner__in=Post.objects.filter(post_id__in=kept).values("id"), sketch__isnull=False)


def test_a_lookup_reads_only_the_owners_the_sketches_leave_and_finds_the_same_candidates(campaign, boilerplate):
    index_forget(campaign)
    duplicates_rebuild(campaign=campaign)  # a rewrite: every crowded row sketched
    text = " ".join(f"{w}{i}" for i, w in enumerate(WORDS)) + " " + BOILERPLATE
    import_posts(campaign, {"new": (DAY + timedelta(days=1), text)}, ["new"], batch=1)
    new = Post.objects.get(post_id="new")

    around = _Neighbourhood(campaign, FOUR_FIFTHS)
    found = around.candidates([new.id])[new.id]

    # The candidates are those of the signatures alone: a shared band and the prefilter.
    mine = signature_matrix([bytes(new.signature)])[0]
    others = list(Post.objects.exclude(id=new.id).order_by("created_at", "post_id").values_list("id", "signature"))
    theirs = signature_matrix([bytes(sig) for _, sig in others])[0]
    mine = np.repeat(mine, len(others), axis=0)
    expected = [pk for (pk, _), keep in zip(others, share_a_band(mine, theirs) & plausible(mine, theirs)) if keep]
    assert found == expected
    sharing = {owner for _, owner in band_rows(key__in=band_keys(bytes(new.signature)))}
    read = set(around.entries) - {new.id}
    assert read < sharing - {new.id}
    assert len(read) <= len(sharing) // 2  # most boilerplate owners are ruled out unread
    assert set(found) <= read


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), equal=st.integers(0, NUM_PERM), collide=st.integers(0, NUM_PERM))
def test_the_sketch_prefilter_never_rules_out_a_pair_the_signature_prefilter_keeps(seed, equal, collide):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2**32, size=(1, NUM_PERM), dtype=np.uint32)
    b = rng.integers(0, 2**32, size=(1, NUM_PERM), dtype=np.uint32)
    positions = rng.permutation(NUM_PERM)
    same, lookalike = positions[:equal], positions[equal : equal + collide]
    b[0, same] = a[0, same]
    # Other values with the same low bits: the sketch sees agreement the signature does not.
    b[0, lookalike] = (b[0, lookalike] & ~np.uint32(0xF)) | (a[0, lookalike] & np.uint32(0xF))
    b[0, lookalike] ^= (b[0, lookalike] == a[0, lookalike]).astype(np.uint32) << 8
    assert plausible(a, b)[0] == (equal >= MIN_AGREEMENT)
    if plausible(a, b)[0]:
        assert sketch_plausible(sketch_matrix(a), sketch_matrix(b))[0]
    if len(same) + len(lookalike) >= MIN_AGREEMENT:
        assert sketch_plausible(sketch_matrix(a), sketch_matrix(b))[0]
