"""Near-duplicate detection for check 6 of RULES.md section 3 (MinHash LSH, exact decision).

Pure: no Django, no ORM, no clock, no I/O. A post is a duplicate when an earlier stored post
(any author, any verdict, any time) or an ops reference text has exact Jaccard >= 4/5 on the
character 5-grams of `qualification.normalize_for_shingles`. The MinHash index below only
proposes candidates; every verdict is `qualification.jaccard_at_least` on the real 5-gram sets.
The relation is not transitive: A ~ B and B ~ C says nothing about A and C.

MinHash. Each distinct 5-gram gets a stable 32-bit hash computed with numpy from its code points
(FNV-style multiply/xor over the UTF-32 code points, then the splitmix64 finalizer; never
Python's salted `hash()`). `NUM_PERM` permutations `x -> (a*x + b) mod 2**32` (a odd, so each
is a bijection) take the minimum. The a's and b's come from a fixed splitmix64 sequence in pure
Python, so a signature is identical in every process, machine and numpy version and can be stored
(`signature` -> `NUM_PERM` little-endian uint32, 800 bytes). An empty 5-gram set (normalized text
under 5 characters) has the empty signature and no band keys: it never matches anything.

LSH. `BANDS` = 40 bands of `ROWS` = 5 values. A band key is a signed 64-bit mix of the band
number and its 5 values (fits a PostgreSQL bigint). A pair at Jaccard J shares at least one band
with probability 1 - (1 - J**5)**40:
    J = 0.8 -> missed with probability (1 - 0.8**5)**40 = 1.27e-7   (J = 0.9 -> 3.1e-16)
    J = 0.3 -> candidate 9.3%,  J = 0.1 -> 4.0e-4,  J = 0.05 -> 1.25e-5.
Candidates are then prefiltered on signature agreement: a pair whose signatures agree in fewer
than `MIN_AGREEMENT` = 100 of 200 positions (estimated J < 0.5) is dropped without building
its 5-gram sets. At J = 0.8 that drops a true pair with probability P(Bin(200, 0.8) < 100) =
7.6e-22, so the miss probability stays 1.27e-7 per pair at J = 0.8 and falls fast above it;
at J = 0.3 only 2.6e-9 of the colliding pairs survive to the exact check.

Order. `add(key, text, order)` takes any comparable value; "earlier" is "smaller order" and equal
orders are never earlier than each other. Use `post_order(created_at, post_id)` =
`(1, created_at in UTC, post_id)` for posts (RULES.md: by `created_at` as an instant, then by
`post_id` as a string) and `reference_order(reference_id)` = `(0, reference_id)` for reference
texts, which therefore come before every post.

Persistence (for the caller): store `signature(...)` on the post and one row per
`(band, key)` from `band_keys(...)`; a new post's candidates are the rows sharing any of its
`(band, key)`, kept when `signatures_may_match`, then decided by `jaccard_at_least`. When a post
text changes, re-judge `later_duplicates_of` both before and after the change.
"""

import os
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from fractions import Fraction

import numpy as np

from campaign.qualification import SHINGLE_SIZE, jaccard_at_least, normalize_for_shingles

DEFAULT_THRESHOLD = Fraction(4, 5)
NUM_PERM = 200
BANDS = 40
ROWS = 5
MIN_AGREEMENT = 100
SIGNATURE_BYTES = 4 * NUM_PERM

REFERENCE_TIER = 0
POST_TIER = 1

# splitmix64 and FNV-1a constants. Changing any of them changes every stored signature and
# band key: a new scheme needs new columns or a full re-index, never an in-place edit.
_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB
_FNV_PRIME = 0x100000001B3
_SHINGLE_SEED = 0xCBF29CE484222325
_BAND_SEED = 0x2545F4914F6CDD1D
# A later post's set is reused for all its candidates; 512 sets of ~1,000 5-grams is ~40 MB.
_SET_CACHE_SIZE = 512
_BLOCK = 1024
# Below this many entries a dict insert beats re-sorting the bulk arrays (O(index size)).
_BULK_AT = 64
_MAX_THREADS = 4
_PREFILTER_CHUNK = 1 << 18

