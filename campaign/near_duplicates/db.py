"""The database adapter of the near-duplicate check: signatures on the rows, band keys in
`DuplicateBand`, links on the posts (ingest and settlement, through `campaign.services.duplicates`).

Owners: a post is its id, a reference text minus its id (as `DuplicateBand.owner` stores them);
0 is the complete mark's owner, never a text's. Every difference between SQLite and PostgreSQL is
`core.database`'s: this adapter says what it writes and reads, that module how, with the same
result on both.

Sketches (`core.sketch_matrix`) ride on the band rows of crowded keys, those at least `CROWDED`
texts hold. A stored sketch is always one its owner's text had; when the owner holds the row's key
it is the current one, because indexing an owner again first clears all of its sketches
(`bands_insert`, through the partial index on sketched rows), and a full rewrite writes them anew.
A row left by an earlier text may keep an old sketch: harmless, since a pair that still shares a
band also meets on a row of the current text. Where they are written is a matter of speed only;
which pairs become candidates never depends on them.

Two band tables. A full rewrite (`bands_rewrite`) writes every row into `DuplicateBand` at once,
sorted; the rows of texts indexed after it (`bands_insert`: a feed page, the 1,000 posts of a
small import) go to `DuplicateBandRecent`. Adding a text's 40 keys to the large table dirtied 40
random pages of a 1.6 GB key at 1,000,000 posts (6.6 s for 1,000 new posts once the pages had
left memory, bench/README.md); the small table's pages stay in memory. Lookups, sketches and the
complete mark read and write both, so where a row lives never changes an answer; a row may be in
both (a text indexed again with some keys unchanged), and lookups return it once. Once the small
table holds `RECENT_ROWS` rows of a campaign, an insert of many texts first moves them into the
large one in key order (`bands_merge`); a rewrite empties it.
"""

from typing import NamedTuple

import numpy as np
from django.db.models import CharField, Q

from campaign.models import DuplicateBand, DuplicateBandRecent, IndexMark, Post, ReferenceText
from campaign.near_duplicates.core import BANDS, NUM_PERM, SKETCH_BYTES, band_key_matrix, post_order, reference_order, signature_matrix, sketch_matrix
from campaign.near_duplicates.decision import Bands
from core.database import analyze, binary_collation, rows_insert, rows_lookup, rows_move, rows_replace, rows_take, rows_update, values_binary

ID_BATCH = 5000
STREAM_CHUNK = 10000
COPY_OWNERS = 20000
# The mark of a complete index: a real owner is never 0 (post ids and reference ids start at 1).
MARK = {"key": 0, "owner": 0}
# A key held by this many texts (its rows, in a refresh's lookup) is crowded: its rows carry their
# owner's sketch. At 100,000 generated posts 1% of the rows, holding 75% of a new post's hits
# (docs/near-duplicates.md, "Boilerplate band keys").
CROWDED = 8
SKETCH_BATCH = 20000
BAND_TABLES = (DuplicateBand, DuplicateBandRecent)
# Rows of a campaign the small band table holds before they move into the large one (about 50,000
# texts, some 170 MB with its key); checked by inserts of `MERGE_CHECK` texts or more, so that
# indexing one post never pays for the count.
RECENT_ROWS = 2_000_000
MERGE_CHECK = 1000


def owners_of(*, post_ids=(), reference_ids=()) -> list[int]:
    return [*post_ids, *(-pk for pk in reference_ids)]


def link_of(owner: int | None) -> tuple[int | None, int | None]:
    """(duplicate_of, duplicate_of_reference) of a post linked to `owner` (None: no link)."""
    return (owner if owner and owner > 0 else None, -owner if owner and owner < 0 else None)


class Entry(NamedTuple):
    """What the incremental decision needs of one stored text (never the text itself)."""

    sig: bytes
    order: tuple
    link: tuple[int | None, int | None]
    content_hash: str | None


