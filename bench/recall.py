"""Benchmark: the recall of the near-duplicate candidates, measured on labelled pairs (issue 17).

Usage, from the project root:

    .venv/bin/python bench/recall.py [--pairs 50000] [--seed 17] [--no-decision]

A pair is a post as `bench/data.py` writes it (200 to 2,000 characters, about 3/4 English and 1/4
Chinese) and an edit of it: character substitutions, insertions, deletions, moved spans
(reorderings), replaced runs (words), or a mix. The number of edits is chosen so that the exact
Jaccard lands near a target: 70% of the targets in [0.80, 0.85], just above RULES.md's 0.8,
30% in [0.50, 0.80), where the bands miss often enough for the miss rate to be measured. The
label of a pair is its exact Jaccard on the 5-grams of `normalize_for_shingles`
(`campaign/qualification.py`), and `jaccard_at_least(..., 4/5)` says whether it is a
near-duplicate. Same seed, same pairs, same figures.

Measured, per Jaccard bin:
- candidate: the pair shares a band key (`band_key_matrix`) and its signatures agree on at least
  `MIN_AGREEMENT` values (`plausible`), exactly what `decision.earlier_matches` asks before its
  exact check; its rate beside the theoretical 1 - (1 - J^5)^40 (band) and
  P(Bin(200, J) >= 100) (prefilter), averaged over the bin's pairs;
- misses, their expected number, and a one-sided 95% Clopper-Pearson upper bound on the miss rate;
- the mean fraction of equal MinHash values beside the mean J (MinHash is unbiased when they
  agree), and the number of equal bands against the binomial the formula assumes (dispersion 1:
  bands independent);
- unless --no-decision, `earlier_duplicates` over every text (post i, then its edit): each edit
  must get a match exactly when its label says near-duplicate, and every match is re-checked;
- boilerplate keys (issue 17): the candidates the stored sketches would rule out
  (`sketch_plausible` False: must be none, since a sketch can only drop pairs the prefilter
  drops), and, for comparison, the alternative of asking crowded keys for a second shared band:
  its misses per bin beside 1 - (1 - p)^40 - 40 p (1 - p)^39, p = J^5.
"""

import argparse
import math
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from bench.data import EN_WORDS, ZH_CHARS, PostFactory  # noqa: E402
from campaign.near_duplicates import BANDS, MIN_AGREEMENT, NUM_PERM, ROWS, band_key_matrix, earlier_duplicates  # noqa: E402
from campaign.near_duplicates.core import agreement, sketch_matrix, sketch_plausible, text_signature_matrix  # noqa: E402
from campaign.qualification import jaccard_at_least, shingles  # noqa: E402

THRESHOLD = Fraction(4, 5)
KINDS = ("substitute", "insert", "delete", "reorder", "word", "mixed")
# About how many distinct 5-grams one edit of each kind changes: the first guess of how many
# edits reach a target Jaccard, corrected twice on the measured value.
_CHANGED_PER_EDIT = {"substitute": 5, "insert": 6, "delete": 6, "reorder": 12, "word": 9, "mixed": 7}
BINS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 1.0001)
_LATIN = "abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True)
class Pair:
    base: str
    edit: str
    kind: str
    chinese: bool
    edits: int


def _filler(rng: random.Random, like: str, size: int) -> str:
    alphabet = ZH_CHARS if like and ord(like) >= 0x2E80 else _LATIN
    return "".join(rng.choice(alphabet) for _ in range(size))