_U64 = np.uint64


def _splitmix64(state: int):
    while True:
        state = (state + _GOLDEN) & _MASK64
        z = state
        z = ((z ^ (z >> 30)) * _MIX1) & _MASK64
        z = ((z ^ (z >> 27)) * _MIX2) & _MASK64
        yield z ^ (z >> 31)


def _permutation_params() -> tuple[np.ndarray, np.ndarray]:
    # Pure-Python generator: numpy's Generator streams may change between numpy versions,
    # and stored signatures must not.
    stream = _splitmix64(20260212)
    a = [(next(stream) & 0xFFFFFFFF) | 1 for _ in range(NUM_PERM)]
    b = [next(stream) & 0xFFFFFFFF for _ in range(NUM_PERM)]
    return np.array(a, dtype=np.uint32)[:, None], np.array(b, dtype=np.uint32)[:, None]


_PERM_A, _PERM_B = _permutation_params()


def _fmix64(h: np.ndarray) -> np.ndarray:
    h ^= h >> _U64(30)
    h *= _U64(_MIX1)
    h ^= h >> _U64(27)
    h *= _U64(_MIX2)
    h ^= h >> _U64(31)
    return h


def _kgram_hashes(columns: list[np.ndarray]) -> np.ndarray:
    """32-bit hash of each k-gram, given column j = the j-th code point of every k-gram."""
    # 32 bits are enough: a hash collision can only add a candidate, never decide a verdict.
    h = np.full(len(columns[0]), _SHINGLE_SEED, dtype=np.uint64)
    for column in columns:
        h ^= column
        h *= _U64(_FNV_PRIME)
    return (_fmix64(h) >> _U64(32)).astype(np.uint32)


def _codepoints(text: str) -> np.ndarray:
    # surrogatepass: a lone surrogate from a JSON feed is still one character of the text.
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.uint64)


def _minhash(hashes: np.ndarray) -> np.ndarray:
    # numpy uint32 arithmetic wraps mod 2**32, which is the permutation itself; this is the hot
    # loop of a from-scratch run, and uint32 halves its memory traffic against uint64.
    values = np.multiply.outer(_PERM_A[:, 0], hashes)
    values += _PERM_B
    return values.min(axis=1)


def _normalized_signature(normalized: str, k: int) -> np.ndarray | None:
    windows = len(normalized) - k + 1
    if windows <= 0:
        return None
    points = _codepoints(normalized)
    # Repeated 5-grams need no deduplication: a minimum ignores repeats.
    return _minhash(_kgram_hashes([points[j : j + windows] for j in range(k)]))


def _kgrams(normalized: str, k: int) -> frozenset[str]:
    return frozenset(normalized[i : i + k] for i in range(len(normalized) - k + 1))


def signature(shingle_set: Iterable[str]) -> bytes:
    """MinHash signature of a set of equal-length shingles: `NUM_PERM` little-endian uint32.

    Deterministic across processes, machines and numpy versions. The empty set gives `b""`.
    Equal to `text_signature(text)` when `shingle_set == shingles(text)`.
    """
    items = list(shingle_set)
    if not items:
        return b""
    k = len(items[0])
    if k == 0 or any(len(item) != k for item in items):
        raise ValueError("shingles must be non-empty strings of one length")
    points = _codepoints("".join(items)).reshape(len(items), k)
    return _minhash(_kgram_hashes([points[:, j] for j in range(k)])).astype("<u4").tobytes()


def text_signature(text: str, k: int = SHINGLE_SIZE) -> bytes:
    """`signature(shingles(text, k))` computed without building the set of strings (fast path)."""
    sig = _normalized_signature(normalize_for_shingles(text), k)
    return b"" if sig is None else sig.astype("<u4").tobytes()


