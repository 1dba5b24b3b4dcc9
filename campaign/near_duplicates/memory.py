"""The memory adapter of the near-duplicate check: a corpus held in Python lists (what-if preview).

It hashes the texts itself (the database adapter reads stored signatures instead) and hands them
to the same decision, `decision.earlier_matches`, so a preview links posts exactly as
`duplicates_rebuild` would.
"""

from collections.abc import Hashable, Iterable
from fractions import Fraction

import numpy as np

from campaign.near_duplicates.core import DEFAULT_THRESHOLD, band_key_matrix, text_signature_matrix
from campaign.near_duplicates.decision import Bands, earlier_matches


class MemoryCorpus:
    """`(key, text, order)` entries sorted by order, with their signatures; a `decision.Corpus`.

    Keys and orders must be unique (posts are ordered by `post_order`, unique through post_id;
    references by `reference_order`): a tie would make "earlier" undefined.
    """

    def __init__(self, entries: Iterable[tuple[Hashable, str, object]]):
        entries = sorted(entries, key=lambda entry: entry[2])
        if len({key for key, _, _ in entries}) != len(entries):
            raise ValueError("a key is given twice")
        if any(a[2] == b[2] for a, b in zip(entries, entries[1:])):
            raise ValueError("two entries share an order")
        self.keys = [key for key, _, _ in entries]
        self._texts = [text for _, text, _ in entries]
        self._signatures, has = text_signature_matrix(self._texts)
        self.bands = Bands(band_key_matrix(self._signatures), has, self._signatures.astype(np.uint8))

    def signatures(self, rows: list[int]) -> np.ndarray:
        return self._signatures[rows]

    def texts(self, rows: list[int]) -> list[str]:
        return [self._texts[row] for row in rows]


def earlier_duplicates(entries: Iterable[tuple[Hashable, str, object]], *, threshold: Fraction = DEFAULT_THRESHOLD) -> dict:
    """{key: key of its earliest earlier near-duplicate} over `(key, text, order)` entries, for
    every entry that has one (reference texts included; the caller reads the post keys)."""
    corpus = MemoryCorpus(entries)
    match = earlier_matches(corpus.bands, corpus, threshold=threshold)
    return {corpus.keys[row]: corpus.keys[found] for row, found in enumerate(match.tolist()) if found >= 0}
