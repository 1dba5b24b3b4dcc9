"""The persistent near-duplicate index: LSH band keys in the database, exact Jaccard decisions.

RULES.md section 3, check 6. A post is a duplicate when its text is a near-duplicate of an earlier
stored post of the campaign (any author, any verdict; earlier by created_at, then post_id) or of a
reference text. Band keys (`campaign.near_duplicates.band_keys`) live in `DuplicateBand`, so any
process finds a text's candidates with indexed lookups; nothing is rebuilt for a new post.

Costs (PostgreSQL, 40 band keys per text): a refresh of k changed texts is O(k) index probes,
whatever the size of the campaign. A rebuild streams every stored signature once (never a text,
never a re-hash) and holds 40 keys plus 200 low bytes per text (about 520 MB at 1,000,000 posts);
texts are fetched only for the pairs that reach the exact decision. It rewrites the band rows
only when most of the campaign changed (or the index was lost); otherwise it adds the rows of
the changed posts.
"""

from decimal import Decimal
from fractions import Fraction

import numpy as np
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Collate

from campaign.models import Campaign, DuplicateBand, Post, ReferenceText
from campaign.near_duplicates import (
    BANDS,
    MIN_AGREEMENT,
    NUM_PERM,
    ROWS,
    band_key_matrix,
    earlier_matches,
    post_order,
    reference_order,
    signature_matrix,
)
from campaign.qualification import jaccard_at_least, shingles
from campaign.services.locks import campaign_lock
from campaign.services.sql import analyze, sql_text, values_binary

KEY_BATCH = 5000
ID_BATCH = 5000
STREAM_CHUNK = 10000
COPY_OWNERS = 20000
# The mark of a complete index: a real owner is never 0 (post ids and reference ids start at 1).
MARK = {"key": 0, "owner": 0}


BAND_TABLE = DuplicateBand._meta.db_table


def _by_code_point(field: str):
    # RULES.md orders post_ids "as a string": by code point, which is the byte order of UTF-8,
    # whatever the database's default collation.
    return Collate(field, "C" if connection.vendor == "postgresql" else "BINARY")


def _owners_of(*, post_ids=(), reference_ids=()) -> list[int]:
    return [*post_ids, *(-pk for pk in reference_ids)]


def _index_complete(campaign) -> bool:
    return DuplicateBand.objects.filter(campaign=campaign, **MARK).exists()


def _insert_bands(campaign, owners: list[int], keys: np.ndarray) -> None:
    """Add (campaign, key, owner) rows, ignoring those already there, plus the complete mark."""
    present = keys.any(axis=1) if len(keys) else np.zeros(0, dtype=bool)
    flat_keys = keys[present].ravel()
    flat_owners = np.repeat(np.asarray(owners, dtype=np.int64)[present], BANDS)
    flat_keys, flat_owners = np.r_[flat_keys, 0], np.r_[flat_owners, 0]
    if connection.vendor != "postgresql":
        DuplicateBand.objects.bulk_create(
            (DuplicateBand(campaign_id=campaign.pk, key=k, owner=o) for k, o in zip(flat_keys.tolist(), flat_owners.tolist())),
            batch_size=2000,
            ignore_conflicts=True,
        )
        return
    statement = sql_text(
        "INSERT INTO {table} (campaign_id, key, owner) SELECT %s, k, o FROM unnest(%s::bigint[], %s::bigint[]) AS t(k, o) ON CONFLICT DO NOTHING",
        table=BAND_TABLE,
    )
    with connection.cursor() as cursor:
        for lo in range(0, len(flat_keys), 100_000):
            cursor.execute(statement, [campaign.pk, flat_keys[lo : lo + 100_000].tolist(), flat_owners[lo : lo + 100_000].tolist()])


def _lookup(campaign, keys) -> list[tuple[int, int]]:
    """(key, owner) rows of the campaign for the given keys (the complete mark left out)."""
    keys = sorted(set(keys))
    found = []
    for lo in range(0, len(keys), KEY_BATCH):
        batch = keys[lo : lo + KEY_BATCH]
        if connection.vendor == "postgresql":
            # A join with the unnested keys probes the primary key once per key; `key IN (...)`
            # made the planner scan every band row of the campaign (bench/README.md).
            with connection.cursor() as cursor:
                cursor.execute(
                    sql_text("SELECT b.key, b.owner FROM unnest(%s::bigint[]) AS k(key) JOIN {table} AS b ON b.campaign_id = %s AND b.key = k.key", table=BAND_TABLE),
                    [batch, campaign.pk],
                )
                found.extend(cursor.fetchall())
        else:
            found.extend(DuplicateBand.objects.filter(campaign=campaign, key__in=batch).values_list("key", "owner"))
    return [(key, owner) for key, owner in found if owner != 0]


