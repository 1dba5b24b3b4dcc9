"""Benchmark: where the time of a MinHash signature goes, per post (issue 17). No Django.

Usage, from the project root:

    .venv/bin/python bench/signatures.py [--posts 20000] [--seed 1] [--repeat 3]

Posts come from `bench.data.PostFactory` (200 to 2,000 characters, about 3/4 English and 1/4
Chinese, as the harness generates them). Every figure is the best of `--repeat` runs, in
microseconds per post, wall time and this process's CPU time (CPU above wall: threads
ran in parallel; wall above CPU: another process had the core):

1. the stages of one post's signature on one thread: `normalize_for_shingles` (Python), code
   points and k-gram hashes (numpy, one post at a time), the minimum over the `NUM_PERM`
   permutations (numpy, one post at a time), band keys (`band_keys` per post and
   `band_key_matrix` over all); for comparison, the Python set of 5-gram strings that the exact
   decision builds (never built for a signature);
2. `text_signature` post by post (the ingest path);
3. `text_signature_matrix` on one thread and with its threads (the batch path: what-if preview,
   re-signing), checked byte for byte against `text_signature`.

Another process on the machine slows every figure alike; compare figures of one run.
"""

import argparse
import inspect
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from bench.data import PostFactory  # noqa: E402
from campaign.near_duplicates import core  # noqa: E402
from campaign.qualification import SHINGLE_SIZE, normalize_for_shingles  # noqa: E402


def posts_generate(*, count: int, seed: int) -> list[str]:
    """`count` post texts as `bench/data.py` writes them (3% without a trading term)."""
    rng = random.Random(seed)
    factory = PostFactory(rng)
    return [factory.original(chinese=rng.random() < 0.25, trading=rng.random() >= 0.03) for _ in range(count)]


def _best(repeat: int, fn):
    """(wall seconds, CPU seconds of this process) of the fastest of `repeat` runs, and a result."""
    best, result = (float("inf"), 0.0), None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best, result


def _kgram_hashes_each(normalized: list[str]) -> list[np.ndarray]:
    hashes = []
    for text in normalized:
        windows = len(text) - SHINGLE_SIZE + 1
        if windows > 0:
            points = core._codepoints(text)
            hashes.append(core._kgram_hashes([points[j : j + windows] for j in range(SHINGLE_SIZE)]))
    return hashes


def _matrix(texts: list[str], threads: int | None):
    # The `threads` keyword came with the batch path; before it, the function chose alone.
    if "threads" in inspect.signature(core.text_signature_matrix).parameters:
        return core.text_signature_matrix(texts, threads=threads)
    return core.text_signature_matrix(texts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    texts = posts_generate(count=args.posts, seed=args.seed)
    n = len(texts)
    chinese = sum(1 for text in texts if not text[:1].isascii())
    print(
        f"posts: {n}, {sum(map(len, texts)) / n:.0f} chars/post, {chinese / n:.0%} Chinese; "
        f"numpy {np.__version__}, {os.cpu_count()} CPUs, best of {args.repeat}"
    )

    def line(label, seconds):
        wall, cpu = seconds
        print(f"  {label:<58} {wall / n * 1e6:8.1f} us/post wall {cpu / n * 1e6:8.1f} CPU")

    print("stages, one post at a time, one thread:")
    seconds, normalized = _best(args.repeat, lambda: [normalize_for_shingles(text) for text in texts])
    line("normalize_for_shingles (Python)", seconds)
    seconds, _ = _best(args.repeat, lambda: [frozenset(t[i : i + SHINGLE_SIZE] for i in range(len(t) - SHINGLE_SIZE + 1)) for t in normalized])
    line("(5-gram string set, as the exact decision builds it)", seconds)
    seconds, hashes = _best(args.repeat, lambda: _kgram_hashes_each(normalized))
    line("code points + k-gram hashes (numpy)", seconds)
    seconds, minima = _best(args.repeat, lambda: [core._minhash(h) for h in hashes])
    line(f"minimum over {core.NUM_PERM} permutations (numpy)", seconds)
    print(f"  ({sum(map(len, hashes)) / n:.0f} k-grams/post)")

    seconds, per_post = _best(args.repeat, lambda: [core.text_signature(text) for text in texts])
    line("text_signature, post by post (ingest path)", seconds)
    seconds, _ = _best(args.repeat, lambda: [core.band_keys(sig) for sig in per_post])
    line("band_keys, post by post", seconds)
    matrix, has = core.signature_matrix(per_post)
    seconds, _ = _best(args.repeat, lambda: core.band_key_matrix(matrix))
    line("band_key_matrix, all at once", seconds)

    print("text_signature_matrix (batch path):")
    for threads in (1, None):
        seconds, (sigs, present) = _best(args.repeat, lambda threads=threads: _matrix(texts, threads))
        line("one thread" if threads == 1 else f"with its threads ({os.cpu_count()} CPUs)", seconds)
        if not (np.array_equal(sigs, matrix) and np.array_equal(present, has)):
            print("  MISMATCH: text_signature_matrix differs from text_signature")
            return 1
    expected = np.stack(minima) if minima else np.zeros((0, core.NUM_PERM), dtype=np.uint32)
    if not np.array_equal(matrix[has], expected):
        print("  MISMATCH: stages differ from text_signature")
        return 1
    print("signatures identical on every path")
    return 0


if __name__ == "__main__":
    sys.exit(main())
