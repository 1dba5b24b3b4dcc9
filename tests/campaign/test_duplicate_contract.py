"""The near-duplicate rule (RULES.md section 3, check 6), stated once and run against both storage
adapters: memory (the what-if preview) and the database (ingest and settlement).

A post is a duplicate of the earliest earlier stored post (by `created_at` as an instant, then
`post_id` as a string; any author, any verdict, deleted or not) or reference text whose 5-gram set
has exact Jaccard >= 4/5 with its own. The database cases run the real doors (file imports, one
refresh per import), then check that a from-scratch rebuild changes nothing. Run this file on
SQLite and on PostgreSQL (DATABASE_URL=postgres://...).
"""

import json
import random
from datetime import datetime, timedelta, timezone
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign.models import Post, ReferenceText
from campaign.near_duplicates import earlier_duplicates, post_order, reference_order
from campaign.near_duplicates.db import BAND_TABLES
from campaign.qualification import jaccard_at_least, shingles
from campaign.services import posts_import_file, reference_texts_import
from campaign.services.duplicates import duplicates_rebuild
from campaign.services.qualify import posts_judge_pending
from tests.factories import TRADING_TEXT, enrolled_trader, post_item

FOUR_FIFTHS = Fraction(4, 5)
# Distinct code points make the 5-gram sets, hence the Jaccard values, easy to count.
DISTINCT = "".join(chr(0x4E00 + i) for i in range(400))
DAY = datetime(2026, 2, 14, 4, 0, tzinfo=timezone.utc)


def at(hours: float) -> datetime:
    return DAY + timedelta(hours=hours)


class MemoryStore:
    """The memory adapter: every stored post and reference, decided from scratch on each read."""

    def __init__(self):
        self.posts: dict[str, tuple[datetime, str]] = {}
        self.refs: list[str] = []

    def reset(self):
        self.__init__()

    def post(self, post_id: str, created_at: datetime, text: str, deleted: bool = False):
        self.posts[post_id] = (created_at, text)

    def post_many(self, rows: list[tuple[str, datetime, str]]):
        for row in rows:
            self.post(*row)

    def references(self, *texts: str):
        self.refs.extend(t for t in texts if t not in self.refs)

    def delete(self, post_id: str):
        del self.posts[post_id]

    def delete_reference(self, text: str):
        self.refs.remove(text)

    def links(self) -> dict[str, str]:
        entries = [(f"ref:{i}", text, reference_order(i + 1)) for i, text in enumerate(self.refs)]
        entries += [(post_id, text, post_order(created, post_id)) for post_id, (created, text) in self.posts.items()]
        return {key: match for key, match in earlier_duplicates(entries).items() if not key.startswith("ref:")}


class DatabaseStore:
    """The database adapter through the doors: one import (hence one refresh) per call."""

    def __init__(self, campaign):
        self.campaign = campaign
        enrolled_trader(uid=1)

    def reset(self):
        Post.objects.all().delete()
        ReferenceText.objects.all().delete()
        for model in BAND_TABLES:
            model.objects.all().delete()

    def post(self, post_id: str, created_at: datetime, text: str, deleted: bool = False):
        item = post_item(post_id, 1, created_at=created_at.isoformat(), text=text, deleted=deleted)
        assert posts_import_file(campaign=self.campaign, data=json.dumps(item).encode()).ok

    def post_many(self, rows: list[tuple[str, datetime, str]]):
        items = [post_item(post_id, 1, created_at=created.isoformat(), text=text) for post_id, created, text in rows]
        assert posts_import_file(campaign=self.campaign, data="\n".join(json.dumps(i) for i in items).encode()).ok

    def references(self, *texts: str):
        assert reference_texts_import(campaign=self.campaign, data="\n---\n".join(texts).encode()).ok

    def delete(self, post_id: str):
        """A post row deleted (the admin), then the next judging of the campaign (the beat's)."""
        Post.objects.get(post_id=post_id).delete()
        posts_judge_pending(campaign=self.campaign)

    def delete_reference(self, text: str):
        ReferenceText.objects.get(text=text).delete()
        posts_judge_pending(campaign=self.campaign)

    def _stored_links(self) -> dict[str, str]:
        refs = {pk: f"ref:{i}" for i, pk in enumerate(ReferenceText.objects.order_by("id").values_list("id", flat=True))}
        rows = Post.objects.values_list("post_id", "duplicate_of__post_id", "duplicate_of_reference_id")
        return {post_id: dup or refs[ref] for post_id, dup, ref in rows if dup or ref}

    def links(self) -> dict[str, str]:
        found = self._stored_links()
        # The incremental path (one refresh per import) must agree with a from-scratch rebuild.
        assert duplicates_rebuild(campaign=self.campaign) == set()
        assert self._stored_links() == found
        return found


@pytest.fixture(params=["memory", pytest.param("database", marks=pytest.mark.django_db)])
def store(request):
    return MemoryStore() if request.param == "memory" else DatabaseStore(request.getfixturevalue("campaign"))