def _band_key_matrix(signatures: np.ndarray) -> np.ndarray:
    """(n, NUM_PERM) uint32 signatures -> (n, BANDS) int64 band keys."""
    rows = signatures.reshape(len(signatures), BANDS, ROWS).astype(np.uint64)
    # The band number seeds the mix, so all (band, key) rows can share one indexed column.
    seeds = (np.arange(1, BANDS + 1, dtype=np.uint64) * _U64(_BAND_SEED))[None, :]
    h = np.repeat(_fmix64(seeds), len(signatures), axis=0)
    for row in range(ROWS):
        h ^= rows[:, :, row]
        h *= _U64(_FNV_PRIME)
        h = _fmix64(h)
    return h.view(np.int64)


def _decode_signature(sig: bytes) -> np.ndarray:
    if len(sig) != SIGNATURE_BYTES:
        raise ValueError(f"a signature has {SIGNATURE_BYTES} bytes, got {len(sig)}")
    return np.frombuffer(sig, dtype="<u4").astype(np.uint32)


def band_keys(signature: bytes) -> list[int]:
    """One signed 64-bit key per LSH band (`BANDS` keys; none for the empty signature).

    Key i mixes the band number i with the band's `ROWS` values, so equal values in different
    bands give different keys. Two texts become candidates when they share any key.
    """
    if not signature:
        return []
    return [int(key) for key in _band_key_matrix(_decode_signature(signature)[None, :])[0]]


def signature_agreement(a: bytes, b: bytes) -> int:
    """How many of the `NUM_PERM` MinHash values two signatures share (0 if either is empty)."""
    if not a or not b:
        return 0
    return int(np.count_nonzero(_decode_signature(a) == _decode_signature(b)))


def signatures_may_match(a: bytes, b: bytes) -> bool:
    """Candidate prefilter: False when the signatures make J >= 0.8 implausible (see module doc).

    True never decides anything: the caller still applies `jaccard_at_least` on the real sets.
    """
    return signature_agreement(a, b) >= MIN_AGREEMENT


def reference_order(reference_id) -> tuple:
    """Order of an ops reference text: before every post."""
    return (REFERENCE_TIER, reference_id)


def post_order(created_at: datetime, post_id: str) -> tuple:
    """Order of a post: by `created_at` as an instant, then `post_id` as a string."""
    if created_at.utcoffset() is None:
        raise ValueError("created_at must be timezone-aware")
    return (POST_TIER, created_at.astimezone(timezone.utc), str(post_id))


