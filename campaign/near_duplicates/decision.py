"""The decision of check 6 over a whole corpus: the earliest earlier near-duplicate of every text.

Pure: the texts and signatures come from a `Corpus`, the one interface both storage adapters
implement (`memory.MemoryCorpus` for the contract tests and the recall bench, `db.CampaignCorpus` for ingest and
settlement). Rows are entries in their order: row i is earlier than row j when i < j, and orders
are unique (posts by `post_order`, references by `reference_order`).
"""

from fractions import Fraction
from typing import NamedTuple, Protocol

import numpy as np

from campaign.near_duplicates.core import BANDS, DEFAULT_THRESHOLD, band_digest, plausible
from campaign.qualification import SHINGLE_SIZE, jaccard_at_least, normalize_for_shingles

# Pair codes are deduplicated whenever this many have piled up, which bounds the memory of
# large buckets (hundreds of near-copies of one text) to a few hundred MB.
_PAIR_FLUSH = 1 << 23
# At most this many pairs are generated at once (one big bucket of s rows has s(s-1)/2 pairs).
_PAIR_CHUNK = 1 << 18
_TEXT_BATCH = 4096
_SET_BATCH = 1024


class Corpus(Protocol):
    """What the decision reads of a storage, by row (rows as in `Bands`), only where it needs it."""

    def signatures(self, rows: list[int]) -> np.ndarray:
        """(len(rows), NUM_PERM) uint32 signatures (zeros for an empty one)."""

    def texts(self, rows: list[int]) -> list[str]:
        """The texts of the rows, as stored (not normalized)."""


class Bands(NamedTuple):
    """Every row's band keys, held whole: (n, BANDS) int64 keys (`band_key_matrix`), the (n,)
    mask of rows with a signature, and (n, NUM_PERM) uint8, the low byte of each MinHash value."""

    keys: np.ndarray
    has: np.ndarray
    low: np.ndarray


def bucket_pairs(keys: np.ndarray, rows: np.ndarray, n: int):
    """Codes `later * n + earlier` of the rows sharing a key, in chunks of at most about
    `_PAIR_CHUNK` pairs; `rows` ascending, so each row pairs with every earlier row of its bucket."""
    sorter = np.argsort(keys, kind="stable")  # stable: a bucket keeps its rows in order
    keys, rows = keys[sorter], rows[sorter]
    starts = np.r_[True, keys[1:] != keys[:-1]]
    positions = np.arange(len(keys))
    run_start = np.maximum.accumulate(np.where(starts, positions, 0))
    offsets = positions - run_start  # how many earlier rows of its bucket each row pairs with
    paired = np.nonzero(offsets)[0]
    if not len(paired):
        return
    ends = np.cumsum(offsets[paired])
    cut = np.searchsorted(ends, np.arange(_PAIR_CHUNK, ends[-1], _PAIR_CHUNK), side="right")
    for block in np.split(paired, np.unique(cut)):
        if not len(block):
            continue
        counts = offsets[block]
        later_pos = np.repeat(block, counts)
        earlier_pos = np.repeat(run_start[block], counts) + (np.arange(len(later_pos)) - np.repeat(np.cumsum(counts) - counts, counts))
        yield rows[later_pos] * n + rows[earlier_pos]


