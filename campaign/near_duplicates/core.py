"""The pure core of check 6 of RULES.md section 3: text -> 5-grams -> MinHash signature -> band keys.

No Django, no ORM, no clock, no I/O. A post is a duplicate when an earlier stored post (any
author, any verdict, any time) or an ops reference text has exact Jaccard >= 4/5 on the character
5-grams of `qualification.normalize_for_shingles`. Signatures and band keys only propose
candidates; every verdict is `qualification.jaccard_at_least` on the real 5-gram sets.

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

Sketches. A band key shared by very many texts is boilerplate (a disclaimer, a signature, a
ticker template): nearly all of its owners fail the prefilter. Its band rows also carry 4 bits of
each of their owner's 200 values (`sketch_matrix`, 100 bytes); equal values have equal bits, so
`sketch_plausible` False proves `plausible` False and the owner's signature need not be read.
Like the prefilter it can only drop pairs the prefilter drops: the candidates stay the same.

Order. "Earlier" is "smaller order": `post_order(created_at, post_id)` =
`(1, created_at in UTC, post_id)` for posts (RULES.md: by `created_at` as an instant, then by
`post_id` as a string) and `reference_order(reference_id)` = `(0, reference_id)` for reference
texts, which therefore come before every post. Both are unique within a campaign.
"""

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from fractions import Fraction

import numpy as np

from campaign.qualification import SHINGLE_SIZE, normalize_for_shingles
from campaign.terms import DEFAULT_DUPLICATE_THRESHOLD

# RULES.md's 0.8, written once in campaign/terms.py; the bands below are tuned for it.
DEFAULT_THRESHOLD = Fraction(DEFAULT_DUPLICATE_THRESHOLD)
NUM_PERM = 200
BANDS = 40
ROWS = 5
MIN_AGREEMENT = 100
SIGNATURE_BYTES = 4 * NUM_PERM
# A sketch: 4 bits of each MinHash value (`sketch_matrix`).
SKETCH_BYTES = NUM_PERM // 2

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
_MAX_THREADS = 4
# The batch path's k-grams per batch: its two uint32 arrays (k-gram hashes, permuted values) stay
# within a core's L2 cache. Under the minimum it hashes each text alone (see `_batch_signatures`).
_BATCH_KGRAMS = 1 << 16
_BATCH_MIN_KGRAMS = 1 << 13

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


def fmix64(h: np.ndarray) -> np.ndarray:
    """The splitmix64 finalizer, in place on a uint64 array (also returned)."""
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
    return (fmix64(h) >> _U64(32)).astype(np.uint32)


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


