"""The persistent near-duplicate index: LSH band keys in the database, exact Jaccard decisions.

RULES.md section 3, check 6. A post is a duplicate when its text is a near-duplicate of an earlier
stored post of the campaign (any author, any verdict; earlier by created_at, then post_id) or of a
reference text. Band keys (`campaign.near_duplicates.band_keys`) live in `DuplicateBand`, so any
process finds a text's candidates with one indexed query; nothing is rebuilt for a new post.
"""

from collections import defaultdict
from fractions import Fraction
from functools import lru_cache

from django.db import connection

from campaign.models import Campaign, DuplicateBand, Post, ReferenceText
from campaign.near_duplicates import NearDuplicateIndex, band_key_rows, band_keys, post_order, reference_order, signatures_may_match
from campaign.qualification import jaccard_at_least, shingles

KEY_BATCH = 5000


def _lookup(campaign, keys) -> tuple[dict[int, set[int]], dict[int, set[int]]]:
    """{band key: post ids} and {band key: reference ids} for the given keys."""
    posts, refs = defaultdict(set), defaultdict(set)
    keys = list(keys)
    for i in range(0, len(keys), KEY_BATCH):
        rows = DuplicateBand.objects.filter(campaign=campaign, key__in=keys[i : i + KEY_BATCH]).values_list("key", "post_id", "reference_id")
        for key, post_id, reference_id in rows:
            (posts[key].add(post_id) if post_id is not None else refs[key].add(reference_id))
    return posts, refs


def _write_bands(campaign, owners: dict[tuple[str, int], bytes]):
    """Insert the band keys of posts and references; COPY on PostgreSQL (millions of rows)."""
    owners = list(owners.items())
    key_rows = band_key_rows([sig for _, sig in owners])
    if connection.vendor == "postgresql":
        from psycopg import sql

        statement = sql.SQL("COPY {} (campaign_id, key, post_id, reference_id) FROM STDIN").format(sql.Identifier(DuplicateBand._meta.db_table))
        with connection.cursor() as cursor, cursor.copy(statement) as copy:
            # Text COPY written in large blocks: one Python call per owner, not per row.
            for ((owner, pk), _), keys in zip(owners, key_rows):
                tail = f"\t{pk}\t\\N\n" if owner == "post_id" else f"\t\\N\t{pk}\n"
                copy.write("".join(f"{campaign.pk}\t{key}{tail}" for key in keys))
        return
    DuplicateBand.objects.bulk_create(
        (
            DuplicateBand(campaign_id=campaign.pk, key=key, **{owner: pk})
            for ((owner, pk), _), keys in zip(owners, key_rows)
            for key in keys
        ),
        batch_size=5000,
    )


def duplicates_lock(campaign: Campaign) -> None:
    """Serialise index maintenance of one campaign (call inside a transaction).

    Two writers that each add one half of a near-duplicate pair would otherwise not see the
    other's uncommitted post and both miss the pair. Settlement takes the same row lock first.
    FOR NO KEY UPDATE: it excludes the other holders of this lock, but not the key-share lock that
    inserting a post (its foreign key to the campaign) takes, so deliveries that only write posts
    never wait for a judging run or a settlement.
    """
    list(Campaign.objects.select_for_update(no_key=True).filter(pk=campaign.pk).values_list("pk", flat=True))


def duplicates_refresh(*, campaign: Campaign, post_ids=(), reference_ids=()) -> set[int]:
    """Re-index posts whose text is new or changed and references just added, then recompute the
    duplicate link of every post that may have changed because of them.

    Those are: the changed posts themselves, posts that pointed at a changed post, and posts that
    share a band with a changed post or new reference (a post created earlier but ingested later
    flips its later copies). Returns the ids of posts whose link changed, plus `post_ids`.
    Idempotent: with nothing changed, a second call writes nothing.
    """
    post_ids, reference_ids = set(post_ids), set(reference_ids)
    if not post_ids and not reference_ids:
        return set()
    changed_posts = dict(Post.objects.filter(id__in=post_ids).values_list("id", "signature"))
    new_refs = dict(ReferenceText.objects.filter(id__in=reference_ids).values_list("id", "signature"))
    DuplicateBand.objects.filter(post_id__in=post_ids).delete()
    _write_bands(campaign, {("post_id", pk): bytes(sig) for pk, sig in changed_posts.items()} | {("reference_id", pk): bytes(sig) for pk, sig in new_refs.items()})

    keys = {key for sig in [*changed_posts.values(), *new_refs.values()] for key in band_keys(bytes(sig))}
    neighbours, _ = _lookup(campaign, keys)
    suspects = set(post_ids).union(*neighbours.values()) if neighbours else set(post_ids)
    if post_ids:
        suspects |= set(Post.objects.filter(duplicate_of_id__in=post_ids).values_list("id", flat=True))
    changed = _relink(campaign, suspects) | post_ids
    Post.objects.filter(id__in=post_ids).update(index_stale=False)
    return changed