def earlier_matches(
    bands: Bands, corpus: Corpus, *, threshold: Fraction = DEFAULT_THRESHOLD, k: int = SHINGLE_SIZE, looser: np.ndarray | None = None
) -> np.ndarray:
    """The earliest earlier near-duplicate row of every row (-1: none): RULES.md section 3, check 6.

    `looser` (optional, (n,) int64): every row's answer under a threshold at most `threshold`, or
    0 for a row whose answer is not known (0 bounds nothing). The candidates do not depend on
    the threshold, and a pair at least `threshold` alike is at least as alike as the looser one
    asks: a row's answer here is -1 where it was -1 there, and never earlier than it was there.
    Only the pairs that can still answer are decided (a what-if preview of a stricter threshold).

    Nothing of the corpus is held but `bands`; signatures and texts are read for the few rows
    that need them:

    1. rows with equal signatures are grouped and their texts compared; an identical normalized
       text is a copy of its earliest holder and answers as it does (no pairwise work);
    2. bucket pairs are generated band by band and deduplicated;
    3. the low bytes prefilter them: equal values have equal low bytes, so a pair that agrees
       on `MIN_AGREEMENT` values also agrees on as many low bytes, and nothing is lost;
    4. the survivors are checked on their full signatures, then exactly on their 5-gram sets,
       earliest first, stopping at the first success of each later row.
    """
    if isinstance(threshold, float):
        raise TypeError("threshold must be exact (fractions.Fraction), not float")
    n = len(bands.keys)
    match = np.full(n, -1, dtype=np.int64)
    if np.count_nonzero(bands.has) < 2:
        return match
    copies = _identical_copies(bands, corpus)
    representative = bands.has.copy()
    representative[[row for row, _ in copies]] = False
    later, earlier = _candidate_pairs(bands, corpus, np.nonzero(representative)[0], looser)
    _decide(match, later, earlier, corpus, Fraction(threshold), k)
    # A copy has the 5-grams of its earliest holder: it matches what that one matches, or else
    # that holder itself (always earlier, orders being unique).
    for row, first in copies:
        match[row] = match[first] if match[first] >= 0 else first
    return match


def _identical_copies(bands: Bands, corpus: Corpus) -> list[tuple[int, int]]:
    """(row, earliest row with the same normalized text) for every later holder of a text."""
    rows = np.nonzero(bands.has)[0]
    digests = band_digest(bands.keys[rows])
    sorter = np.lexsort((rows, digests))
    sorted_digests, sorted_rows = digests[sorter], rows[sorter]
    same = sorted_digests[1:] == sorted_digests[:-1]
    grouped = np.zeros(len(sorted_rows), dtype=bool)
    grouped[1:] |= same
    grouped[:-1] |= same
    members, member_digests = sorted_rows[grouped], sorted_digests[grouped]
    copies, lo = [], 0
    while lo < len(members):
        hi = min(len(members), lo + _TEXT_BATCH)
        # Never split a group of equal digests across two batches.
        while hi < len(members) and member_digests[hi] == member_digests[hi - 1]:
            hi += 1
        batch = members[lo:hi].tolist()
        first_of: dict[tuple[int, str], int] = {}
        for row, digest, text in zip(batch, member_digests[lo:hi].tolist(), corpus.texts(batch)):
            first = first_of.setdefault((digest, normalize_for_shingles(text)), row)
            if first != row:
                copies.append((row, first))
        lo = hi
    return copies