def text_signature_matrix(texts: list[str], k: int = SHINGLE_SIZE, *, threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(n, NUM_PERM) uint32 signatures of many texts and the mask of those that have any k-gram.

    Row i equals `text_signature(texts[i])`, byte for byte. The texts are hashed in batches of
    about `_BATCH_KGRAMS` k-grams (`_batch_signatures`), large inputs in up to `threads` threads
    (default: up to `_MAX_THREADS`, one per CPU).
    """
    sigs = np.zeros((len(texts), NUM_PERM), dtype=np.uint32)
    has = np.zeros(len(texts), dtype=bool)

    def fill(start: int, stop: int) -> None:
        batch, kgrams = [], 0
        for row in range(start, stop):
            batch.append(normalize_for_shingles(texts[row]))
            kgrams += max(0, len(batch[-1]) - k + 1)
            if kgrams >= _BATCH_KGRAMS or row == stop - 1:
                first = row + 1 - len(batch)
                sigs[first : row + 1], has[first : row + 1] = _batch_signatures(batch, k, kgrams)
                batch, kgrams = [], 0

    workers = min(_MAX_THREADS, os.cpu_count() or 1) if threads is None else threads
    if len(texts) < 1024 or workers < 2:
        fill(0, len(texts))
        return sigs, has
    # numpy releases the GIL inside the MinHash loops, so threads nearly double the throughput
    # on two cores; threads rather than processes because Celery's prefork workers are
    # daemonic and may not start child processes.
    bounds = np.linspace(0, len(texts), workers * 4 + 1).astype(int).tolist()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(fill, bounds[:-1], bounds[1:]))
    return sigs, has


def text_signatures(texts: list[str], k: int = SHINGLE_SIZE) -> list[bytes]:
    """`text_signature` of each text, computed together (`text_signature_matrix`): the same bytes,
    about a third of the CPU a post when the texts are many (ingest signs a chunk at once)."""
    if not texts:
        return []
    sigs, has = text_signature_matrix(texts, k)
    return [row.astype("<u4").tobytes() if present else b"" for row, present in zip(sigs, has)]


def _batch_signatures(normalized: list[str], k: int, kgrams: int) -> tuple[np.ndarray, np.ndarray]:
    """`_normalized_signature` of each normalized text (zeros and False for none), the same
    values computed for many texts at once.

    One post's (NUM_PERM, k-grams) products go through numpy's broadcasting loops, which are
    slower per element than its plain one-dimensional loops over a scalar. Here every
    permutation is one pass over the k-grams of the whole batch (multiply, add, then a minimum
    per text by `np.minimum.reduceat`), the same uint32 arithmetic in a different order: the
    minimum of the same values, so the same bytes. Below `_BATCH_MIN_KGRAMS` the 3 * NUM_PERM
    numpy calls cost more than they save, and each text is hashed alone.
    """
    sigs = np.zeros((len(normalized), NUM_PERM), dtype=np.uint32)
    has = np.zeros(len(normalized), dtype=bool)
    if kgrams < _BATCH_MIN_KGRAMS:
        for row, text in enumerate(normalized):
            sig = _normalized_signature(text, k)
            if sig is not None:
                sigs[row], has[row] = sig, True
        return sigs, has
    lengths = np.fromiter(map(len, normalized), dtype=np.int64, count=len(normalized))
    windows = np.maximum(lengths - k + 1, 0)
    has = windows > 0
    points = _codepoints("".join(normalized))
    # Every window of the joined texts is hashed, then those that straddle two texts are dropped.
    spans = len(points) - k + 1
    hashes = _kgram_hashes([points[j : j + spans] for j in range(k)])
    counts = windows[has]
    firsts = np.cumsum(counts) - counts  # where each text's k-grams start among the kept ones
    text_starts = (np.cumsum(lengths) - lengths)[has]
    hashes = hashes[np.repeat(text_starts - firsts, counts) + np.arange(kgrams)]
    values = np.empty_like(hashes)
    columns = np.empty((NUM_PERM, len(counts)), dtype=np.uint32)
    for perm in range(NUM_PERM):
        np.multiply(hashes, _PERM_A[perm, 0], out=values)
        values += _PERM_B[perm, 0]
        np.minimum.reduceat(values, firsts, out=columns[perm])
    sigs[has] = columns.T
    return sigs, has


def _band_key_matrix(signatures: np.ndarray) -> np.ndarray:
    """(n, NUM_PERM) uint32 signatures -> (n, BANDS) int64 band keys."""
    rows = signatures.reshape(len(signatures), BANDS, ROWS).astype(np.uint64)
    # The band number seeds the mix, so all (band, key) rows can share one indexed column.
    seeds = (np.arange(1, BANDS + 1, dtype=np.uint64) * _U64(_BAND_SEED))[None, :]
    h = np.repeat(fmix64(seeds), len(signatures), axis=0)
    for row in range(ROWS):
        h ^= rows[:, :, row]
        h *= _U64(_FNV_PRIME)
        h = fmix64(h)
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


def band_digest(keys: np.ndarray) -> np.ndarray:
    """One 64-bit mix of each row of band keys: equal signatures give equal digests."""
    h = np.full(len(keys), _SHINGLE_SEED, dtype=np.uint64)
    for band in range(keys.shape[1]):
        h ^= keys[:, band].view(np.uint64)
        h = fmix64(h * _U64(_FNV_PRIME))
    return h


def agreement(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """How many MinHash values row i of `a` shares with row i of `b` (signature matrices, or the
    low bytes of them: equal values have equal low bytes, so those never count fewer)."""
    return np.count_nonzero(a == b, axis=-1)


def plausible(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Candidate prefilter, row by row: False where the signatures make J >= 0.8 implausible
    (see the module docstring). True never decides anything: `jaccard_at_least` does."""
    return agreement(a, b) >= MIN_AGREEMENT


def share_a_band(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether row i of `a` and row i of `b` (signature matrices) agree on a whole band."""
    return (a.reshape(-1, BANDS, ROWS) == b.reshape(-1, BANDS, ROWS)).all(axis=2).any(axis=1)


def sketch_matrix(signatures: np.ndarray) -> np.ndarray:
    """(n, NUM_PERM) uint32 signatures (or their low bytes) -> (n, SKETCH_BYTES) uint8 sketches:
    the low 4 bits of every MinHash value, two to a byte (value 2i in the low half of byte i).

    Stored beside the band rows of crowded keys (`DuplicateBand.sketch`), so a lookup can drop
    most of a boilerplate key's owners without reading their signatures (docs/near-duplicates.md).
    """
    nibbles = (signatures & 0xF).astype(np.uint8)
    return nibbles[:, 0::2] | (nibbles[:, 1::2] << 4)


def sketch_plausible(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`plausible` on sketches, row by row: equal values have equal low bits, so a pair whose
    signatures agree on `MIN_AGREEMENT` values agrees on at least as many half-bytes. False
    therefore means `plausible` is False on the full signatures; True decides nothing."""
    x = a ^ b
    return np.count_nonzero((x & 0xF) == 0, axis=-1) + np.count_nonzero((x >> 4) == 0, axis=-1) >= MIN_AGREEMENT


def reference_order(reference_id) -> tuple:
    """Order of an ops reference text: before every post."""
    return (REFERENCE_TIER, reference_id)


def post_order(created_at: datetime, post_id: str) -> tuple:
    """Order of a post: by `created_at` as an instant, then `post_id` as a string."""
    if created_at.utcoffset() is None:
        raise ValueError("created_at must be timezone-aware")
    return (POST_TIER, created_at.astimezone(timezone.utc), str(post_id))