class _Texts:
    """What the decisions need of posts and references, fetched by id; texts only on demand."""

    def __init__(self, campaign):
        self.campaign = campaign
        self.meta: dict[int, dict] = {}
        self._sets: dict[int, frozenset] = {}

    def load(self, owners) -> None:
        """Signature, order, current link (and a post's content hash) of each owner not loaded
        yet (no text)."""
        missing = sorted(set(owners) - self.meta.keys())
        posts = [o for o in missing if o > 0]
        refs = [-o for o in missing if o < 0]
        for lo in range(0, len(posts), ID_BATCH):
            rows = Post.objects.filter(id__in=posts[lo : lo + ID_BATCH]).order_by().values_list(
                "id", "signature", "created_at", "post_id", "duplicate_of_id", "duplicate_of_reference_id", "content_hash"
            )
            # Binary: a popular band key brings in signatures by the hundred thousand.
            for pk, sig, created, post_id, dup, dup_ref, digest in values_binary(rows):
                self.meta[pk] = {"sig": bytes(sig), "order": post_order(created, post_id), "link": (dup, dup_ref), "hash": digest}
        for lo in range(0, len(refs), ID_BATCH):
            rows = ReferenceText.objects.filter(id__in=refs[lo : lo + ID_BATCH]).order_by().values_list("id", "signature")
            for pk, sig in rows:
                self.meta[-pk] = {"sig": bytes(sig), "order": reference_order(pk), "link": (None, None)}

    def order_of_link(self, link):
        dup, dup_ref = link
        if dup_ref is not None:
            return reference_order(dup_ref)
        if dup is not None:
            self.load([dup])
            return self.meta[dup]["order"] if dup in self.meta else None
        return None

    def prefetch(self, owners) -> None:
        """5-gram sets of the owners, texts fetched in batches (only pairs past the prefilter)."""
        wanted = sorted(set(owners) - self._sets.keys())
        self._sets.update({owner: shingles(text) for owner, text in _texts(self.campaign, wanted).items()})
        self._sets.update({owner: frozenset() for owner in wanted if owner not in self._sets})

    def near(self, a: int, b: int, threshold) -> bool:
        """The exact decision of check 6."""
        self.prefetch([a, b])
        return jaccard_at_least(self._sets[a], self._sets[b], threshold)


def _candidates(campaign, texts: _Texts, owners: list[int]) -> dict[int, list[int]]:
    """{owner: other owners that share a band with it and pass the signature prefilter}, each list
    earliest first. Only signatures are read here; texts wait for the exact decisions."""
    texts.load(owners)
    result: dict[int, list[int]] = {o: [] for o in owners}
    mine = [o for o in owners if o in texts.meta and texts.meta[o]["sig"]]
    if not mine:
        return result
    matrix, _ = signature_matrix([texts.meta[o]["sig"] for o in mine])
    keys = band_key_matrix(matrix)
    hits = _lookup(campaign, np.unique(keys).tolist())
    if not hits:
        return result
    hit_keys = np.array([key for key, _ in hits], dtype=np.int64)
    hit_owners = np.array([other for _, other in hits], dtype=np.int64)
    # Every (mine, other) pair sharing a key, found by a join on the key in numpy.
    flat_keys, flat_rows = keys.ravel(), np.repeat(np.arange(len(mine)), BANDS)
    sorter = np.argsort(flat_keys)
    lo = np.searchsorted(flat_keys, hit_keys, side="left", sorter=sorter)
    hi = np.searchsorted(flat_keys, hit_keys, side="right", sorter=sorter)
    counts = hi - lo
    starts = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    rows = flat_rows[sorter[starts]]
    others = np.repeat(hit_owners, counts)
    pairs = np.unique(np.stack([rows, others], axis=1), axis=0)
    pairs = pairs[pairs[:, 1] != np.asarray(mine, dtype=np.int64)[pairs[:, 0]]]
    texts.load(pairs[:, 1].tolist())
    # A deleted post or reference leaves rows behind until the next full rewrite: skipped.
    known = np.array([other in texts.meta and bool(texts.meta[other]["sig"]) for other in pairs[:, 1].tolist()], dtype=bool)
    pairs = pairs[known]
    if not len(pairs):
        return result
    theirs, _ = signature_matrix([texts.meta[other]["sig"] for other in pairs[:, 1].tolist()])
    own = matrix[pairs[:, 0]]
    # A row left by an earlier text of `other` may share the key although its current text does
    # not: only a band shared by the current signatures makes a candidate.
    shared_band = (own.reshape(-1, BANDS, ROWS) == theirs.reshape(-1, BANDS, ROWS)).all(axis=2).any(axis=1)
    plausible = np.count_nonzero(own == theirs, axis=1) >= MIN_AGREEMENT
    for row, other in pairs[shared_band & plausible].tolist():
        result[mine[row]].append(other)
    for found in result.values():
        found.sort(key=lambda o: texts.meta[o]["order"])
    return result


