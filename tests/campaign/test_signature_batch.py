"""The batch path of the signatures (`text_signature_matrix`, issue 17) gives `text_signature`'s bytes.

Stored signatures come from `text_signature` (ingest) and from the batch path (the what-if
preview, any re-signing), so the two must agree byte for byte, on every text: texts too short
for a 5-gram, texts whose k-grams would straddle their neighbours in the joined batch, surrogates,
a text longer than a whole batch, batches split across threads. No database.
"""

import hashlib
import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from campaign.near_duplicates import NUM_PERM, text_signature
from campaign.near_duplicates.core import _BATCH_KGRAMS, _BATCH_MIN_KGRAMS, text_signature_matrix
from campaign.qualification import SHINGLE_SIZE, normalize_for_shingles

PINNED_TEXT = "Bitcoin 空单 squeeze: $BTC https://x.com/a  funding rate 😀"
# tests/campaign/test_near_duplicates.py pins this digest for `text_signature`.
PINNED_DIGEST = "38cad087696874db1a0897b3a3774b87c511916b495aaa08060faf37d30b0cdd"

EDGE_TEXTS = [
    "",
    "   \n\t ",
    "abcd",  # 4 characters: no 5-gram
    "abcde",  # exactly one 5-gram
    "ab cd e",  # one 5-gram once the whitespace is gone
    "https://only.a/url",
    "İİİ",  # lowercasing lengthens it to 6 code points: two 5-grams
    "😀👍🚀🔥💎🌕",
    "lone \ud800 surrogate",
    "ends with a high surrogate \ud83d",
    "\ude00 starts with a low surrogate",  # after the previous one: no pair may form across texts
    "做多 $BTC 突破 long squeeze 清算 爆仓",
    PINNED_TEXT,
]


def _filler(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = "long short bitcoin 做多 做空 合约 funding rate support resistance breakout 突破".split()
    return [" ".join(rng.choice(words) + str(rng.randint(0, 999)) for _ in range(rng.randint(30, 250))) for _ in range(count)]


def _kgrams(texts: list[str]) -> int:
    return sum(max(0, len(normalize_for_shingles(text)) - SHINGLE_SIZE + 1) for text in texts)


def _assert_rows_are_text_signatures(texts: list[str], sigs: np.ndarray, has: np.ndarray) -> None:
    assert sigs.shape == (len(texts), NUM_PERM) and sigs.dtype == np.uint32
    for row, text in enumerate(texts):
        expected = text_signature(text)
        assert bool(has[row]) == bool(expected), text
        assert (sigs[row].astype("<u4").tobytes() if has[row] else b"") == expected, text
        if not has[row]:
            assert not sigs[row].any()


def test_a_batch_with_every_edge_case_gives_the_bytes_of_text_signature():
    texts = _filler(120, seed=1)
    for at, text in enumerate(EDGE_TEXTS):
        texts.insert(at * 5, text)
    texts += EDGE_TEXTS[-4:]  # the last texts of a batch too
    # Enough k-grams for the batch path and for more than one batch.
    assert _kgrams(texts) > max(_BATCH_MIN_KGRAMS, _BATCH_KGRAMS)
    sigs, has = text_signature_matrix(texts, threads=1)
    _assert_rows_are_text_signatures(texts, sigs, has)


def test_the_pinned_signature_comes_out_of_the_batch_path_unchanged():
    texts = _filler(40, seed=2) + [PINNED_TEXT] + _filler(40, seed=3)
    assert _kgrams(texts) > _BATCH_MIN_KGRAMS
    sigs, has = text_signature_matrix(texts, threads=1)
    assert has[40]
    assert hashlib.sha256(sigs[40].astype("<u4").tobytes()).hexdigest() == PINNED_DIGEST


def test_a_text_longer_than_a_whole_batch_is_signed_whole():
    rng = random.Random(4)
    long_text = "".join(rng.choice("abcdefghij做多空单") for _ in range(_BATCH_KGRAMS + 5000))
    texts = ["short one", long_text, "another short text here", long_text[::-1]]
    sigs, has = text_signature_matrix(texts, threads=1)
    _assert_rows_are_text_signatures(texts, sigs, has)


def test_a_few_short_texts_take_the_per_text_path_and_agree():
    texts = EDGE_TEXTS[:6]
    assert _kgrams(texts) < _BATCH_MIN_KGRAMS
    sigs, has = text_signature_matrix(texts)
    _assert_rows_are_text_signatures(texts, sigs, has)


def test_threads_split_the_texts_without_changing_a_byte():
    texts = _filler(1100, seed=5)
    texts[::97] = EDGE_TEXTS * (len(texts[::97]) // len(EDGE_TEXTS)) + EDGE_TEXTS[: len(texts[::97]) % len(EDGE_TEXTS)]
    one_sigs, one_has = text_signature_matrix(texts, threads=1)
    two_sigs, two_has = text_signature_matrix(texts, threads=2)
    assert np.array_equal(one_sigs, two_sigs) and np.array_equal(one_has, two_has)
    _assert_rows_are_text_signatures(texts, two_sigs, two_has)


def test_no_texts_give_an_empty_matrix():
    sigs, has = text_signature_matrix([])
    assert sigs.shape == (0, NUM_PERM) and has.shape == (0,)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=40), min_size=1, max_size=12), st.integers(0, 40))
def test_any_texts_among_a_large_batch_get_the_bytes_of_text_signature(generated, at):
    texts = _filler(30, seed=6)
    texts[at % len(texts) : at % len(texts)] = generated
    assert _kgrams(texts) > _BATCH_MIN_KGRAMS
    sigs, has = text_signature_matrix(texts, threads=1)
    _assert_rows_are_text_signatures(texts, sigs, has)


def test_text_signatures_are_text_signature_one_by_one_including_the_empty_ones():
    # What ingest stores (`posts_ingest` signs a chunk's new texts with `text_signatures`).
    from campaign.near_duplicates import text_signatures

    texts = EDGE_TEXTS + [f"post {i}: long BTC above {60_000 + i}, stop below the range low" for i in range(1_500)]
    assert text_signatures(texts) == [text_signature(text) for text in texts]
    assert text_signatures([]) == []
    assert text_signatures(["abcd"]) == [b""]
