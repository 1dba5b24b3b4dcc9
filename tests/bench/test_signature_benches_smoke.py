"""Small runs of bench/signatures.py and bench/recall.py (issue 17), so that they never rot.

No timing is asserted. What is asserted is what the figures rest on: the signature bench finds
every path byte-identical, the recall bench's labels are the exact Jaccard of
`campaign/qualification.py`, its pairs are the same for the same seed, and its confidence bound
is the Clopper-Pearson one. No database.
"""

import math
from fractions import Fraction

from bench import recall, signatures
from campaign.qualification import jaccard_at_least, shingles


def test_the_signature_bench_finds_every_path_byte_identical(capsys):
    assert signatures.main(["--posts", "400", "--repeat", "1"]) == 0
    assert "signatures identical on every path" in capsys.readouterr().out


def test_recall_pairs_are_the_same_for_the_same_seed_and_cover_every_kind():
    first, again = recall.pairs_generate(count=24, seed=3), recall.pairs_generate(count=24, seed=3)
    assert first == again
    assert {pair.kind for pair in first} == set(recall.KINDS)
    assert all(pair.base != pair.edit for pair in first)


def test_recall_labels_are_the_exact_jaccard_and_near_pairs_are_candidates():
    pairs = recall.pairs_generate(count=60, seed=5)
    measured = recall.pairs_measure(pairs)
    for row, pair in enumerate(pairs):
        a, b = shingles(pair.base), shingles(pair.edit)
        assert measured["j"][row] == len(a & b) / len(a | b)
        assert measured["near"][row] == jaccard_at_least(a, b, Fraction(4, 5))
    near = measured["near"]
    assert near.sum() >= 20  # most targets are just above 0.8
    # At J >= 0.8 a miss has probability about 1e-7 per pair: none among these.
    assert measured["candidate"][near].all()


def test_the_miss_rate_bound_is_clopper_pearson():
    # With no miss the one-sided 95% bound solves (1 - p)^n = 0.05.
    assert math.isclose(recall.miss_rate_upper(0, 124_906), 1 - 0.05 ** (1 / 124_906), rel_tol=1e-9)
    # With misses, P(Bin(n, bound) <= misses) = 0.05.
    bound = recall.miss_rate_upper(24, 9956)
    assert math.isclose(recall.binomial_cdf(24, 9956, bound), 0.05, rel_tol=1e-6)
    assert math.isclose(recall.prefilter_pass(0.5), 0.5281742395046, rel_tol=1e-9)