def duplicates_lock(campaign: Campaign) -> None:
    """Serialise index maintenance of one campaign (call inside a transaction).

    Two writers that each add one half of a near-duplicate pair would otherwise not see the
    other's uncommitted post and both miss the pair. It is `campaign_lock`, the lock settlement
    takes first; inserting a post does not wait for it.
    """
    campaign_lock(campaign)


@transaction.atomic
def duplicates_refresh(*, campaign: Campaign, post_ids=(), reference_ids=()) -> set[int]:
    """Index posts whose text is new or changed and references just added, then recompute the
    duplicate link of every post that may have changed because of them.

    Those are: the changed posts themselves (earliest earlier match, from their candidates),
    posts that pointed at a changed post (the same, from theirs), and later candidates of a
    changed post or new reference, whose link becomes the changed text when that is an exact
    near-duplicate earlier than their current link (a post created earlier but ingested later
    flips its later copies). Work is O(changed texts), not O(campaign). Returns the ids of posts
    whose link changed, plus `post_ids`. Idempotent: with nothing changed, a second call writes
    nothing. An index without its complete mark (lost in a crash, or never built since
    migration 0009) is rebuilt first, and so are links made under another threshold (even with
    nothing changed: a settlement's call then relinks every post).
    """
    post_ids, reference_ids = set(post_ids), set(reference_ids)
    if _links_outdated(campaign):
        return duplicates_rebuild(campaign=campaign) | post_ids
    if not post_ids and not reference_ids:
        return set()
    if not _index_complete(campaign):
        known = Post.objects.filter(campaign=campaign).exclude(id__in=post_ids).exists()
        if known or ReferenceText.objects.filter(campaign=campaign).exclude(id__in=reference_ids).exists():
            return duplicates_rebuild(campaign=campaign) | post_ids
    threshold = Fraction(campaign.duplicate_threshold)
    texts = _Texts(campaign)
    changed_owners = _owners_of(post_ids=post_ids, reference_ids=reference_ids)
    texts.load(changed_owners)
    # The texts as they are now, read with the signatures indexed below: only these are cleared.
    read_hashes = {pk: _hash64(texts.meta[pk]["hash"]) for pk in post_ids if pk in texts.meta}
    changed_owners = [o for o in changed_owners if o in texts.meta]
    sigs = [texts.meta[o]["sig"] for o in changed_owners]
    matrix, _ = signature_matrix(sigs)
    _insert_bands(campaign, changed_owners, band_key_matrix(matrix))
    if len(sigs) >= 20000:
        analyze(BAND_TABLE)

    # By id alone (ids are unique, owners of a campaign's rows are its own posts): a filter on the
    # campaign tempts the planner into reading the whole campaign; order_by() drops a join + sort.
    pointing = set(Post.objects.filter(duplicate_of_id__in=post_ids).order_by().values_list("id", flat=True)) - post_ids
    relink = sorted(o for o in changed_owners if o > 0) + sorted(pointing)
    candidates = _candidates(campaign, texts, changed_owners + sorted(pointing))
    texts.prefetch([o for o, found in candidates.items() if found] + [c for found in candidates.values() for c in found])
    new_links: dict[int, tuple] = {}
    for owner in relink:
        own = texts.meta[owner]["order"]
        best = next((c for c in candidates[owner] if texts.meta[c]["order"] < own and texts.near(owner, c, threshold)), None)
        new_links[owner] = (best if best and best > 0 else None, -best if best and best < 0 else None)
    # Later candidates of a changed text: their link was right before the change (or pointed at
    # a changed post, relinked above), so it only moves to the changed text if that is earlier.
    proposals: dict[int, list[int]] = {}
    for owner in changed_owners:
        for other in candidates[owner]:
            if other > 0 and other not in new_links and texts.meta[owner]["order"] < texts.meta[other]["order"]:
                proposals.setdefault(other, []).append(owner)
    for other, sources in proposals.items():
        current = texts.meta[other]["link"]
        current_order = texts.order_of_link(current)
        for source in sorted(sources, key=lambda o: texts.meta[o]["order"]):
            if current_order is not None and current_order <= texts.meta[source]["order"]:
                break
            if texts.near(other, source, threshold):
                new_links[other] = (source if source > 0 else None, -source if source < 0 else None)
                break
    dirty = [(pk, *link) for pk, link in new_links.items() if link != texts.meta[pk]["link"]]
    _save_links(dirty)
    _stale_clear(read_hashes.items())
    _links_made_under(campaign)
    return {pk for pk, _, _ in dirty} | post_ids