def _signature_rows(normalized_texts: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, NUM_PERM) uint32 signatures and the mask of texts that have any k-gram."""
    sigs = np.zeros((len(normalized_texts), NUM_PERM), dtype=np.uint32)
    has = np.zeros(len(normalized_texts), dtype=bool)

    def fill(start: int, stop: int) -> None:
        for row in range(start, stop):
            sig = _normalized_signature(normalized_texts[row], k)
            if sig is not None:
                sigs[row], has[row] = sig, True

    workers = min(_MAX_THREADS, os.cpu_count() or 1)
    if len(normalized_texts) < 1024 or workers < 2:
        fill(0, len(normalized_texts))
        return sigs, has
    # numpy releases the GIL inside the MinHash loops, so threads nearly double the throughput
    # on two cores; threads rather than processes because Celery's prefork workers are
    # daemonic and may not start child processes.
    bounds = np.linspace(0, len(normalized_texts), workers * 4 + 1).astype(int).tolist()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(fill, bounds[:-1], bounds[1:]))
    return sigs, has


class NearDuplicateIndex:
    """An in-memory, incremental MinHash LSH index deciding near-duplicates exactly.

    Entries are `(key, text, order)`; `order` defines "earlier" (see the module docstring).
    `earlier_duplicate_of` returns the earliest earlier entry whose exact Jaccard reaches the
    threshold, whatever the insertion order. Adding or judging one entry costs its own hashing
    plus its candidates, independent of the size of the index. Re-adding a key replaces it.
    Orders are meant to be unique (post orders are, through `post_id`); when several earliest
    matches share one order, which of them is returned is unspecified. The LSH parameters are
    tuned for the 4/5 threshold: a lower threshold would lose recall, a higher one none.
    """

    def __init__(self, threshold: Fraction = DEFAULT_THRESHOLD, k: int = SHINGLE_SIZE):
        if isinstance(threshold, float):
            raise TypeError("threshold must be exact (fractions.Fraction), not float")
        self.threshold = Fraction(threshold)
        self.k = k
        self._id_of: dict[Hashable, int] = {}
        self._keys: list = []
        self._orders: list = []
        self._texts: list[str | None] = []
        self._has_sig = np.zeros(0, dtype=bool)
        # Fixed-size blocks, so that growing never copies the signatures already stored.
        self._sig_blocks: list[np.ndarray] = []
        # Bulk loads go to a sorted array of bucket keys, single adds to a dict; 100k entries
        # x 40 bands cost ~50 MB this way, against ~1 GB as a dict of sets.
        self._frozen_keys = np.zeros(0, dtype=np.int64)
        self._frozen_ids = np.zeros(0, dtype=np.int64)
        self._pending: dict[int, list[int]] = {}
        self._set_cache: OrderedDict[int, frozenset] = OrderedDict()

    def __len__(self) -> int:
        return len(self._id_of)

    def __contains__(self, key) -> bool:
        return key in self._id_of

    def add(self, key, text: str, order) -> None:
        """Add (or replace) one entry; O(its length + BANDS), independent of the index size."""
        self.add_many([(key, text, order)])

    def add_many(self, entries: Iterable[tuple]) -> None:
        """Add (or replace) many entries; large batches are hashed in threads and bulk-bucketed."""
        entries = list(entries)
        if len({key for key, _, _ in entries}) != len(entries):
            raise ValueError("a key is given twice")
        for key, _, _ in entries:
            if key in self._id_of:
                self.remove(key)
        first = len(self._keys)
        normalized = [normalize_for_shingles(text) for _, text, _ in entries]
        sigs, has = _signature_rows(normalized, self.k)
        for (key, _, order), text in zip(entries, normalized):
            self._id_of[key] = len(self._keys)
            self._keys.append(key)
            self._orders.append(order)
            self._texts.append(text)
        self._store_signatures(first, sigs, has)
        ids = np.arange(first, first + len(entries))[has]
        bands = _band_key_matrix(sigs[has])
        if len(ids) > _BULK_AT:
            self._merge_into_frozen(bands.ravel(), np.repeat(ids, BANDS))
            return
        for entry_id, row in zip(ids.tolist(), bands.tolist()):
            for band_key in row:
                self._pending.setdefault(band_key, []).append(entry_id)

    def remove(self, key) -> None:
        """Forget an entry; its bucket rows are skipped, then dropped at the next bulk merge."""
        entry_id = self._id_of.pop(key)
        self._keys[entry_id] = None
        self._texts[entry_id] = None
        # Ids are never reused, so a stale bucket row can only name a dead id, which is skipped.
        self._has_sig[entry_id] = False
        self._set_cache.pop(entry_id, None)

    def earlier_duplicate_of(self, key):
        """The earliest entry with a smaller order and exact Jaccard >= threshold, else None."""
        entry_id = self._id_of[key]
        own = self._orders[entry_id]
        earlier = [c for c in self._candidates(entry_id) if self._orders[c] < own]
        # Earliest first, so the first exact success is the answer and the rest are never built.
        earlier.sort(key=self._orders.__getitem__)
        for candidate in earlier:
            if self._exact(entry_id, candidate):
                return self._keys[candidate]
        return None

    def later_duplicates_of(self, key) -> list:
        """Keys of the later entries that are near-duplicates of this one, earliest first."""
        entry_id = self._id_of[key]
        own = self._orders[entry_id]
        later = [c for c in self._candidates(entry_id) if own < self._orders[c]]
        later.sort(key=self._orders.__getitem__)
        # All of them, not the first: each later near-duplicate may now have to flip its verdict.
        return [self._keys[c] for c in later if self._exact(entry_id, c)]

    def earlier_duplicates(self) -> dict:
        """{key: earliest earlier near-duplicate key} for every entry that has one.

        Same answers as calling `earlier_duplicate_of` on every key. Identical normalized texts
        are collapsed onto their earliest copy first (a copy's answer is that copy's answer, or
        the copy itself), so a thousand reposts of one text cost no pairwise work; the remaining
        bucket pairs are generated, deduplicated and prefiltered with numpy, and only the
        survivors are checked exactly, earliest first, stopping at the first that passes.
        """
        self._merge_pending()
        alive = sorted(self._id_of.values(), key=self._orders.__getitem__)
        rank = np.full(len(self._keys), -1, dtype=np.int64)
        previous, current = None, -1
        for entry_id in alive:
            # Equal orders share a rank so that neither counts as earlier than the other.
            if current < 0 or self._orders[entry_id] != previous:
                current += 1
                previous = self._orders[entry_id]
            rank[entry_id] = current
        representative: dict[str, int] = {}
        copies: list[tuple[int, int]] = []
        for entry_id in alive:
            if not self._has_sig[entry_id]:
                continue
            first = representative.setdefault(self._texts[entry_id], entry_id)
            if first != entry_id:
                copies.append((entry_id, first))
        is_representative = np.zeros(len(self._keys), dtype=bool)
        is_representative[list(representative.values())] = True
        match = np.full(len(self._keys), -1, dtype=np.int64)
        for later, earlier in self._candidate_pairs(rank, is_representative):
            if match[later] < 0 and self._exact(later, earlier):
                match[later] = earlier
        # A copy has the 5-grams of its earliest copy, so it matches what that one matches;
        # failing that, the earliest copy itself, when strictly earlier.
        for entry_id, first in copies:
            if match[first] >= 0:
                match[entry_id] = match[first]
            elif rank[first] < rank[entry_id]:
                match[entry_id] = first
        return {self._keys[v]: self._keys[match[v]] for v in np.nonzero(match >= 0)[0].tolist()}

    def _candidate_pairs(self, rank: np.ndarray, eligible: np.ndarray) -> list[tuple[int, int]]:
        """(later, earlier) bucket pairs among eligible entries that pass the prefilter.

        Sorted by later entry, then earlier entry by order, so that the first exact success
        per later entry is its earliest near-duplicate.
        """
        live = eligible[self._frozen_ids]
        keys, ids = self._frozen_keys[live], self._frozen_ids[live]
        if not len(keys):
            return []
        sorter = np.lexsort((rank[ids], keys))
        keys, ids = keys[sorter], ids[sorter]
        positions = np.arange(len(keys))
        run_start = np.maximum.accumulate(np.where(np.r_[True, keys[1:] != keys[:-1]], positions, 0))
        offsets = positions - run_start
        # Every bucket member is paired with each member before it in the bucket.
        later_pos = np.repeat(positions, offsets)
        earlier_pos = np.repeat(run_start, offsets) + (
            np.arange(len(later_pos)) - np.repeat(np.cumsum(offsets) - offsets, offsets)
        )
        stride = len(self._keys)
        # One int64 per (later, earlier) pair, so that a pair met in several bands is checked once.
        codes = np.unique(ids[later_pos] * stride + ids[earlier_pos])
        later, earlier = codes // stride, codes % stride
        keep = rank[earlier] < rank[later]
        later, earlier = later[keep], earlier[keep]
        sigs = np.concatenate(self._sig_blocks)
        plausible = np.zeros(len(later), dtype=bool)
        # Chunks bound the (pairs x NUM_PERM) comparison to ~50 MB whatever the pair count.
        for lo in range(0, len(later), _PREFILTER_CHUNK):
            hi = lo + _PREFILTER_CHUNK
            agreement = np.count_nonzero(sigs[later[lo:hi]] == sigs[earlier[lo:hi]], axis=1)
            plausible[lo:hi] = agreement >= MIN_AGREEMENT
        later, earlier = later[plausible], earlier[plausible]
        sorter = np.lexsort((rank[earlier], later))
        return list(zip(later[sorter].tolist(), earlier[sorter].tolist()))

    def _store_signatures(self, first: int, sigs: np.ndarray, has: np.ndarray) -> None:
        end = first + len(sigs)
        if end == first:
            return
        while len(self._sig_blocks) * _BLOCK < end:
            self._sig_blocks.append(np.zeros((_BLOCK, NUM_PERM), dtype=np.uint32))
        for block in range(first // _BLOCK, (end - 1) // _BLOCK + 1):
            lo, hi = max(first, block * _BLOCK), min(end, (block + 1) * _BLOCK)
            start = block * _BLOCK
            self._sig_blocks[block][lo - start : hi - start] = sigs[lo - first : hi - first]
        if len(self._has_sig) < end:
            # Only the flags grow by copying: one byte per entry, negligible next to signatures.
            grown = np.zeros(max(end, 2 * len(self._has_sig)), dtype=bool)
            grown[: len(self._has_sig)] = self._has_sig
            self._has_sig = grown
        self._has_sig[first:end] = has

    def _signature_of(self, entry_id: int) -> np.ndarray:
        return self._sig_blocks[entry_id // _BLOCK][entry_id % _BLOCK]

    def _merge_into_frozen(self, keys: np.ndarray, ids: np.ndarray) -> None:
        keys = np.concatenate([self._frozen_keys, keys])
        ids = np.concatenate([self._frozen_ids, ids])
        live = self._has_sig[ids]
        keys, ids = keys[live], ids[live]
        sorter = np.argsort(keys, kind="stable")
        self._frozen_keys, self._frozen_ids = keys[sorter], ids[sorter]

    def _merge_pending(self) -> None:
        keys = np.array([key for key, members in self._pending.items() for _ in members], dtype=np.int64)
        ids = np.array([entry for members in self._pending.values() for entry in members], dtype=np.int64)
        self._pending = {}
        self._merge_into_frozen(keys, ids)

    def _candidates(self, entry_id: int) -> list[int]:
        """Live entries sharing a band with this one and passing the signature prefilter."""
        if not self._has_sig[entry_id]:
            return []
        own = self._signature_of(entry_id)
        bands = _band_key_matrix(own[None, :])[0]
        lo = np.searchsorted(self._frozen_keys, bands, side="left")
        hi = np.searchsorted(self._frozen_keys, bands, side="right")
        found = [self._frozen_ids[a:b] for a, b in zip(lo.tolist(), hi.tolist()) if a < b]
        for band_key in bands.tolist():
            members = self._pending.get(band_key)
            if members:
                found.append(np.array(members, dtype=np.int64))
        if not found:
            return []
        ids = np.unique(np.concatenate(found))
        ids = ids[(ids != entry_id) & self._has_sig[ids]].tolist()
        return [c for c in ids if np.count_nonzero(self._signature_of(c) == own) >= MIN_AGREEMENT]

    def _shingle_set(self, entry_id: int) -> frozenset:
        cached = self._set_cache.get(entry_id)
        if cached is not None:
            self._set_cache.move_to_end(entry_id)
            return cached
        result = _kgrams(self._texts[entry_id], self.k)
        self._set_cache[entry_id] = result
        if len(self._set_cache) > _SET_CACHE_SIZE:
            self._set_cache.popitem(last=False)
        return result

    def _exact(self, a: int, b: int) -> bool:
        return jaccard_at_least(self._shingle_set(a), self._shingle_set(b), self.threshold)


def find_earlier_duplicates(
    entries: Iterable[tuple], *, threshold: Fraction = DEFAULT_THRESHOLD, k: int = SHINGLE_SIZE
) -> dict:
    """From-scratch batch: {key: earliest earlier near-duplicate key} over `(key, text, order)`.

    Every entry, reference texts included, appears as a key when it has an earlier match; the
    caller reads the post keys. Same result as the incremental index in any insertion order.
    """
    index = NearDuplicateIndex(threshold=threshold, k=k)
    index.add_many(entries)
    return index.earlier_duplicates()


# --- Streamed from-scratch decision over stored signatures (the database-backed rebuild) ---

# Pair codes are deduplicated whenever this many have piled up, which bounds the memory of
# large buckets (hundreds of near-copies of one text) to a few hundred MB.
_PAIR_FLUSH = 1 << 23
_TEXT_BATCH = 4096
_SET_BATCH = 1024


def signature_matrix(signatures: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """(n, NUM_PERM) uint32 signatures and the mask of non-empty ones, from stored bytes."""
    has = np.fromiter((len(sig) == SIGNATURE_BYTES for sig in signatures), dtype=bool, count=len(signatures))
    for sig in signatures:
        if sig and len(sig) != SIGNATURE_BYTES:
            raise ValueError(f"a signature has {SIGNATURE_BYTES} bytes, got {len(sig)}")
    matrix = np.zeros((len(signatures), NUM_PERM), dtype=np.uint32)
    if has.any():
        joined = b"".join(sig for sig in signatures if sig)
        matrix[has] = np.frombuffer(joined, dtype="<u4").reshape(-1, NUM_PERM)
    return matrix, has


def band_key_matrix(signatures: np.ndarray) -> np.ndarray:
    """(n, NUM_PERM) uint32 signatures -> (n, BANDS) int64 band keys (`band_keys` row by row):
    a row of zeros, no key, for an empty signature (the zeros `signature_matrix` gives it)."""
    return _band_key_matrix(signatures) * signatures.any(axis=1)[:, None]


def _signature_digest(keys: np.ndarray) -> np.ndarray:
    """One 64-bit mix of a row's band keys: equal signatures give equal digests."""
    h = np.full(len(keys), _SHINGLE_SEED, dtype=np.uint64)
    for band in range(keys.shape[1]):
        h ^= keys[:, band].view(np.uint64)
        h = _fmix64(h * _U64(_FNV_PRIME))
    return h


