"""Near-duplicate detection (RULES.md section 3, check 6): pure, no database.

The index may only propose candidates; these tests compare its answers with a brute-force exact
scan, whatever the insertion order.
"""

import hashlib
import json
import os
import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaign import near_duplicates as nd
from campaign.near_duplicates import (
    BANDS,
    NUM_PERM,
    NearDuplicateIndex,
    band_keys,
    find_earlier_duplicates,
    post_order,
    reference_order,
    signature,
    signature_agreement,
    signatures_may_match,
    text_signature,
)
from campaign.qualification import jaccard_at_least, shingles

FOUR_FIFTHS = Fraction(4, 5)
PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Distinct code points make the 5-gram sets, hence the Jaccard values, easy to count.
DISTINCT = "".join(chr(0x4E00 + i) for i in range(400))


def close(a, b):
    return jaccard_at_least(a, b, FOUR_FIFTHS)


def near(a, b):
    return close(shingles(a), shingles(b))


def brute_force(entries):
    """{key: earliest entry with a smaller order and exact J >= 4/5}: the definition itself."""
    sets = {key: shingles(text) for key, text, _ in entries}
    result = {}
    for key, _, order in entries:
        earlier = sorted((o, k) for k, _, o in entries if o < order and close(sets[key], sets[k]))
        if earlier:
            result[key] = earlier[0][1]
    return result


def match_orders(result, entries):
    """{key: order of its match}: what must agree when several earliest matches share an order."""
    orders = {key: order for key, _, order in entries}
    sets = {key: shingles(text) for key, text, _ in entries}
    for key, match in result.items():
        assert orders[match] < orders[key] and jaccard_at_least(sets[key], sets[match], FOUR_FIFTHS)
    return {key: orders[match] for key, match in result.items()}