def _links_outdated(campaign) -> bool:
    """Were the stored links computed under another threshold than the campaign's (None: no link
    computed yet)?"""
    return campaign.links_threshold is not None and Decimal(campaign.links_threshold) != Decimal(campaign.duplicate_threshold)


def _links_made_under(campaign) -> None:
    """Record that the campaign's links are now those of its current threshold."""
    if campaign.links_threshold is None or _links_outdated(campaign):
        Campaign.objects.filter(pk=campaign.pk).update(links_threshold=campaign.duplicate_threshold)
        campaign.links_threshold = campaign.duplicate_threshold


@transaction.atomic
def duplicates_rebuild(*, campaign: Campaign) -> set[int]:
    """Recompute every duplicate link of the campaign from the stored signatures.

    For bulk imports, a lost index and threshold changes. Streams the signatures once (no text,
    no re-hash) and decides with `near_duplicates.earlier_matches` (exact Jaccard, texts fetched
    only for the pairs that need it). The band rows are rewritten in bulk when the index was
    lost or at least half of the posts are stale; otherwise only the stale posts' rows are
    added. Returns the ids of posts whose link changed.
    """
    threshold = Fraction(campaign.duplicate_threshold)
    refs = np.fromiter(ReferenceText.objects.filter(campaign=campaign).order_by("id").values_list("id", flat=True), dtype=np.int64)
    ordered = Post.objects.filter(campaign=campaign).order_by("created_at", _by_code_point("post_id")).values_list("id", flat=True)
    posts = np.fromiter(ordered.iterator(chunk_size=50000), dtype=np.int64)
    owners = np.r_[-refs, posts]
    n = len(owners)
    post_sorter = np.argsort(posts)
    keys = np.zeros((n, BANDS), dtype=np.int64)
    low = np.zeros((n, NUM_PERM), dtype=np.uint8)
    has = np.zeros(n, dtype=bool)
    links = np.full((n, 2), -1, dtype=np.int64)
    stale = np.zeros(n, dtype=bool)
    hashes = np.zeros(n, dtype=np.int64)

    def take(rows, sigs):
        matrix, present = signature_matrix(sigs)
        keys[rows] = band_key_matrix(matrix)
        low[rows] = matrix.astype(np.uint8)
        has[rows] = present

    ref_rows = ReferenceText.objects.filter(campaign=campaign).order_by("id").values_list("signature", flat=True)
    take(np.arange(len(refs)), [bytes(s) for s in ref_rows])
    stream = Post.objects.filter(campaign=campaign).order_by().values_list(
        "id", "signature", "index_stale", "duplicate_of_id", "duplicate_of_reference_id", "content_hash"
    )
    chunk = []
    for row in stream.iterator(chunk_size=STREAM_CHUNK):
        chunk.append(row)
        if len(chunk) == STREAM_CHUNK:
            _take_posts(chunk, posts, post_sorter, len(refs), take, stale, links, hashes)
            chunk = []
    _take_posts(chunk, posts, post_sorter, len(refs), take, stale, links, hashes)

    def fetch_signatures(rows):
        by_owner = _signatures(campaign, owners[rows].tolist())
        return signature_matrix([by_owner.get(o, b"") for o in owners[rows].tolist()])[0]

    def fetch_texts(rows):
        by_owner = _texts(campaign, owners[rows].tolist())
        return [by_owner.get(o, "") for o in owners[rows].tolist()]

    match = earlier_matches(keys, has, low, fetch_signatures=fetch_signatures, fetch_texts=fetch_texts, threshold=threshold)
    del low
    if not _index_complete(campaign) or 2 * int(stale.sum()) >= max(1, len(posts)):
        _rewrite_bands(campaign, owners, keys)
    elif stale.any():
        _insert_bands(campaign, owners[stale].tolist(), keys[stale])
    del keys
    target = np.where(match >= 0, owners[np.maximum(match, 0)], 0)
    new = np.stack([np.where(target > 0, target, -1), np.where(target < 0, -target, -1)], axis=1)
    differs = np.nonzero((new != links).any(axis=1) & (owners > 0))[0]
    dirty = [(int(owners[r]), *(None if v < 0 else int(v) for v in new[r])) for r in differs]
    _save_links(dirty)
    indexed = np.nonzero(stale & (owners > 0))[0]
    _stale_clear(zip(owners[indexed].tolist(), hashes[indexed].tolist()))
    # After a bulk import nothing has analysed the posts yet: with no statistics on
    # duplicate_of_id, the refresh's "who points at these posts" became a sequential scan.
    analyze(Post._meta.db_table)
    _links_made_under(campaign)
    return {pk for pk, _, _ in dirty}


