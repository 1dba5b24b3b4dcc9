"""Near-duplicate check of RULES.md section 3, check 6: one pure core, two storage adapters.

- `core`: text -> normalized 5-grams -> MinHash signature -> LSH band keys; post and reference
  orders; the signature prefilter. Signatures and band keys are stored, so their format is pinned.
- `decision`: candidate pairs from band keys and the exact Jaccard decision, earliest first,
  over a `decision.Corpus` (the adapters' interface).
- `memory`: the memory adapter (the what-if preview).
- `db`: the database adapter (signatures and band rows in the database; ingest and settlement,
  through `campaign.services.duplicates`). Imported on its own: this package needs no Django.
"""

from campaign.near_duplicates.core import (
    BANDS,
    DEFAULT_THRESHOLD,
    MIN_AGREEMENT,
    NUM_PERM,
    ROWS,
    SIGNATURE_BYTES,
    SKETCH_BYTES,
    band_key_matrix,
    band_keys,
    plausible,
    post_order,
    reference_order,
    signature,
    signature_matrix,
    sketch_matrix,
    sketch_plausible,
    text_signature,
    text_signatures,
)
from campaign.near_duplicates.decision import Bands, Corpus, earlier_matches
from campaign.near_duplicates.memory import MemoryCorpus, earlier_duplicates

__all__ = [
    "BANDS",
    "DEFAULT_THRESHOLD",
    "MIN_AGREEMENT",
    "NUM_PERM",
    "ROWS",
    "SIGNATURE_BYTES",
    "SKETCH_BYTES",
    "Bands",
    "Corpus",
    "MemoryCorpus",
    "band_key_matrix",
    "band_keys",
    "earlier_duplicates",
    "earlier_matches",
    "plausible",
    "post_order",
    "reference_order",
    "signature",
    "signature_matrix",
    "sketch_matrix",
    "sketch_plausible",
    "text_signature",
    "text_signatures",
]