def _edit_once(rng: random.Random, text: str, kind: str) -> str:
    if kind == "mixed":
        kind = rng.choice(KINDS[:-1])
    if not text:
        return text
    at = rng.randrange(len(text))
    if kind == "substitute":
        return text[:at] + _filler(rng, text[at], 1) + text[at + 1 :]
    if kind == "insert":
        return text[:at] + _filler(rng, text[at], rng.randint(1, 3)) + text[at:]
    if kind == "delete":
        return text[:at] + text[at + rng.randint(1, 3) :]
    if kind == "word":
        if ord(text[at]) >= 0x2E80:
            return text[:at] + _filler(rng, text[at], 2) + text[at + 2 :]
        return text[:at] + " " + rng.choice(EN_WORDS) + " " + text[at + rng.randint(2, 8) :]
    # reorder: a span of 8 to 40 characters moved elsewhere
    size = rng.randint(8, 40)
    span, rest = text[at : at + size], text[:at] + text[at + size :]
    to = rng.randrange(len(rest) + 1)
    return rest[:to] + span + rest[to:]


def _edited(base: str, kind: str, edits: int, seed: str) -> str:
    # The same seed replays the same edits, so `edits` + 1 edits extend `edits` edits.
    rng = random.Random(seed)
    text = base
    for _ in range(edits):
        text = _edit_once(rng, text, kind) or base
    return text


def exact_jaccard(a: frozenset, b: frozenset) -> Fraction:
    union = len(a | b)
    return Fraction(len(a & b), union) if union else Fraction(0)


def pairs_generate(*, count: int, seed: int) -> list[Pair]:
    """`count` (post, edit) pairs, deterministic in `seed`; every post is used once."""
    rng = random.Random(seed)
    factory = PostFactory(rng)
    pairs = []
    for number in range(count):
        chinese = rng.random() < 0.25
        base = factory.original(chinese=chinese, trading=True)
        kind = KINDS[number % len(KINDS)]
        target = rng.uniform(0.80, 0.85) if rng.random() < 0.7 else rng.uniform(0.5, 0.8)
        base_set = shingles(base)
        # D = (1 - J) / (1 + J) grows about linearly with the number of edits.
        wanted = (1 - target) / (1 + target)
        edits = max(1, round(len(base_set) * wanted / _CHANGED_PER_EDIT[kind]))
        pair_seed = f"{seed}:{number}"
        for _ in range(3):
            edit = _edited(base, kind, edits, pair_seed)
            j = float(exact_jaccard(base_set, shingles(edit)))
            reached = (1 - j) / (1 + j)
            following = max(1, round(edits * wanted / reached)) if reached > 0 else edits * 2
            if following == edits:
                break
            edits = following
        else:
            edit = _edited(base, kind, edits, pair_seed)
        pairs.append(Pair(base, edit, kind, chinese, edits))
    return pairs


