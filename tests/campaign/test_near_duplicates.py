"""The pure core of the near-duplicate check (RULES.md section 3, check 6): no database.

Signatures and band keys are stored, so their scheme is pinned here; the decision may only take
candidates from them, so its answers are compared with a brute-force exact scan. The rule itself,
for both storage adapters, is stated in test_duplicate_contract.py.
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
    Bands,
    MemoryCorpus,
    band_keys,
    earlier_duplicates,
    plausible,
    post_order,
    reference_order,
    signature,
    signature_matrix,
    text_signature,
)
from campaign.near_duplicates.decision import bucket_pairs
from campaign.qualification import jaccard_at_least, shingles

FOUR_FIFTHS = Fraction(4, 5)
PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Distinct code points make the 5-gram sets, hence the Jaccard values, easy to count.
DISTINCT = "".join(chr(0x4E00 + i) for i in range(400))


def close(a, b):
    return jaccard_at_least(a, b, FOUR_FIFTHS)


def brute_force(entries):
    """{key: earliest entry with a smaller order and exact J >= 4/5}: the definition itself."""
    sets = {key: shingles(text) for key, text, _ in entries}
    result = {}
    for key, _, order in entries:
        earlier = sorted((o, k) for k, _, o in entries if o < order and close(sets[key], sets[k]))
        if earlier:
            result[key] = earlier[0][1]
    return result


def corpus(seed, size):
    """Texts with planted near-copies, copies of copies and identical copies; unique orders."""
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
        entries.append((f"k{n}", text, (1, rng.randint(0, size // 2), f"k{n}")))
    return entries


class Counted:
    """A memory corpus that records which rows the decision read the texts of."""

    def __init__(self, entries):
        self.inner = MemoryCorpus(entries)
        self.fetched = []

    def signatures(self, rows):
        return self.inner.signatures(rows)

    def texts(self, rows):
        self.fetched.extend(rows)
        return self.inner.texts(rows)


def decided(entries):
    counted = Counted(entries)
    match = nd.earlier_matches(counted.inner.bands, counted)
    keys = counted.inner.keys
    return {keys[r]: keys[m] for r, m in enumerate(match.tolist()) if m >= 0}, counted.fetched


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10**6), size=st.integers(1, 60), data=st.data())
def test_the_decision_from_band_keys_gives_the_brute_force_answer_in_every_input_order(seed, size, data):
    entries = corpus(seed, size)
    expected = brute_force(entries)
    assert decided(entries)[0] == expected
    assert earlier_duplicates(data.draw(st.permutations(entries))) == expected


def test_the_decision_reads_stored_low_bytes_and_signatures_like_the_database_rebuild():
    # The database adapter feeds stored signatures back as bytes: the same answer must come out.
    entries = sorted(corpus(11, 80), key=lambda e: e[2])
    matrix, has = signature_matrix([text_signature(text) for _, text, _ in entries])
    memory = MemoryCorpus(entries)
    assert (matrix == memory.signatures(list(range(len(entries))))).all() and (has == memory.bands.has).all()
    match = nd.earlier_matches(Bands(nd.band_key_matrix(matrix), has, matrix.astype(np.uint8)), memory)
    assert {entries[r][0]: entries[m][0] for r, m in enumerate(match.tolist()) if m >= 0} == brute_force(entries)


def test_identical_copies_are_collapsed_and_texts_are_fetched_only_where_needed():
    rng = random.Random(3)
    unrelated = ["".join(rng.choice(DISTINCT) for _ in range(300)) for _ in range(30)]
    entries = [(f"u{i}", text, (1, i, "")) for i, text in enumerate(unrelated)]
    entries += [(f"c{i}", "  " + unrelated[0].upper() + " ", (1, 100 + i, "")) for i in range(50)]
    found, fetched = decided(entries)
    assert found == {f"c{i}": "u0" for i in range(50)}
    # Only the 51 holders of one signature are read, once to group them: no pair needs a text.
    assert sorted(fetched) == [0, *range(30, 80)]


def test_a_bucket_pairs_each_row_with_every_earlier_row_of_its_bucket_once():
    keys = np.array([7, 3, 7, 7, 3, 9], dtype=np.int64)
    rows = np.arange(6, dtype=np.int64)
    codes = np.concatenate(list(bucket_pairs(keys, rows, 6)))
    assert sorted((c // 6, c % 6) for c in codes.tolist()) == [(2, 0), (3, 0), (3, 2), (4, 1)]


def test_a_key_given_twice_or_a_shared_order_is_refused_by_the_memory_adapter():
    # Orders are unique by construction (post_id, reference id): a tie would leave "earlier" undefined.
    with pytest.raises(ValueError):
        earlier_duplicates([("a", "abcdef", 1), ("a", "abcdef", 2)])
    with pytest.raises(ValueError):
        earlier_duplicates([("a", "abcdef", 1), ("b", "abcdef", 1)])


def test_a_float_threshold_is_refused():
    with pytest.raises(TypeError):
        earlier_duplicates([("a", DISTINCT[:50], 1), ("b", DISTINCT[:50], 2)], threshold=0.8)


def test_posts_are_ordered_by_instant_then_post_id_as_a_string_and_references_come_first():
    utc = datetime(2026, 2, 13, 2, 0, tzinfo=timezone.utc)
    shanghai = utc.astimezone(timezone(timedelta(hours=8)))
    # Same instant in two offsets: the tie goes to post_id compared as a string, "p10" < "p9".
    assert post_order(shanghai, "p10") < post_order(utc, "p9")
    assert post_order(utc, "p9") < post_order(utc + timedelta(microseconds=1), "p0")
    assert reference_order(999) < post_order(datetime(1970, 1, 1, tzinfo=timezone.utc), "")


def test_a_naive_created_at_is_refused():
    with pytest.raises(ValueError):
        post_order(datetime(2026, 2, 13), "p1")


def test_a_repost_storm_points_every_copy_to_the_earliest_text():
    # The worst case of LSH buckets: 300 members pairwise would be 45k checks.
    text = "$ETH breakout retest, entry at support, stop loss below the range, take profit at 4k."
    entries = [(f"p{n:04d}", text, (1, n)) for n in range(300)]
    entries.append(("ref", text.lower(), (0, 0)))
    assert earlier_duplicates(reversed(entries)) == {f"p{n:04d}": "ref" for n in range(300)}


def test_texts_under_five_characters_have_no_signature_and_no_band_key():
    assert text_signature("abcd") == signature(frozenset()) == b""
    assert band_keys(b"") == []


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


def signatures_of(*texts):
    return signature_matrix([text_signature(t) for t in texts])[0]


def test_the_prefilter_keeps_near_copies_and_drops_unrelated_texts():
    text = DISTINCT[:200]
    near, far, empty = signatures_of(text[:190] + "xyzxyzxyzx", DISTINCT[200:400], "abc")
    own = signatures_of(text)[0]
    assert plausible(own, near) and not plausible(own, far) and not plausible(own, empty)
    # The low bytes never agree less than the values: the rebuild's first prefilter loses nothing.
    assert nd.core.agreement(own.astype(np.uint8), near.astype(np.uint8)) >= nd.core.agreement(own, near)


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
        agreements.append(int(nd.core.agreement(*signatures_of(a, b))))
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