def _candidate_pairs(bands: Bands, corpus: Corpus, eligible: np.ndarray, looser: np.ndarray | None = None) -> tuple[list[int], list[int]]:
    """(later rows, earlier rows) sharing a band and passing the prefilter, sorted by later row
    then earlier row: the first exact success of a later row is then its earliest match. With
    `looser` (`earlier_matches`), only the pairs whose earlier row is at or after the later
    row's looser answer."""
    n = len(bands.keys)
    # Band by band, chunk by chunk, each chunk prefiltered at once: only plausible pairs are kept,
    # so a bucket of thousands of unrelated texts costs time, never memory.
    survivors, pending = [], 0
    for band in range(BANDS):
        for codes in bucket_pairs(bands.keys[eligible, band], eligible, n):
            if looser is not None:
                bound = looser[codes // n]
                codes = codes[(bound >= 0) & (codes % n >= bound)]
            survivors.append(codes[plausible(bands.low[codes // n], bands.low[codes % n])])
            pending += len(survivors[-1])
            if pending > _PAIR_FLUSH:
                survivors, pending = [np.unique(np.concatenate(survivors))], 0
    codes = np.unique(np.concatenate(survivors)) if survivors else np.zeros(0, dtype=np.int64)
    del survivors
    later, earlier = codes // n, codes % n
    if len(later):
        needed = np.unique(np.concatenate([later, earlier]))
        sigs = corpus.signatures(needed.tolist())
        keep = plausible(sigs[np.searchsorted(needed, later)], sigs[np.searchsorted(needed, earlier)])
        later, earlier = later[keep], earlier[keep]
    order = np.lexsort((earlier, later))
    return later[order].tolist(), earlier[order].tolist()


def _decide(match: np.ndarray, later: list[int], earlier: list[int], corpus: Corpus, threshold: Fraction, k: int) -> None:
    """The exact decision on the candidate pairs, in batches of texts."""
    lo = 0
    while lo < len(later):
        # A batch holds the texts of at most about `_SET_BATCH` rows (5-gram sets are ~100 KB
        # each); a later row's candidates are never split, so its first success is its earliest.
        hi, batch_rows = lo, set()
        while hi < len(later) and (len(batch_rows) < _SET_BATCH or later[hi] == later[hi - 1]):
            batch_rows.update((later[hi], earlier[hi]))
            hi += 1
        wanted = sorted(batch_rows)
        text_of = dict(zip(wanted, corpus.texts(wanted)))
        sets: dict[int, frozenset] = {}

        def grams(row):
            if row not in sets:
                text = normalize_for_shingles(text_of[row])
                sets[row] = frozenset(text[i : i + k] for i in range(len(text) - k + 1))
            return sets[row]

        for a, b in zip(later[lo:hi], earlier[lo:hi]):
            if match[a] < 0 and jaccard_at_least(grams(a), grams(b), threshold):
                match[a] = b
        lo = hi


# --- The incremental decision: a few texts changed in an index that was right before ---


def key_hits(keys: np.ndarray, hit_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, hits): every row of `keys` ((n, BANDS) band keys) beside every hit (index into
    `hit_keys`, the keys of the rows a band lookup returned) whose key it holds: a join on the key."""
    flat_keys, flat_rows = keys.ravel(), np.repeat(np.arange(len(keys)), keys.shape[1])
    sorter = np.argsort(flat_keys)
    lo = np.searchsorted(flat_keys, hit_keys, side="left", sorter=sorter)
    hi = np.searchsorted(flat_keys, hit_keys, side="right", sorter=sorter)
    counts = hi - lo
    starts = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    return flat_rows[sorter[starts]], np.repeat(np.arange(len(hit_keys)), counts)


def key_pairs(keys: np.ndarray, hit_keys: np.ndarray, hit_owners: np.ndarray) -> np.ndarray:
    """Unique (row, owner) pairs where row `row` of `keys` ((n, BANDS) band keys) holds a key of
    the (hit key, hit owner) rows a band lookup returned: a join on the key, in numpy."""
    rows, hits = key_hits(keys, hit_keys)
    return np.unique(np.stack([rows, hit_owners[hits]], axis=1), axis=0)


def relinks(*, relink: list, changed: list, candidates: dict, order, link_order, near, linkable) -> dict:
    """{owner: its new earliest earlier near-duplicate (None: none)} after `changed` texts changed.

    Same answers as `earlier_matches` from scratch, for the owners whose answer may have moved:
    `relink` (the changed posts, and posts that pointed at one) get the earliest earlier of their
    candidates that is near; a later `linkable` candidate of a changed text keeps its link (right
    before the change) unless the changed text is earlier than it and near. `candidates[o]` is
    earliest first (band neighbours past the prefilter); `order(o)`, `link_order(o)` (the order of
    o's current link, None without one) and `near(a, b)` (the exact Jaccard decision) are the
    storage's. Owners not in the result keep their link.
    """
    new = {}
    for owner in relink:
        own = order(owner)
        new[owner] = next((c for c in candidates[owner] if order(c) < own and near(owner, c)), None)
    proposals: dict = {}
    for owner in changed:
        for other in candidates[owner]:
            if linkable(other) and other not in new and order(owner) < order(other):
                proposals.setdefault(other, []).append(owner)
    for other, sources in proposals.items():
        current = link_order(other)
        for source in sorted(sources, key=order):
            if current is not None and current <= order(source):
                break
            if near(other, source):
                new[other] = source
                break
    return new