def corpus(seed, size):
    """Texts with planted near-copies, copies of copies, identical copies and tied orders."""
    rng = random.Random(seed)
    # A small alphabet and short texts put many pairs near 0.8, where off-by-one errors live.
    alphabet = "abcdefghij做多空单 $"
    entries = []
    for n in range(size):
        if entries and rng.random() < 0.6:
            text = list(rng.choice(entries)[1])
            for _ in range(rng.randint(0, 4)):
                action, at = rng.random(), rng.randrange(len(text) + 1)
                if action < 0.4:
                    text.insert(at, rng.choice(alphabet))
                elif action < 0.7 and text:
                    del text[min(at, len(text) - 1)]
                elif text:
                    text[min(at, len(text) - 1)] = rng.choice(alphabet)
            text = "".join(text)
        else:
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        # A fifth of the orders can tie, to check that equal orders are never "earlier".
        tie_breaker = f"k{n}" if rng.random() < 0.8 else ""
        entries.append((f"k{n}", text, (1, rng.randint(0, size // 2), tie_breaker)))
    return entries


def test_a_near_duplicate_exactly_at_four_fifths_is_found():
    # 84 chars -> 80 5-grams; 20 more distinct chars -> 100 5-grams, 80 shared: J = 80/100.
    index = NearDuplicateIndex()
    index.add("source", DISTINCT[:84], (1, 1))
    index.add("copy", DISTINCT[:84] + DISTINCT[200:220], (1, 2))
    assert Fraction(80, 100) == FOUR_FIFTHS
    assert index.earlier_duplicate_of("copy") == "source"


def test_a_text_just_below_four_fifths_is_not_a_duplicate():
    # 83 chars -> 79 5-grams; 21 more distinct chars: J = 79/100.
    index = NearDuplicateIndex()
    index.add("source", DISTINCT[:83], (1, 1))
    index.add("copy", DISTINCT[:83] + DISTINCT[200:221], (1, 2))
    assert index.earlier_duplicate_of("copy") is None
    batch = [("a", DISTINCT[:83], 1), ("b", DISTINCT[:83] + DISTINCT[200:221], 2)]
    assert find_earlier_duplicates(batch) == {}


def test_texts_under_five_characters_are_never_duplicates():
    # Two empty 5-gram sets would be 0/0; the rulebook settles it: never a near-duplicate.
    entries = [("a", "abcd", 1), ("b", "abcd", 2), ("c", "ab cd https://x.com/abcdefgh", 3)]
    assert find_earlier_duplicates(entries) == {}
    index = NearDuplicateIndex()
    index.add_many(entries)
    assert index.earlier_duplicate_of("b") is None
    assert text_signature("abcd") == signature(frozenset()) == b""
    assert band_keys(b"") == []


def test_case_whitespace_and_urls_do_not_make_a_text_original():
    text = "BTC breaks out above resistance, funding rate turns positive and shorts get squeezed."
    copy = text.upper().replace(" ", "\n  ") + " https://www.gate.com/post/123"
    assert find_earlier_duplicates([("a", text, 1), ("b", copy, 2)]) == {"b": "a"}


def test_near_duplicates_are_not_transitive():
    # Sliding windows over distinct characters: J(a, b) = J(b, c) = 86/106, J(a, c) = 76/116.
    a, b, c = DISTINCT[0:100], DISTINCT[10:110], DISTINCT[20:120]
    assert near(a, b) and near(b, c) and not near(a, c)
    assert find_earlier_duplicates([("a", a, 1), ("b", b, 2), ("c", c, 3)]) == {"b": "a", "c": "b"}
    # With c before b, c's only earlier text is a, which is too different.
    assert find_earlier_duplicates([("a", a, 1), ("c", c, 2), ("b", b, 3)]) == {"b": "a"}


def test_the_earliest_near_duplicate_wins_whatever_the_insertion_order():
    text = DISTINCT[:150]
    entries = [("late", text + "x", (1, 3)), ("early", text + "y", (1, 1)), ("middle", text, (1, 2))]
    index = NearDuplicateIndex()
    for entry in entries:
        index.add(*entry)
    assert index.earlier_duplicate_of("late") == "early"
    assert index.earlier_duplicate_of("middle") == "early"
    assert index.earlier_duplicate_of("early") is None
    assert index.later_duplicates_of("early") == ["middle", "late"]


def test_a_reference_text_is_earlier_than_every_post():
    # Even a post from years before the campaign, and even when the reference is loaded later.
    text = "Gate Square star lead traders, phase two: post and share a monthly pool of $20,000."
    first_post = post_order(datetime(2020, 1, 1, tzinfo=timezone.utc), "p1")
    index = NearDuplicateIndex()
    index.add("p1", text, first_post)
    index.add("ref", text + "!", reference_order(1))
    assert index.earlier_duplicate_of("p1") == "ref"
    assert index.earlier_duplicate_of("ref") is None


def test_posts_are_ordered_by_instant_then_post_id_as_a_string():
    utc = datetime(2026, 2, 13, 2, 0, tzinfo=timezone.utc)
    shanghai = utc.astimezone(timezone(timedelta(hours=8)))
    # Same instant in two offsets: the tie goes to post_id compared as a string, "p10" < "p9".
    assert post_order(shanghai, "p10") < post_order(utc, "p9")
    assert post_order(utc, "p9") < post_order(utc + timedelta(microseconds=1), "p0")
    assert reference_order(999) < post_order(datetime(1970, 1, 1, tzinfo=timezone.utc), "")


def test_a_naive_created_at_is_refused():
    with pytest.raises(ValueError):
        post_order(datetime(2026, 2, 13), "p1")


def test_equal_orders_are_not_earlier_than_each_other():
    text = DISTINCT[:50]
    entries = [("a", text, (1, 5)), ("b", text, (1, 5)), ("c", text, (1, 6))]
    assert find_earlier_duplicates(entries).keys() == {"c"}
    index = NearDuplicateIndex()
    index.add_many(entries)
    assert index.earlier_duplicate_of("a") is None and index.earlier_duplicate_of("b") is None


def test_many_identical_copies_all_point_to_the_earliest():
    # A repost storm is the worst case of LSH buckets: 300 members pairwise would be 45k checks.
    text = "$ETH breakout retest, entry at support, stop loss below the range, take profit at 4k."
    entries = [(f"p{n:04d}", text, (1, n)) for n in range(300)]
    entries.append(("ref", text.lower(), (0, 0)))
    result = find_earlier_duplicates(reversed(entries))
    assert result == {f"p{n:04d}": "ref" for n in range(300)}


def test_removing_an_entry_forgets_it():
    index = NearDuplicateIndex()
    index.add("a", DISTINCT[:60], 1)
    index.add("b", DISTINCT[:60], 2)
    index.remove("a")
    assert "a" not in index and len(index) == 1
    assert index.earlier_duplicate_of("b") is None
    assert index.earlier_duplicates() == {}


def test_re_adding_a_key_replaces_its_text():
    index = NearDuplicateIndex()
    index.add("a", DISTINCT[:60], 1)
    index.add("b", DISTINCT[:60], 2)
    # A re-ingested post may change its text (RULES.md): the old text must stop matching.
    index.add("a", DISTINCT[100:160], 1)
    assert index.earlier_duplicate_of("b") is None
    assert index.later_duplicates_of("a") == []


def test_a_key_given_twice_in_one_batch_is_refused():
    with pytest.raises(ValueError):
        find_earlier_duplicates([("a", "abcdef", 1), ("a", "abcdef", 2)])


def test_a_float_threshold_is_refused():
    with pytest.raises(TypeError):
        NearDuplicateIndex(threshold=0.8)


def test_single_adds_and_bulk_loads_are_searched_together():
    # Bulk loads land in sorted arrays and single adds in a dict; a lookup must see both.
    bulk = [(f"b{n}", DISTINCT[n : n + 120], (1, n)) for n in range(0, 400 - 120, 2)]
    index = NearDuplicateIndex()
    index.add_many(bulk)
    index.add("single", DISTINCT[0:119], (0, 0))
    assert index.earlier_duplicate_of("b0") == "single"
    assert index.later_duplicates_of("single")[0] == "b0"
    assert index.earlier_duplicates() == brute_force(bulk + [("single", DISTINCT[0:119], (0, 0))])


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10**6), size=st.integers(1, 50), data=st.data())
def test_every_insertion_order_gives_the_brute_force_answer(seed, size, data):
    entries = corpus(seed, size)
    expected = match_orders(brute_force(entries), entries)
    shuffled = data.draw(st.permutations(entries))
    assert match_orders(find_earlier_duplicates(shuffled), entries) == expected

    # One at a time is how posts arrive; an earlier post may well arrive last.
    index = NearDuplicateIndex()
    for entry in shuffled:
        index.add(*entry)
    one_by_one = {key: index.earlier_duplicate_of(key) for key, _, _ in entries}
    assert match_orders({k: v for k, v in one_by_one.items() if v is not None}, entries) == expected
    assert match_orders(index.earlier_duplicates(), entries) == expected
    sets = {key: shingles(text) for key, text, _ in entries}
    orders = {key: order for key, _, order in entries}
    for key, _, order in entries:
        later = {k for k, o in orders.items() if order < o and close(sets[key], sets[k])}
        found = index.later_duplicates_of(key)
        assert set(found) == later
        assert [orders[k] for k in found] == sorted(orders[k] for k in found)

    removed = data.draw(st.sets(st.sampled_from([key for key, _, _ in entries])))
    for key in removed:
        index.remove(key)
    kept = [e for e in entries if e[0] not in removed]
    assert match_orders(index.earlier_duplicates(), kept) == match_orders(brute_force(kept), kept)


def test_with_unique_orders_the_answer_is_the_same_key_in_every_insertion_order():
    entries = [(key, text, (1, n, key)) for n, (key, text, _) in enumerate(corpus(7, 60))]
    expected = brute_force(entries)
    assert expected
    for seed in range(5):
        shuffled = random.Random(seed).sample(entries, len(entries))
        assert find_earlier_duplicates(shuffled) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(codec="utf-8"), max_size=80) | st.text("aB c\n", max_size=30))