def _take_posts(chunk, posts, post_sorter, offset, take, stale, links, hashes):
    if not chunk:
        return
    ids = np.fromiter((row[0] for row in chunk), dtype=np.int64, count=len(chunk))
    found = post_sorter[np.minimum(np.searchsorted(posts, ids, sorter=post_sorter), len(posts) - 1)] if len(posts) else np.zeros(0, dtype=np.int64)
    # A post committed by a writer that takes no lock (the webhook's) between the two reads is in
    # this stream but not in `posts`: it is left out, still stale, for the next refresh to index.
    known = posts[found] == ids if len(posts) else np.zeros(len(ids), dtype=bool)
    chunk = [row for row, keep in zip(chunk, known.tolist()) if keep]
    if not chunk:
        return
    rows = offset + found[known]
    take(rows, [bytes(row[1]) for row in chunk])
    stale[rows] = [row[2] for row in chunk]
    links[rows] = [(-1 if d is None else d, -1 if r is None else r) for _, _, _, d, r, _ in chunk]
    hashes[rows] = [_hash64(row[5]) for row in chunk]


def _hash64(content_hash: str) -> int:
    """The first 64 bits of a post's content hash, as a signed bigint."""
    return int.from_bytes(bytes.fromhex(content_hash[:16].ljust(16, "0")), "big", signed=True)


def _stale_clear(pairs) -> None:
    """Clear `index_stale` of the posts in `pairs` ((id, 64-bit content hash prefix) as read when
    they were indexed), only where the text is still that one: a writer that takes no lock (the
    webhook's) may have stored a new text meanwhile, which must stay waiting for the index."""
    pairs = list(pairs)
    if connection.vendor != "postgresql":
        for lo in range(0, len(pairs), ID_BATCH):  # one writer at a time on SQLite
            Post.objects.filter(id__in=[pk for pk, _ in pairs[lo : lo + ID_BATCH]]).update(index_stale=False)
        return
    statement = sql_text(
        "UPDATE {table} AS p SET index_stale = false FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, h) "
        "WHERE p.id = v.id AND p.index_stale AND ('x' || left(p.content_hash, 16))::bit(64)::bigint = v.h",
        table=Post._meta.db_table,
    )
    with connection.cursor() as cursor:
        for lo in range(0, len(pairs), 50_000):
            batch = pairs[lo : lo + 50_000]
            cursor.execute(statement, [[pk for pk, _ in batch], [h for _, h in batch]])


def _signatures(campaign, owners: list[int]) -> dict[int, bytes]:
    out = {}
    posts = [o for o in owners if o > 0]
    refs = [-o for o in owners if o < 0]
    for lo in range(0, len(posts), ID_BATCH):
        out.update((pk, bytes(s)) for pk, s in Post.objects.filter(id__in=posts[lo : lo + ID_BATCH]).order_by().values_list("id", "signature"))
    for lo in range(0, len(refs), ID_BATCH):
        out.update((-pk, bytes(s)) for pk, s in ReferenceText.objects.filter(id__in=refs[lo : lo + ID_BATCH]).values_list("id", "signature"))
    return out