def _bucket_pairs(keys: np.ndarray, rows: np.ndarray, n: int):
    """Codes `later * n + earlier` of the rows sharing a key, in chunks of at most about
    `_PREFILTER_CHUNK` pairs (one big bucket of s rows has s(s-1)/2 pairs); `rows` ascending."""
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
    cut = np.searchsorted(ends, np.arange(_PREFILTER_CHUNK, ends[-1], _PREFILTER_CHUNK), side="right")
    for block in np.split(paired, np.unique(cut)):
        if not len(block):
            continue
        counts = offsets[block]
        later_pos = np.repeat(block, counts)
        earlier_pos = np.repeat(run_start[block], counts) + (np.arange(len(later_pos)) - np.repeat(np.cumsum(counts) - counts, counts))
        yield rows[later_pos] * n + rows[earlier_pos]


def earlier_matches(
    keys: np.ndarray,
    has: np.ndarray,
    low_bytes: np.ndarray,
    *,
    fetch_signatures,
    fetch_texts,
    threshold: Fraction = DEFAULT_THRESHOLD,
    k: int = SHINGLE_SIZE,
) -> np.ndarray:
    """The earliest earlier near-duplicate row of every row (-1: none), from band keys alone.

    Rows are entries in their order (row i is earlier than row j when i < j; orders are unique).
    `keys` is (n, BANDS) int64 (`band_key_matrix`), `has` marks rows with a signature, and
    `low_bytes` is (n, NUM_PERM) uint8, the low byte of each MinHash value. Nothing else of the
    corpus is held: `fetch_signatures(rows)` returns the (len(rows), NUM_PERM) uint32 signatures
    and `fetch_texts(rows)` the texts of the few rows that need them. Same answers as
    `NearDuplicateIndex.earlier_duplicates` over the same entries:

    1. rows with equal signatures are grouped and their texts compared; an identical normalized
       text is a copy of its earliest holder and answers as it does (no pairwise work);
    2. bucket pairs are generated band by band (8 bytes per row at a time) and deduplicated;
    3. the low bytes prefilter them: equal values have equal low bytes, so a pair that agrees
       on `MIN_AGREEMENT` values also agrees on as many low bytes, and nothing is lost;
    4. the survivors are checked on their full signatures, then exactly on their 5-gram sets,
       earliest first, stopping at the first success of each later row.
    """
    n = len(keys)
    match = np.full(n, -1, dtype=np.int64)
    rows = np.nonzero(has)[0]
    if len(rows) < 2:
        return match
    representative = np.ones(n, dtype=bool)
    copies: list[tuple[int, int]] = []
    digests = _signature_digest(keys[rows])
    sorter = np.lexsort((rows, digests))
    sorted_digests, sorted_rows = digests[sorter], rows[sorter]
    same = sorted_digests[1:] == sorted_digests[:-1]
    grouped = np.zeros(len(sorted_rows), dtype=bool)
    grouped[1:] |= same
    grouped[:-1] |= same
    members = sorted_rows[grouped]
    member_digests = sorted_digests[grouped]
    lo = 0
    while lo < len(members):
        hi = min(len(members), lo + _TEXT_BATCH)
        # Never split a group of equal digests across two batches.
        while hi < len(members) and member_digests[hi] == member_digests[hi - 1]:
            hi += 1
        batch = members[lo:hi].tolist()
        first_of: dict[tuple[int, str], int] = {}
        for row, digest, text in zip(batch, member_digests[lo:hi].tolist(), fetch_texts(batch)):
            first = first_of.setdefault((digest, normalize_for_shingles(text)), row)
            if first != row:
                representative[row] = False
                copies.append((row, first))
        lo = hi

    eligible = np.nonzero(has & representative)[0]
    # Band by band, chunk by chunk, each chunk prefiltered at once: only plausible pairs are kept,
    # so a bucket of thousands of unrelated texts costs time, never memory.
    survivors, pending = [], 0
    for band in range(BANDS):
        for codes in _bucket_pairs(keys[eligible, band], eligible, n):
            later, earlier = codes // n, codes % n
            agreement = np.count_nonzero(low_bytes[later] == low_bytes[earlier], axis=1)
            survivors.append(codes[agreement >= MIN_AGREEMENT])
            pending += len(survivors[-1])
            if pending > _PAIR_FLUSH:
                survivors, pending = [np.unique(np.concatenate(survivors))], 0
    codes = np.unique(np.concatenate(survivors)) if survivors else np.zeros(0, dtype=np.int64)
    del survivors
    later, earlier = codes // n, codes % n
    del codes
    if len(later):
        needed = np.unique(np.concatenate([later, earlier]))
        sigs = fetch_signatures(needed.tolist())
        position = np.searchsorted(needed, later), np.searchsorted(needed, earlier)
        agreement = np.count_nonzero(sigs[position[0]] == sigs[position[1]], axis=1)
        keep = agreement >= MIN_AGREEMENT
        later, earlier = later[keep], earlier[keep]
        del sigs
    # (later, earlier) ascending: the first exact success of a later row is its earliest match.
    order = np.lexsort((earlier, later))
    later, earlier = later[order].tolist(), earlier[order].tolist()
    lo = 0
    while lo < len(later):
        # A batch holds the texts of at most about `_SET_BATCH` rows (5-gram sets are ~100 KB
        # each); a later row's candidates are never split, so its first success is its earliest.
        hi, batch_rows = lo, set()
        while hi < len(later) and (len(batch_rows) < _SET_BATCH or later[hi] == later[hi - 1]):
            batch_rows.update((later[hi], earlier[hi]))
            hi += 1
        wanted = sorted(batch_rows)
        text_of = dict(zip(wanted, fetch_texts(wanted)))
        sets: dict[int, frozenset] = {}

        def grams(row):
            if row not in sets:
                sets[row] = _kgrams(normalize_for_shingles(text_of[row]), k)
            return sets[row]

        for a, b in zip(later[lo:hi], earlier[lo:hi]):
            if match[a] < 0 and jaccard_at_least(grams(a), grams(b), threshold):
                match[a] = b
        lo = hi
    # A copy has the 5-grams of its earliest holder: it matches what that one matches, or else
    # that holder itself (always earlier, orders being unique).
    for row, first in copies:
        match[row] = match[first] if match[first] >= 0 else first
    return match