def test_an_identical_text_is_a_duplicate_of_the_earlier_post(store):
    text = "BTC breaks out above resistance, funding rate turns positive and shorts get squeezed."
    store.post("b", at(2), text)
    store.post("a", at(1), text)
    assert store.links() == {"b": "a"}


def test_a_deleted_post_leaves_its_copies_linked_to_the_earliest_copy_that_stays(store):
    text = "BTC breaks out above resistance, funding rate turns positive and shorts get squeezed."
    store.post_many([("a", at(1), text), ("b", at(2), text + " !"), ("c", at(3), text + " ?"), ("d", at(4), text)])
    assert store.links() == {"b": "a", "c": "a", "d": "a"}
    store.delete("a")
    assert store.links() == {"c": "b", "d": "b"}
    store.delete("c")
    assert store.links() == {"d": "b"}


def test_a_deleted_reference_text_leaves_its_copies_linked_to_what_stays(store):
    text = "Not financial advice: copy trading carries risk, past returns promise nothing about the future."
    other = "$ETH breakout retest, entry at support, stop loss below the range, take profit at 4k."
    store.references(text, other)
    store.post_many([("a", at(1), text), ("b", at(2), text + " !"), ("e", at(3), other)])
    assert store.links() == {"a": "ref:0", "b": "ref:0", "e": "ref:1"}
    store.delete_reference(text)
    # The reference left is now ref:0 (the memory store numbers the texts that stay).
    assert store.links() == {"b": "a", "e": "ref:0"}


def test_jaccard_exactly_four_fifths_is_a_duplicate_and_just_below_is_not(store):
    # 84 chars -> 80 5-grams; 20 more distinct chars -> 100 5-grams, 80 shared: J = 80/100.
    assert jaccard_at_least(shingles(DISTINCT[:84]), shingles(DISTINCT[:84] + DISTINCT[200:220]), FOUR_FIFTHS)
    store.post("at", at(1), DISTINCT[:84])
    store.post("at-copy", at(2), DISTINCT[:84] + DISTINCT[200:220])
    # 83 chars -> 79 5-grams; 21 more distinct chars: J = 79/100.
    store.post("below", at(1), DISTINCT[100:183])
    store.post("below-copy", at(2), DISTINCT[100:183] + DISTINCT[300:321])
    assert store.links() == {"at-copy": "at"}


def test_posts_are_ordered_by_instant_then_post_id_as_a_string(store):
    text = "$ETH breakout retest, entry at support, stop loss below the range, take profit at 4k."
    shanghai = timezone(timedelta(hours=8))
    # Same instant in two offsets: the tie goes to post_id compared as a string, "p10" < "p9".
    store.post("p9", at(5), text)
    store.post("p10", at(5).astimezone(shanghai), text + " !")
    store.post("p0", at(5) + timedelta(microseconds=1), text + " ?")
    assert store.links() == {"p9": "p10", "p0": "p10"}


def test_the_earliest_near_duplicate_wins_whatever_the_ingestion_order(store):
    text = DISTINCT[:150]
    store.post("late", at(3), text + "x")
    store.post("middle", at(2), text)
    assert store.links() == {"late": "middle"}
    store.post("early", at(1), text + "y")  # created first, ingested last: both later copies flip
    assert store.links() == {"late": "early", "middle": "early"}


def test_a_reference_text_is_earlier_than_every_post_even_when_loaded_later(store):
    text = "Gate Square star lead traders, phase two: post and share a monthly pool of $20,000 today."
    store.post("old", datetime(2020, 1, 1, tzinfo=timezone.utc), text)
    store.post("new", at(1), text + "!")
    assert store.links() == {"new": "old"}
    store.references(text + "?")
    assert store.links() == {"old": "ref:0", "new": "ref:0"}


def test_a_deleted_post_still_counts_as_an_earlier_post(store):
    text = "Short SOL into resistance, leverage 3x, stop loss above the weekly high; funding is hot."
    store.post("gone", at(1), text, deleted=True)
    store.post("copy", at(2), text + " again")
    assert store.links() == {"copy": "gone"}


def test_an_edited_text_stops_matching_and_its_former_copy_is_freed(store):
    text = DISTINCT[:120]
    store.post("a", at(1), text)
    store.post("b", at(2), text)
    assert store.links() == {"b": "a"}
    store.post("a", at(1), DISTINCT[200:320])  # a re-ingest may change the text (RULES.md)
    assert store.links() == {}
    store.post("c", at(3), DISTINCT[200:320] + "!")
    store.post("a", at(1), text + "?")
    assert store.links() == {"b": "a"}


def test_near_duplicates_are_not_transitive(store):
    # Sliding windows over distinct characters: J(a, b) = J(b, c) = 86/106, J(a, c) = 76/116.
    a, b, c = DISTINCT[0:100], DISTINCT[10:110], DISTINCT[20:120]
    assert not jaccard_at_least(shingles(a), shingles(c), FOUR_FIFTHS)
    store.post("a", at(1), a)
    store.post("b", at(2), b)
    store.post("c", at(3), c)
    assert store.links() == {"b": "a", "c": "b"}
    # With c before b, c's only earlier text is a, which is too different.
    store.reset()
    store.post("a", at(1), a)
    store.post("c", at(2), c)
    store.post("b", at(3), b)
    assert store.links() == {"b": "a"}