def binomial_cdf(x: int, n: int, p: float) -> float:
    """P(Bin(n, p) <= x)."""
    if p <= 0:
        return 1.0
    if p >= 1:
        return 1.0 if x >= n else 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_p + (n - k) * log_q for k in range(x + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def miss_rate_upper(misses: int, n: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper bound on a rate after `misses` in `n` trials."""
    if n == 0:
        return 1.0
    if misses >= n:
        return 1.0
    lo, hi = misses / n, 1.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if binomial_cdf(misses, n, mid) > 1 - confidence:
            lo = mid
        else:
            hi = mid
    return hi


def prefilter_pass(j: float) -> float:
    """P(Bin(NUM_PERM, j) >= MIN_AGREEMENT): a true pair survives the signature prefilter."""
    return 1 - binomial_cdf(MIN_AGREEMENT - 1, NUM_PERM, j)


def pairs_measure(pairs: list[Pair]) -> dict:
    """Labels and what the bands and the prefilter make of every pair, as numpy arrays."""
    labels = np.empty(len(pairs))
    near = np.empty(len(pairs), dtype=bool)
    for row, pair in enumerate(pairs):
        a, b = shingles(pair.base), shingles(pair.edit)
        labels[row] = float(exact_jaccard(a, b))
        near[row] = jaccard_at_least(a, b, THRESHOLD)
    base_sigs, base_has = text_signature_matrix([pair.base for pair in pairs])
    edit_sigs, edit_has = text_signature_matrix([pair.edit for pair in pairs])
    both = base_has & edit_has
    equal_bands = (band_key_matrix(base_sigs) == band_key_matrix(edit_sigs)).sum(axis=1) * both
    agreeing = agreement(base_sigs, edit_sigs) * both
    return {
        "j": labels,
        "near": near,
        "bands": equal_bands,
        "agreement": agreeing,
        "banded": equal_bands > 0,
        "candidate": (equal_bands > 0) & (agreeing >= MIN_AGREEMENT),
        "sketch_kept": sketch_plausible(sketch_matrix(base_sigs), sketch_matrix(edit_sigs)) & both,
    }


def report_boilerplate(pairs: list[Pair], m: dict, out=print) -> None:
    """Per bin: the candidates a stored sketch would rule out (none may be), and what asking for
    two shared bands instead of one would miss, beside its formula."""
    j = m["j"]
    p = j**ROWS
    one = 1 - (1 - p) ** BANDS
    two = one - BANDS * p * (1 - p) ** (BANDS - 1)
    candidate = m["candidate"]
    two_bands = (m["bands"] >= 2) & (m["agreement"] >= MIN_AGREEMENT)
    out(f"{'Jaccard':<13}{'pairs':>7}{'cand.':>8}{'ruled out by sketch':>21}{'2 bands: misses':>17}{'expected':>10}{'1 band: expected':>18}")
    for lo, hi in zip(BINS, BINS[1:]):
        sel = (j >= lo) & (j < hi)
        n = int(sel.sum())
        if not n:
            continue
        label = f"[{lo:.2f}, {min(hi, 1):.2f}{')' if hi < 1 else ']'}"
        out(
            f"{label:<13}{n:>7}{int(candidate[sel].sum()):>8}{int((candidate & ~m['sketch_kept'])[sel].sum()):>21}"
            f"{int((sel & ~two_bands).sum()):>17}{(1 - two[sel]).sum():>10.3g}{(1 - one[sel]).sum():>18.3g}"
        )
    near = m["near"]
    lost = int((near & ~two_bands).sum())
    out(
        f"sketch prefilter: {int((candidate & ~m['sketch_kept']).sum())} of {int(candidate.sum()):,} candidates ruled out; "
        f"two shared bands: {lost} of {int(near.sum()):,} near-duplicates missed, recall >= {1 - miss_rate_upper(lost, int(near.sum())):.6f} "
        f"(one-sided 95%); at J = 0.8 a pair misses with probability {(1 - 0.8**ROWS) ** BANDS:.3g} (one band) "
        f"or {1 - (1 - (1 - 0.8**ROWS) ** BANDS - BANDS * 0.8**ROWS * (1 - 0.8**ROWS) ** (BANDS - 1)):.3g} (two bands)"
    )


def report_bins(pairs: list[Pair], m: dict, out=print) -> None:
    j = m["j"]
    band_p = 1 - (1 - j**ROWS) ** BANDS
    pass_p = np.array([prefilter_pass(float(x)) for x in j])
    row_p = j**ROWS
    out(
        f"{'Jaccard':<13}{'pairs':>7}{'band':>9}{'theory':>9}{'cand.':>9}{'theory':>9}{'misses':>8}"
        f"{'expected':>10}{'95% max miss rate':>19}{'agree':>8}{'mean J':>8}{'disp.':>7}"
    )
    for lo, hi in zip(BINS, BINS[1:]):
        sel = (j >= lo) & (j < hi)
        n = int(sel.sum())
        if not n:
            continue
        expected_candidate = band_p[sel] * pass_p[sel]
        misses = int(n - m["candidate"][sel].sum())
        spread = ((m["bands"][sel] - BANDS * row_p[sel]) ** 2).sum() / (BANDS * row_p[sel] * (1 - row_p[sel])).sum()
        label = f"[{lo:.2f}, {min(hi, 1):.2f}{')' if hi < 1 else ']'}"
        out(
            f"{label:<13}{n:>7}{m['banded'][sel].mean():>9.5f}{band_p[sel].mean():>9.5f}{m['candidate'][sel].mean():>9.5f}"
            f"{expected_candidate.mean():>9.5f}{misses:>8}{(1 - expected_candidate).sum():>10.3g}"
            f"{miss_rate_upper(misses, n):>19.2e}{m['agreement'][sel].mean() / NUM_PERM:>8.4f}{j[sel].mean():>8.4f}{spread:>7.2f}"
        )


def report_groups(pairs: list[Pair], m: dict, out=print) -> None:
    """The bin of interest, [0.80, 0.85), by language and by kind of edit."""
    j = m["j"]
    main = (j >= 0.8) & (j < 0.85)
    groups = Counter()
    found = Counter()
    for row in np.nonzero(main)[0].tolist():
        pair = pairs[row]
        for key in ("Chinese" if pair.chinese else "English", pair.kind):
            groups[key] += 1
            found[key] += bool(m["candidate"][row])
    out("J in [0.80, 0.85), by group: " + ", ".join(f"{key} {found[key]}/{groups[key]}" for key in sorted(groups)))


def report_decision(pairs: list[Pair], m: dict, out=print) -> None:
    """`earlier_duplicates` over all texts: post i (order (i, 0)) then its edit (order (i, 1))."""
    entries = []
    for row, pair in enumerate(pairs):
        entries.append((("post", row), pair.base, (row, 0)))
        entries.append((("edit", row), pair.edit, (row, 1)))
    started = time.perf_counter()
    matches = earlier_duplicates(entries)
    seconds = time.perf_counter() - started
    text_of = {key: text for key, text, _ in entries}
    wrong = sum(1 for key, match in matches.items() if not jaccard_at_least(shingles(text_of[key]), shingles(text_of[match]), THRESHOLD))
    flagged = np.array([("edit", row) in matches for row in range(len(pairs))])
    own = np.array([matches.get(("edit", row)) == ("post", row) for row in range(len(pairs))])
    near = m["near"]
    posts_flagged = sum(1 for key in matches if key[0] == "post")
    out(
        f"decision (earlier_duplicates over {len(entries):,} texts, {seconds:.1f} s): near-duplicate edits flagged "
        f"{int((flagged & near).sum())}/{int(near.sum())} ({int((own & near).sum())} on their own post), "
        f"edits below 0.8 flagged {int((flagged & ~near).sum())}, posts flagged {posts_flagged}, "
        f"matches failing the exact check {wrong}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--no-decision", action="store_true", help="skip the end-to-end run of earlier_duplicates")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    pairs = pairs_generate(count=args.pairs, seed=args.seed)
    print(f"pairs: {len(pairs):,} generated in {time.perf_counter() - started:.1f} s (seed {args.seed})")
    started = time.perf_counter()
    m = pairs_measure(pairs)
    print(f"labelled and signed in {time.perf_counter() - started:.1f} s; bands {BANDS} x {ROWS}, prefilter {MIN_AGREEMENT}/{NUM_PERM}")
    report_bins(pairs, m)
    report_groups(pairs, m)
    near = m["near"]
    n, missed = int(near.sum()), int((near & ~m["candidate"]).sum())
    j = m["j"][near]
    theory = float((1 - (1 - j**ROWS) ** BANDS).mean()) if n else float("nan")
    print(
        f"near-duplicates (exact J >= 0.8): {n:,}, candidates {n - missed:,}, missed {missed}; recall >= "
        f"{1 - miss_rate_upper(missed, n):.6f} (one-sided 95%); theory {theory:.10f}"
    )
    report_boilerplate(pairs, m)
    if not args.no_decision:
        report_decision(pairs, m)
    return 0


if __name__ == "__main__":
    sys.exit(main())