def entries_read(owners) -> dict[int, Entry]:
    """Signature, order, current link and a post's content hash of each owner that still exists."""
    posts = sorted(o for o in set(owners) if o > 0)
    refs = sorted(-o for o in set(owners) if o < 0)
    found = {}
    for lo in range(0, len(posts), ID_BATCH):
        rows = (
            Post.objects.filter(id__in=posts[lo : lo + ID_BATCH])
            .order_by()
            .values_list("id", "signature", "created_at", "post_id", "duplicate_of_id", "duplicate_of_reference_id", "content_hash")
        )
        # Binary: a popular band key brings in signatures by the hundred thousand.
        for pk, sig, created, post_id, dup, dup_ref, digest in values_binary(rows):
            found[pk] = Entry(bytes(sig), post_order(created, post_id), (dup, dup_ref), digest)
    for lo in range(0, len(refs), ID_BATCH):
        for pk, sig in ReferenceText.objects.filter(id__in=refs[lo : lo + ID_BATCH]).order_by().values_list("id", "signature"):
            found[-pk] = Entry(bytes(sig), reference_order(pk), (None, None), None)
    return found


def signatures_read(owners) -> dict[int, bytes]:
    out = {}
    posts = [o for o in owners if o > 0]
    refs = [-o for o in owners if o < 0]
    for lo in range(0, len(posts), ID_BATCH):
        out.update((pk, bytes(s)) for pk, s in Post.objects.filter(id__in=posts[lo : lo + ID_BATCH]).order_by().values_list("id", "signature"))
    for lo in range(0, len(refs), ID_BATCH):
        out.update((-pk, bytes(s)) for pk, s in ReferenceText.objects.filter(id__in=refs[lo : lo + ID_BATCH]).values_list("id", "signature"))
    return out


def texts_read(owners) -> dict[int, str]:
    out = {}
    posts = [o for o in owners if o > 0]
    refs = [-o for o in owners if o < 0]
    for lo in range(0, len(posts), ID_BATCH):
        out.update(Post.objects.filter(id__in=posts[lo : lo + ID_BATCH]).order_by().values_list("id", "text"))
    for lo in range(0, len(refs), ID_BATCH):
        out.update((-pk, t) for pk, t in ReferenceText.objects.filter(id__in=refs[lo : lo + ID_BATCH]).values_list("id", "text"))
    return out


def hash64(content_hash: str) -> int:
    """The first 64 bits of a post's content hash, as a signed bigint."""
    return int.from_bytes(bytes.fromhex(content_hash[:16].ljust(16, "0")), "big", signed=True)


class PostRows(NamedTuple):
    """A chunk of the rebuild's stream of posts: ids, signatures, stale flags, links, hashes."""

    ids: np.ndarray
    signatures: list[bytes]
    stale: list[bool]
    links: list[tuple[int, int]]
    hashes: list[int]

    @classmethod
    def of(cls, chunk) -> "PostRows":
        return cls(
            ids=np.fromiter((row[0] for row in chunk), dtype=np.int64, count=len(chunk)),
            signatures=[bytes(row[1]) for row in chunk],
            stale=[row[2] for row in chunk],
            links=[(-1 if d is None else d, -1 if r is None else r) for _, _, _, d, r, _ in chunk],
            hashes=[hash64(row[5]) for row in chunk],
        )