def test_chinese_texts_are_compared_on_their_characters(store):
    text = "比特币今天突破阻力位，多单继续持有，止损设在六万二，资金费率转正，空单被挤压，注意仓位和杠杆风险。"
    store.post("zh", at(1), text)
    # Spaces between characters are no 5-gram's business; one emoji adds 4 new 5-grams of 48.
    copy = " ".join(text[i : i + 7] for i in range(0, len(text), 7)) + "🚀"
    assert jaccard_at_least(shingles(text), shingles(copy), FOUR_FIFTHS)
    store.post("zh-copy", at(2), copy)
    store.post("zh-other", at(3), "以太坊短线震荡，等待回调到支撑位再做多，目标前高，耐心等待信号出现。")
    assert store.links() == {"zh-copy": "zh"}


def test_case_whitespace_and_urls_do_not_make_a_text_original(store):
    text = "BTC breaks out above resistance, funding rate turns positive and shorts get squeezed."
    store.post("a", at(1), text)
    store.post("b", at(2), text.upper().replace(" ", "\n  ") + " https://www.gate.com/post/123")
    assert store.links() == {"b": "a"}


def test_texts_under_five_characters_are_never_duplicates(store):
    # Two empty 5-gram sets would be 0/0; the rulebook settles it: never a near-duplicate.
    store.post("a", at(1), "abcd")
    store.post("b", at(2), "abcd")
    store.post("c", at(3), "ab cd https://x.com/abcdefgh")
    assert store.links() == {}


def test_many_identical_copies_all_point_to_the_earliest(store):
    # A repost storm is the worst case of LSH buckets: every member pairwise would be n^2 checks.
    text = "$ETH breakout retest, entry at support, stop loss below the range, take profit at 4k."
    for n in reversed(range(30)):
        store.post(f"p{n:02d}", at(n), "  " + text.upper())
    assert store.links() == {f"p{n:02d}": "p00" for n in range(1, 30)}
    store.references(text.lower())
    assert store.links() == {f"p{n:02d}": "ref:0" for n in range(30)}


def brute_force(posts: dict[str, tuple[datetime, str]]) -> dict[str, str]:
    """The O(n^2) reading of RULES.md: the earliest earlier post with exact Jaccard >= 4/5."""
    ordered = sorted(posts, key=lambda p: post_order(posts[p][0], p))
    sets = {p: shingles(posts[p][1]) for p in posts}
    found = {}
    for j, later in enumerate(ordered):
        match = next((e for e in ordered[:j] if jaccard_at_least(sets[later], sets[e], FOUR_FIFTHS)), None)
        if match:
            found[later] = match
    return found


def random_posts(seed: int, size: int) -> list[tuple[str, datetime, str]]:
    """Short texts over a small alphabet (many pairs near 4/5), copies of copies, equal instants."""
    rng = random.Random(seed)
    alphabet = "abcdefghij做多空单 $"
    posts = []
    for n in range(size):
        if posts and rng.random() < 0.6:
            text = list(rng.choice(posts)[2])
            for _ in range(rng.randint(0, 4)):
                action, where = rng.random(), rng.randrange(len(text) + 1)
                if action < 0.4:
                    text.insert(where, rng.choice(alphabet))
                elif text:
                    text[min(where, len(text) - 1)] = rng.choice(alphabet)
            text = "".join(text)
        else:
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60)))
        posts.append((f"p{n}", at(rng.randint(0, size // 3)), text))
    return posts


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), size=st.integers(1, 25), batch=st.integers(1, 5))
def test_both_adapters_give_the_brute_force_earlier_duplicate_map(store, seed, size, batch):
    store.reset()  # hypothesis reuses one database across its examples
    posts = random_posts(seed, size)
    shuffled = random.Random(seed + 1).sample(posts, len(posts))
    for lo in range(0, len(shuffled), batch):  # several changed texts per refresh, in any order
        store.post_many(shuffled[lo : lo + batch])
    assert store.links() == brute_force({p: (created, text) for p, created, text in posts})


@pytest.mark.django_db
def test_a_copy_whose_link_was_deleted_is_judged_a_duplicate_of_the_copy_that_stays(campaign):
    """The money side of the deletion cases above: the later copy is not paid as an original."""
    store = DatabaseStore(campaign)
    store.post_many([("a", at(1), TRADING_TEXT), ("b", at(2), TRADING_TEXT + " !"), ("c", at(3), TRADING_TEXT + " ?")])
    assert dict(Post.objects.values_list("post_id", "verdict")) == {"a": "qualified", "b": "duplicate", "c": "duplicate"}
    store.delete("a")
    verdicts = dict(Post.objects.values_list("post_id", "verdict"))
    assert verdicts == {"b": Post.Verdict.QUALIFIED, "c": Post.Verdict.DUPLICATE}
    assert not Post.objects.filter(index_stale=True).exists() and not Post.objects.filter(judged_at__isnull=True).exists()