def test_the_text_fast_path_gives_the_signature_of_the_shingle_set(text):
    # Bulk runs hash windows of the text, the service may hash a stored set: both must agree,
    # astral characters and lone surrogates included.
    assert text_signature(text) == signature(shingles(text))


def test_a_signature_is_compact_and_has_one_key_per_band():
    sig = text_signature("$BTC long squeeze incoming, funding rate negative")
    assert len(sig) == 4 * NUM_PERM
    keys = band_keys(sig)
    assert len(keys) == BANDS
    assert all(-(2**63) <= key < 2**63 for key in keys)


def test_equal_values_in_different_bands_give_different_keys():
    assert len(set(band_keys(bytes(4 * NUM_PERM)))) == BANDS


def test_shingles_of_mixed_lengths_and_bad_signatures_are_refused():
    with pytest.raises(ValueError):
        signature(frozenset({"abcde", "abcdef"}))
    with pytest.raises(ValueError):
        band_keys(b"\x00" * 12)


def test_the_prefilter_keeps_near_copies_and_drops_unrelated_texts():
    text = DISTINCT[:200]
    assert signatures_may_match(text_signature(text), text_signature(text[:190] + "xyzxyzxyzx"))
    assert not signatures_may_match(text_signature(text), text_signature(DISTINCT[200:400]))
    assert signature_agreement(text_signature(text), b"") == 0


def test_the_minhash_agreement_estimates_the_jaccard_value():
    # Pairs at exactly J = 4/5: each of the 200 values agrees with probability 4/5, so the
    # average over 100 pairs sits within a few tenths of a percent of 0.8; and every pair
    # shares a band (a miss has probability 1.3e-7 per pair).
    rng = random.Random(5)
    agreements = []
    for _ in range(100):
        points = rng.sample(range(0x4E00, 0x9FFF), 104)
        base = "".join(map(chr, points[:84]))
        a, b = base, base + "".join(map(chr, points[84:104]))
        assert Fraction(len(shingles(a) & shingles(b)), len(shingles(a) | shingles(b))) == FOUR_FIFTHS
        agreements.append(signature_agreement(text_signature(a), text_signature(b)))
        assert set(band_keys(text_signature(a))) & set(band_keys(text_signature(b)))
    assert 0.78 < sum(agreements) / (100 * NUM_PERM) < 0.82