class CorpusRows:
    """The rebuild's view of a campaign, one row per text in its order (references first, then
    posts by `post_order`): 40 band keys plus 200 low bytes per text, and per post its stale flag,
    current link ((-1, -1): none) and content hash prefix. Never a text."""

    def __init__(self, *, reference_ids: np.ndarray, post_ids: np.ndarray):
        self.posts = post_ids
        self.owners = np.r_[-reference_ids, post_ids]
        n = len(self.owners)
        self.bands = Bands(np.zeros((n, BANDS), dtype=np.int64), np.zeros(n, dtype=bool), np.zeros((n, NUM_PERM), dtype=np.uint8))
        self.links = np.full((n, 2), -1, dtype=np.int64)
        self.stale = np.zeros(n, dtype=bool)
        self.hashes = np.zeros(n, dtype=np.int64)
        self._sorter = np.argsort(self.owners)

    def rows_of(self, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the row of each owner, whether the corpus holds it): a row is meaningful only where held."""
        if not len(self.owners):
            return np.zeros(len(owners), dtype=np.int64), np.zeros(len(owners), dtype=bool)
        rows = self._sorter[np.minimum(np.searchsorted(self.owners, owners, sorter=self._sorter), len(self.owners) - 1)]
        return rows, self.owners[rows] == owners

    def stored_matches(self) -> np.ndarray:
        """The stored links as `decision.earlier_matches` answers: per row, the row its post links
        to (-1: no link); 0, which bounds nothing, for a reference text's row (its answer is not
        stored) and for a link to a text the corpus lacks. The inverse of `duplicates_rebuild`'s
        mapping of answers to links."""
        dup, ref = self.links[:, 0], self.links[:, 1]
        target = np.where(dup >= 0, dup, np.where(ref >= 0, -ref, 0))
        rows, held = self.rows_of(target)
        matches = np.where(target == 0, -1, np.where(held, rows, 0))
        matches[self.owners < 0] = 0
        return matches

    def take(self, rows: np.ndarray, sigs: list[bytes]) -> None:
        matrix, present = signature_matrix(sigs)
        self.bands.keys[rows] = band_key_matrix(matrix)
        self.bands.low[rows] = matrix.astype(np.uint8)
        self.bands.has[rows] = present

    def take_posts(self, chunk: PostRows) -> None:
        """Store a chunk of the stream at the rows of its posts."""
        if not len(self.posts) or not len(chunk.ids):
            return
        # A post committed by a writer that takes no lock (the webhook's) between the two reads is in
        # this stream but not in `posts`: it is left out, still stale, for the next refresh to index.
        rows, known = self.rows_of(chunk.ids)
        keep = np.nonzero(known)[0].tolist()
        if not keep:
            return
        rows = rows[known]
        self.take(rows, [chunk.signatures[i] for i in keep])
        self.stale[rows] = [chunk.stale[i] for i in keep]
        self.links[rows] = [chunk.links[i] for i in keep]
        self.hashes[rows] = [chunk.hashes[i] for i in keep]


class CampaignCorpus(CorpusRows):
    """Every text of a campaign as `CorpusRows`, read from the stored signatures in one stream; a
    `decision.Corpus`: signatures and texts of the few rows the decision asks for are read by id."""

    def __init__(self, campaign):
        refs = np.fromiter(ReferenceText.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True), dtype=np.int64)
        ordered = Post.objects.filter(campaign=campaign).order_by("created_at", binary_collation("post_id")).values_list("id", flat=True)
        super().__init__(reference_ids=refs, post_ids=np.fromiter(ordered.iterator(chunk_size=50000), dtype=np.int64))
        ref_sigs = ReferenceText.objects.filter(campaign=campaign).order_by("id").values_list("signature", flat=True)
        self.take(np.arange(len(refs)), [bytes(s) for s in ref_sigs])
        stream = (
            Post.objects.filter(campaign=campaign)
            .order_by()
            .values_list("id", "signature", "index_stale", "duplicate_of_id", "duplicate_of_reference_id", "content_hash")
        )
        chunk = []
        for row in stream.iterator(chunk_size=STREAM_CHUNK):
            chunk.append(row)
            if len(chunk) == STREAM_CHUNK:
                self.take_posts(PostRows.of(chunk))
                chunk = []
        self.take_posts(PostRows.of(chunk))

    def signatures(self, rows: list[int]) -> np.ndarray:
        by_owner = signatures_read(self.owners[rows].tolist())
        return signature_matrix([by_owner.get(o, b"") for o in self.owners[rows].tolist()])[0]

    def texts(self, rows: list[int]) -> list[str]:
        by_owner = texts_read(self.owners[rows].tolist())
        return [by_owner.get(o, "") for o in self.owners[rows].tolist()]


def index_complete(campaign) -> bool:
    return any(model.objects.filter(campaign=campaign, **MARK).exists() for model in BAND_TABLES)


def index_forget(campaign) -> None:
    """Drop the campaign's complete mark: the next refresh rebuilds its band rows and links."""
    for model in BAND_TABLES:
        model.objects.filter(campaign=campaign, **MARK).delete()


