"""The persistent near-duplicate index: LSH band keys in the database, exact Jaccard decisions.

RULES.md section 3, check 6. A post is a duplicate when its text is a near-duplicate of an earlier
stored post of the campaign (any author, any verdict; earlier by created_at, then post_id) or of a
reference text. Band keys (`campaign.near_duplicates.band_keys`) live in `DuplicateBand`, so any
process finds a text's candidates with one indexed query; nothing is rebuilt for a new post.
"""

from collections import defaultdict
from fractions import Fraction
from functools import lru_cache

from campaign.models import Campaign, DuplicateBand, Post, ReferenceText
from campaign.near_duplicates import band_keys, post_order, reference_order, signatures_may_match
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
    DuplicateBand.objects.bulk_create(
        [
            DuplicateBand(campaign=campaign, key=key, **{owner: pk})
            for (owner, pk), signature in owners.items()
            for key in band_keys(signature)
        ],
        batch_size=5000,
    )


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
    return _relink(campaign, suspects) | post_ids


def duplicates_rebuild(*, campaign: Campaign) -> set[int]:
    """Recompute every duplicate link of the campaign (after the threshold changed)."""
    return _relink(campaign, set(Post.objects.filter(campaign=campaign).values_list("id", flat=True)))


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