def duplicates_rebuild(*, campaign: Campaign) -> set[int]:
    """Rebuild the campaign's whole index and every duplicate link from scratch, in memory.

    For bulk imports and threshold changes: one pass of the vectorised MinHash index over every
    post and reference text (`NearDuplicateIndex.earlier_duplicates`, exact Jaccard decisions),
    then the band keys rewritten in bulk. Returns the ids of posts whose link changed.
    """
    index = NearDuplicateIndex(threshold=Fraction(campaign.duplicate_threshold))
    refs = list(ReferenceText.objects.filter(campaign=campaign).values_list("id", "text", "signature"))
    posts = list(
        Post.objects.filter(campaign=campaign)
        .values_list("id", "post_id", "created_at", "text", "signature", "duplicate_of_id", "duplicate_of_reference_id")
        .iterator(chunk_size=5000)
    )
    index.add_many([(("ref", pk), text, reference_order(pk)) for pk, text, _ in refs])
    index.add_many([(("post", pk), text, post_order(created, post_id)) for pk, post_id, created, text, *_ in posts])
    links = index.earlier_duplicates()
    del index
    DuplicateBand.objects.filter(campaign=campaign).delete()
    _write_bands(campaign, {("reference_id", pk): bytes(sig) for pk, _, sig in refs} | {("post_id", p[0]): bytes(p[4]) for p in posts})
    dirty = []
    for pk, _, _, _, _, old_post, old_ref in posts:
        kind, target = links.get(("post", pk), (None, None))
        new = (target if kind == "post" else None, target if kind == "ref" else None)
        if new != (old_post, old_ref):
            dirty.append((pk, *new))
    _save_links(dirty)
    Post.objects.filter(campaign=campaign, index_stale=True).update(index_stale=False)
    if connection.vendor == "postgresql":
        from psycopg import sql

        # Millions of fresh band rows: without fresh statistics the planner scans them all per lookup.
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(DuplicateBand._meta.db_table)))
    return {pk for pk, _, _ in dirty}


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


@lru_cache(maxsize=4096)
def _shingles(text: str) -> frozenset:
    return shingles(text)


def _relink(campaign: Campaign, suspects: set[int]) -> set[int]:
    """Set `duplicate_of` / `duplicate_of_reference` of each suspect to its earliest earlier match."""
    threshold = Fraction(campaign.duplicate_threshold)
    changed, suspects = set(), list(suspects)
    for i in range(0, len(suspects), 1000):
        batch = {p["id"]: p for p in Post.objects.filter(id__in=suspects[i : i + 1000]).values(
            "id", "post_id", "created_at", "text", "signature", "duplicate_of_id", "duplicate_of_reference_id")}  # fmt: skip
        keys_of = {pk: band_keys(bytes(p["signature"])) for pk, p in batch.items()}
        post_hits, ref_hits = _lookup(campaign, {k for keys in keys_of.values() for k in keys})
        candidate_posts = {c for keys in keys_of.values() for k in keys for c in post_hits.get(k, ())}
        candidate_refs = {c for keys in keys_of.values() for k in keys for c in ref_hits.get(k, ())}
        other = {p["id"]: p for p in Post.objects.filter(id__in=candidate_posts - set(batch)).values("id", "post_id", "created_at", "text", "signature")}
        other.update(batch)
        refs = {r["id"]: r for r in ReferenceText.objects.filter(id__in=candidate_refs).values("id", "text", "signature")}
        dirty = []
        for pk, post in batch.items():
            own_order = post_order(post["created_at"], post["post_id"])
            own_sig = bytes(post["signature"])
            best = None  # (order, kind, id)
            for key in keys_of[pk]:
                for ref_id in ref_hits.get(key, ()):
                    best = _better(best, (reference_order(ref_id), "ref", ref_id), own_sig, refs[ref_id], post["text"], threshold)
                for other_id in post_hits.get(key, ()):
                    if other_id == pk:
                        continue
                    cand = other[other_id]
                    order = post_order(cand["created_at"], cand["post_id"])
                    if order < own_order:
                        best = _better(best, (order, "post", other_id), own_sig, cand, post["text"], threshold)
            new = (best[2] if best and best[1] == "post" else None, best[2] if best and best[1] == "ref" else None)
            if new != (post["duplicate_of_id"], post["duplicate_of_reference_id"]):
                dirty.append(Post(id=pk, duplicate_of_id=new[0], duplicate_of_reference_id=new[1]))
        Post.objects.bulk_update(dirty, ["duplicate_of", "duplicate_of_reference"], batch_size=1000)
        changed.update(p.id for p in dirty)
    return changed


def _better(best, candidate, own_sig, other, own_text, threshold):
    """Keep the earlier of `best` and `candidate`, the latter only if it really is a near-copy."""
    if best is not None and best[0] <= candidate[0]:
        return best
    if not signatures_may_match(own_sig, bytes(other["signature"])):
        return best
    if not jaccard_at_least(_shingles(own_text), _shingles(other["text"]), threshold):
        return best
    return candidate