def test_unrelated_texts_rarely_share_a_band():
    # Random texts share almost no 5-grams, so a shared key could only come from band keys that
    # mix their inputs badly (or a band number left out of the key).
    rng = random.Random(9)
    texts = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(400)) for _ in range(300)]
    owners = {}
    collisions = 0
    for n, text in enumerate(texts):
        for key in band_keys(text_signature(text)):
            collisions += key in owners
            owners[key] = n
    assert collisions == 0


def test_the_signature_scheme_is_pinned_because_signatures_are_stored():
    # Signatures and band keys live in the database: a changed hash silently splits old and new
    # posts into buckets that never meet. Changing this value needs a re-index migration.
    sig = text_signature("Bitcoin 空单 squeeze: $BTC https://x.com/a  funding rate 😀")
    digest = hashlib.sha256(sig).hexdigest()
    assert digest == "38cad087696874db1a0897b3a3774b87c511916b495aaa08060faf37d30b0cdd"
    assert band_keys(sig)[:2] == [4425781988481108812, 5413397361729988481]


def test_signatures_and_band_keys_are_the_same_in_fresh_processes():
    texts = ["做多 $BTC 突破 long squeeze", "The Bitcoin derivatives market is showing signs", "x" * 300]
    # Python's str hash is salted per process; a signature built on it would differ here.
    script = (
        "import json, sys\n"
        "from campaign.near_duplicates import band_keys, signature, text_signature\n"
        "from campaign.qualification import shingles\n"
        "texts = json.loads(sys.stdin.read())\n"
        "rows = [[text_signature(t).hex(), signature(shingles(t)).hex(), band_keys(text_signature(t))]"
        " for t in texts]\n"
        "print(json.dumps(rows))\n"
    )
    expected = [[text_signature(t).hex()] * 2 + [band_keys(text_signature(t))] for t in texts]
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script],
            input=json.dumps(texts),
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
            env=env,
            check=True,
        )
        assert json.loads(done.stdout) == expected


def test_the_stated_miss_probability_holds_for_the_chosen_bands():
    miss = (1 - FOUR_FIFTHS**nd.ROWS) ** nd.BANDS
    assert nd.ROWS * nd.BANDS == NUM_PERM
    assert miss < Fraction(1, 10**6)
    assert float(miss) == pytest.approx(1.27e-7, rel=0.01)


def _streamed(entries):
    """`earlier_matches` over entries given in their order, as the database rebuild feeds it."""
    matrix, has = nd.signature_matrix([nd.text_signature(text) for _, text, _ in entries])
    fetched = []

    def fetch_texts(rows):
        fetched.extend(rows)
        return [entries[r][1] for r in rows]

    match = nd.earlier_matches(
        nd.band_key_matrix(matrix) * has[:, None],
        has,
        matrix.astype(np.uint8),
        fetch_signatures=lambda rows: matrix[rows],
        fetch_texts=fetch_texts,
    )
    return {entries[r][0]: entries[m][0] for r, m in enumerate(match.tolist()) if m >= 0}, fetched


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), size=st.integers(1, 60))
def test_the_streamed_decision_from_band_keys_gives_the_brute_force_answer(seed, size):
    # Unique orders, as posts have (created_at, post_id) and references their id.
    entries = sorted(((key, text, (1, n, key)) for n, (key, text, _) in enumerate(corpus(seed, size))), key=lambda e: e[2])
    found, _ = _streamed(entries)
    assert found == brute_force(entries) == find_earlier_duplicates(entries)


def test_identical_copies_are_collapsed_and_texts_are_fetched_only_where_needed():
    rng = random.Random(3)
    unrelated = ["".join(rng.choice(DISTINCT) for _ in range(300)) for _ in range(30)]
    entries = [(f"u{i}", text, (1, i, "")) for i, text in enumerate(unrelated)]
    entries += [(f"c{i}", "  " + unrelated[0].upper() + " ", (1, 100 + i, "")) for i in range(50)]
    found, fetched = _streamed(entries)
    assert found == {f"c{i}": "u0" for i in range(50)}
    # Only the 51 holders of one signature are read, once to group them: no pair needs a text.
    assert sorted(fetched) == [0, *range(30, 80)]