def bands_insert(campaign, owners: list[int], keys: np.ndarray) -> None:
    """Add (campaign, key, owner) rows, ignoring those already there, plus the complete mark, into
    the small band table (merged first when it is full). The owners' sketches are cleared first:
    a row their earlier text left may hold this one's key."""
    sketches_clear(campaign, owners)
    if len(owners) >= MERGE_CHECK and DuplicateBandRecent.objects.filter(campaign=campaign)[RECENT_ROWS - 1 : RECENT_ROWS].exists():
        bands_merge(campaign)
    present = keys.any(axis=1) if len(keys) else np.zeros(0, dtype=bool)
    flat_keys = np.r_[keys[present].ravel(), 0]
    flat_owners = np.r_[np.repeat(np.asarray(owners, dtype=np.int64)[present], BANDS), 0]
    rows_insert(model=DuplicateBandRecent, columns={"key": flat_keys, "owner": flat_owners}, constants={"campaign": campaign.pk})


def bands_merge(campaign) -> int:
    """Move the campaign's rows of the small band table into the large one, in key order (the
    large table's key is filled page after page, not at random); returns how many moved."""
    moved = rows_move(source=DuplicateBandRecent, target=DuplicateBand, scope={"campaign": campaign.pk}, ordered="key")
    analyze(DuplicateBand._meta.db_table)
    return moved


def _bands_lookup(campaign, keys, fields) -> list[tuple]:
    """Rows of both band tables for the keys, each (key, owner) once: a row in both is the same
    row (its sketch is cleared and written in both), and the complete mark is left out."""
    found = {}
    for model in BAND_TABLES:
        for row in rows_lookup(model=model, fields=fields, filters={"campaign_id": campaign.pk}, key="key", keys=keys):
            if row[1] != 0:
                found[row[0], row[1]] = row
    return list(found.values())


def bands_lookup(campaign, keys) -> list[tuple[int, int]]:
    """(key, owner) rows of the campaign for the given keys (the complete mark left out)."""
    return _bands_lookup(campaign, keys, ("key", "owner"))


def bands_lookup_sketched(campaign, keys) -> list[tuple[int, int, bytes | None]]:
    """(key, owner, sketch or None) rows of the campaign for the given keys (no complete mark)."""
    return [(key, owner, None if sketch is None else bytes(sketch)) for key, owner, sketch in _bands_lookup(campaign, keys, ("key", "owner", "sketch"))]


def sketches_clear(campaign, owners) -> None:
    """Forget every sketch of these owners (only sketched rows are read: a partial index)."""
    owners = sorted(set(owners))
    for model in BAND_TABLES:
        for lo in range(0, len(owners), ID_BATCH):
            model.objects.filter(campaign=campaign, owner__in=owners[lo : lo + ID_BATCH], sketch__isnull=False).update(sketch=None)


def sketches_write(campaign, rows) -> None:
    """Set the sketch of existing band rows, from (key, owner, sketch bytes) triples."""
    batch = []
    for key, owner, sketch in rows:
        batch.append((campaign.pk, key, owner, sketch))
        if len(batch) == SKETCH_BATCH:
            _sketches_update(batch)
            batch = []
    _sketches_update(batch)


def _sketches_update(batch) -> None:
    if batch:
        for model in BAND_TABLES:
            rows_update(
                model=model,
                values=("campaign", "key", "owner", "sketch"),
                rows=batch,
                assign={"sketch": "v.sketch"},
                where='t.campaign_id = v.campaign_id AND t."key" = v."key" AND t.owner = v.owner',
            )


def crowded_keys(keys: np.ndarray, has: np.ndarray) -> np.ndarray:
    """(n, BANDS) bool: whether the key at each position is held by at least `CROWDED` rows with a
    signature (a rebuild's corpus, `Bands.keys` and `Bands.has`)."""
    crowded = np.zeros(keys.shape, dtype=bool)
    rows = np.nonzero(has)[0]
    for band in range(keys.shape[1]):
        _, inverse, counts = np.unique(keys[rows, band], return_inverse=True, return_counts=True)
        crowded[rows, band] = counts[inverse] >= CROWDED
    return crowded