def _texts(campaign, owners: list[int]) -> dict[int, str]:
    out = {}
    posts = [o for o in owners if o > 0]
    refs = [-o for o in owners if o < 0]
    for lo in range(0, len(posts), ID_BATCH):
        out.update(Post.objects.filter(id__in=posts[lo : lo + ID_BATCH]).order_by().values_list("id", "text"))
    for lo in range(0, len(refs), ID_BATCH):
        out.update((-pk, t) for pk, t in ReferenceText.objects.filter(id__in=refs[lo : lo + ID_BATCH]).values_list("id", "text"))
    return out


_COPY_ROW = np.dtype([("fields", ">i2"), ("l1", ">i4"), ("campaign", ">i8"), ("l2", ">i4"), ("key", ">i8"), ("l3", ">i4"), ("owner", ">i8")])


def _rewrite_bands(campaign, owners: np.ndarray, keys: np.ndarray) -> None:
    """Replace every band row of the campaign (and set its complete mark)."""
    present = keys.any(axis=1)
    if connection.vendor != "postgresql":
        DuplicateBand.objects.filter(campaign=campaign).delete()
        _insert_bands(campaign, owners[present].tolist(), keys[present])
        return
    with connection.cursor() as cursor:
        others = Post.objects.filter(~Q(campaign=campaign)).exists() or ReferenceText.objects.filter(~Q(campaign=campaign)).exists()
        # TRUNCATE when no other campaign has rows to keep (also drops rows of deleted campaigns).
        if others:
            cursor.execute(sql_text("DELETE FROM {table} WHERE campaign_id = %s", table=BAND_TABLE), [campaign.pk])
        else:
            cursor.execute(sql_text("TRUNCATE {table}", table=BAND_TABLE))
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", [DuplicateBand._meta.db_table]
        )
        (pkey,) = cursor.fetchone()
        # One sorted build of the index after the COPY, instead of maintaining it row by row.
        cursor.execute(sql_text("ALTER TABLE {table} DROP CONSTRAINT {pkey}", table=BAND_TABLE, pkey=pkey))
        with cursor.cursor.copy(sql_text("COPY {table} (campaign_id, key, owner) FROM STDIN (FORMAT BINARY)", table=BAND_TABLE)) as copy:
            copy.write(b"PGCOPY\n\xff\r\n\x00" + bytes(8))
            rows = np.nonzero(present)[0]
            for lo in range(0, len(rows), COPY_OWNERS):
                block = rows[lo : lo + COPY_OWNERS]
                copy.write(_copy_rows(campaign.pk, keys[block].ravel(), np.repeat(owners[block], BANDS)))
            copy.write(_copy_rows(campaign.pk, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)))
            copy.write(b"\xff\xff")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        cursor.execute(sql_text("ALTER TABLE {table} ADD CONSTRAINT {pkey} PRIMARY KEY (campaign_id, key, owner)", table=BAND_TABLE, pkey=pkey))
    analyze(BAND_TABLE)  # fresh statistics, or the planner guesses from an empty table (bench/README.md)


def _copy_rows(campaign_id: int, keys: np.ndarray, owners: np.ndarray) -> bytes:
    """Rows of a binary COPY (three int8 columns), built in one vectorised step."""
    rows = np.empty(len(keys), dtype=_COPY_ROW)
    rows["fields"], rows["l1"], rows["l2"], rows["l3"] = 3, 8, 8, 8
    rows["campaign"], rows["key"], rows["owner"] = campaign_id, keys, owners
    return rows.tobytes()


def _save_links(rows: list[tuple[int, int | None, int | None]]):
    """Set (id, duplicate_of, duplicate_of_reference) for many posts in few statements."""
    if connection.vendor != "postgresql":
        Post.objects.bulk_update([Post(id=i, duplicate_of_id=d, duplicate_of_reference_id=r) for i, d, r in rows], ["duplicate_of", "duplicate_of_reference"], batch_size=1000)
        return
    from psycopg import sql

    for lo in range(0, len(rows), 2000):
        batch = rows[lo : lo + 2000]
        statement = sql.SQL(
            "UPDATE {table} AS p SET duplicate_of_id = v.dup, duplicate_of_reference_id = v.ref "
            "FROM (VALUES {values}) AS v(id, dup, ref) WHERE p.id = v.id"
        ).format(table=sql.Identifier(Post._meta.db_table), values=sql.SQL(", ").join([sql.SQL("(%s::bigint, %s::bigint, %s::bigint)")] * len(batch)))
        with connection.cursor() as cursor:
            cursor.execute(statement, [value for row in batch for value in row])