class CrowdedRows(NamedTuple):
    """The crowded positions of a rebuild's corpus and their owners' sketches, kept when the
    200 low bytes a row go (about 140 bytes for each row that has a crowded key)."""

    rows: np.ndarray  # rows with at least one crowded key, ascending
    crowded: np.ndarray  # (len(rows), BANDS) bool: which of their keys are
    sketches: np.ndarray  # (len(rows), SKETCH_BYTES) uint8

    @classmethod
    def of(cls, bands: Bands) -> "CrowdedRows":
        crowded = crowded_keys(bands.keys, bands.has)
        rows = np.nonzero(crowded.any(axis=1))[0]
        return cls(rows, crowded[rows], sketch_matrix(bands.low[rows]) if len(rows) else np.zeros((0, SKETCH_BYTES), dtype=np.uint8))

    def triples(self, owners: np.ndarray, keys: np.ndarray, within: np.ndarray | None = None):
        """(key, owner, sketch) of every crowded position, only of rows where `within` ((n,) bool)."""
        for i, row in enumerate(self.rows.tolist()):
            if within is not None and not within[row]:
                continue
            sketch = self.sketches[i].tobytes()
            for band in np.nonzero(self.crowded[i])[0].tolist():
                yield int(keys[row, band]), int(owners[row]), sketch


# A full rewrite writes its rows in key order, a slice of the key range at a time: by the key's
# top bits, `KEY_SLICE_BITS` of them, each slice sorted (about 2,500,000 rows a slice at 1,000,000
# posts, instead of a sort of every row at once).
KEY_SLICE_BITS = 4


def _key_tops(keys: np.ndarray) -> np.ndarray:
    """The slice of the key range of each of `keys` ((n, BANDS)): its top `KEY_SLICE_BITS` bits."""
    top = np.empty(keys.shape, dtype=np.int8)
    for lo in range(0, len(keys), COPY_OWNERS):  # the shifted keys block by block, not 320 MB at once
        top[lo : lo + COPY_OWNERS] = keys[lo : lo + COPY_OWNERS] >> (64 - KEY_SLICE_BITS)
    return top


def _key_slices(keys: np.ndarray, top: np.ndarray, chosen: np.ndarray):
    """(flat positions, keys) of the `chosen` positions of `keys` ((n, BANDS) each; `top` their
    `_key_tops`), slice after slice of the key range in ascending order, each sorted by key:
    every chosen position in key order."""
    flat = keys.reshape(-1)
    for part in range(-(2 ** (KEY_SLICE_BITS - 1)), 2 ** (KEY_SLICE_BITS - 1)):
        positions = np.flatnonzero((top == part) & chosen)
        values = flat[positions]
        order = np.argsort(values, kind="stable")
        yield positions[order], values[order]


def bands_rewrite(campaign, owners: np.ndarray, keys: np.ndarray, crowded: CrowdedRows | None = None) -> None:
    """Replace every band row of the campaign (and set its complete mark), the `crowded` positions
    with their sketch. When no other campaign has posts or references, the rows of deleted
    campaigns go too (one TRUNCATE on PostgreSQL).

    The rows are written in key order, the plain ones and then the sketched ones, so the rows of
    one key lie side by side in the table: a lookup of a text's 40 keys reads about one page a key
    instead of one a row (a boilerplate key has thousands of rows), and the primary key is built
    from rows already in its order. All in one COPY, sketches included: after the TRUNCATE it
    writes them frozen (`rows_replace`), so the first lookups set no hint bits on them (bench/
    README.md, "Judging rows, not objects; band rows in key order")."""
    top = _key_tops(keys)
    plain = keys.any(axis=1)[:, None].repeat(BANDS, axis=1)
    sketched = np.zeros_like(plain)  # the crowded positions: written after the plain ones, with their sketch
    at = np.full(len(keys), -1, dtype=np.int64)  # a row's place in `crowded`
    if crowded is not None:
        sketched[crowded.rows] = crowded.crowded
        plain &= ~sketched
        at[crowded.rows] = np.arange(len(crowded.rows))

    def blocks():
        for positions, values in _key_slices(keys, top, plain):
            yield {"key": values, "owner": owners[positions // BANDS], "sketch": None}
        for positions, values in _key_slices(keys, top, sketched) if crowded is not None else ():
            rows = positions // BANDS
            yield {"key": values, "owner": owners[rows], "sketch": crowded.sketches[at[rows]]}
        yield {"key": np.zeros(1, dtype=np.int64), "owner": np.zeros(1, dtype=np.int64), "sketch": None}  # the complete mark

    others = Post.objects.filter(~Q(campaign=campaign)).exists() or ReferenceText.objects.filter(~Q(campaign=campaign)).exists()
    (DuplicateBandRecent.objects.filter(campaign=campaign) if others else DuplicateBandRecent.objects.all()).delete()
    rows_replace(model=DuplicateBand, scope={"campaign": campaign.pk}, blocks=blocks(), others_kept=others)
    # Once every row is in, sketched ones included: fresh statistics, or the planner guesses from
    # an empty table; taken before the sketched rows went in, they said no row has a sketch, and
    # the planner read the owners' sketches by scanning every sketched row (1.3 s a refresh at
    # 1,000,000 posts, bench/README.md).
    analyze(DuplicateBand._meta.db_table)


def links_save(rows: list[tuple[int, int | None, int | None]]) -> None:
    """Set (id, duplicate_of, duplicate_of_reference) for many posts in few statements."""
    rows_update(
        model=Post,
        values=("id", "duplicate_of", "duplicate_of_reference"),
        rows=rows,
        assign={"duplicate_of_id": "v.duplicate_of_id", "duplicate_of_reference_id": "v.duplicate_of_reference_id"},
        where="t.id = v.id",
    )


def hash_prefix(h: int) -> str:
    """The first 16 hex digits of a content hash, from its `hash64`."""
    return f"{h & (2**64 - 1):016x}"


# The condition under which a post's `index_stale` flag is cleared for a text the index read
# (v.prefix, `hash_prefix`): that text is still the post's.
STILL_INDEXED = "substr(t.content_hash, 1, 16) = v.prefix"


def stale_clear(pairs) -> None:
    """Clear `index_stale` of the posts in `pairs` ((id, `hash64` of the content hash) as read when
    they were indexed), only where the text is still that one: a writer that takes no lock (the
    webhook's) may have stored a new text meanwhile, which must stay waiting for the index."""
    stale_rows_clear([(pk, hash_prefix(h)) for pk, h in pairs])


def stale_rows_clear(rows) -> None:
    """`stale_clear` of (id, `hash_prefix`) rows."""
    rows_update(
        model=Post,
        values=("id", ("prefix", CharField(max_length=16))),
        rows=rows,
        constants={"index_stale": False},
        where=f"t.id = v.id AND t.index_stale AND {STILL_INDEXED}",
    )


def marks_store(campaign, pairs) -> None:
    """What `stale_clear` would clear, recorded instead (`IndexMark`): the caller's judging clears
    each flag in the write of the post's verdict (`marks_take`)."""
    pairs = list(pairs)
    if pairs:
        columns = {"post_id": [pk for pk, _ in pairs], "prefix": [hash_prefix(h) for _, h in pairs]}
        rows_insert(model=IndexMark, columns=columns, constants={"campaign": campaign.pk})


def index_caught_up(campaign, pairs, *, marks: bool) -> None:
    """What the index does for the posts it read ((id, `hash64`) pairs): clear their flags now
    (`stale_clear`), or, with `marks`, leave them to the caller's judging (`marks_store`)."""
    if marks:
        marks_store(campaign, pairs)
    else:
        stale_clear(pairs)


def marks_take(post_ids) -> dict[int, str]:
    """{post id: content hash prefix} of the marks of these posts, forgotten: the caller clears
    their flags in the same transaction (`posts_judge`'s `marks`). One DELETE ... RETURNING a
    batch: a mark is taken once, by whoever deleted it."""
    return dict(rows_take(model=IndexMark, fields=("post_id", "prefix"), key="post_id", keys=post_ids))


def marks_apply(campaign) -> int:
    """Clear the flags of every mark of the campaign still waiting (a judging stopped between its
    index and its verdicts, or posts it had no verdict to write for), and forget the marks.
    Returns how many marks there were."""
    marks = IndexMark.objects.filter(campaign=campaign)
    rows = list(marks.values_list("post_id", "prefix"))
    if rows:
        stale_rows_clear(rows)
        marks.delete()
    return len(rows)
