"""Near-duplicate links of a campaign kept in the database: the services over the database adapter.

RULES.md section 3, check 6. A post is a duplicate when its text is a near-duplicate of an earlier
stored post of the campaign (any author, any verdict; earlier by created_at, then post_id) or of a
reference text. The rule is `campaign.near_duplicates` (pure core and decision); band keys live in
`DuplicateBand` (`near_duplicates.db`), so any process finds a text's candidates with indexed
lookups; nothing is rebuilt for a new post.

Costs (PostgreSQL, 40 band keys per text): a refresh of k changed texts is O(k) index probes,
whatever the size of the campaign. A rebuild streams every stored signature once (never a text,
never a re-hash) and holds 40 keys plus 200 low bytes per text (about 520 MB at 1,000,000 posts);
texts are fetched only for the pairs that reach the exact decision. It rewrites the band rows
only when most of the campaign changed (or the index was lost); otherwise it adds the rows of
the changed posts.

Boilerplate: a key that many texts hold brings a lookup many owners, nearly all unrelated. The
rows of such keys carry a sketch of their owner's signature, so a refresh reads the signatures of
the few owners the sketch does not rule out (docs/near-duplicates.md, "Boilerplate band keys").
"""

from decimal import Decimal
from fractions import Fraction

import numpy as np
from django.db import transaction

from campaign.models import Campaign, DuplicateBand, Post, ReferenceText
from campaign.near_duplicates import band_key_matrix, earlier_matches, plausible, reference_order, signature_matrix
from campaign.near_duplicates.core import SKETCH_BYTES, share_a_band, sketch_matrix, sketch_plausible
from campaign.near_duplicates.db import (
    CROWDED,
    CampaignCorpus,
    CrowdedRows,
    Entry,
    bands_insert,
    bands_lookup_sketched,
    bands_rewrite,
    entries_read,
    hash64,
    index_caught_up,
    index_complete,
    link_of,
    links_save,
    owners_of,
    sketches_write,
    texts_read,
)
from campaign.near_duplicates.decision import key_hits, relinks
from campaign.qualification import jaccard_at_least, shingles
from campaign.services.locks import campaign_lock
from core.database import analyze

# From this many new texts at once, the band table's statistics are refreshed.
ANALYZE_AFTER = 20000


class _Neighbourhood:
    """The stored texts around some changed ones: entries read once by id, 5-gram sets only for
    the pairs that reach the exact decision."""

    def __init__(self, campaign, threshold: Fraction):
        self.campaign = campaign
        self.threshold = threshold
        self.entries: dict[int, Entry] = {}
        self._sets: dict[int, frozenset] = {}

    def load(self, owners) -> None:
        missing = set(owners) - self.entries.keys()
        if missing:
            self.entries.update(entries_read(missing))

    def order(self, owner: int) -> tuple:
        return self.entries[owner].order

    def link_order(self, owner: int) -> tuple | None:
        dup, dup_ref = self.entries[owner].link
        if dup_ref is not None:
            return reference_order(dup_ref)
        if dup is None:
            return None
        self.load([dup])
        return self.entries[dup].order if dup in self.entries else None

    def prefetch(self, owners) -> None:
        """5-gram sets of the owners, texts fetched in batches (only pairs past the prefilter)."""
        wanted = sorted(set(owners) - self._sets.keys())
        self._sets.update({owner: shingles(text) for owner, text in texts_read(wanted).items()})
        self._sets.update({owner: frozenset() for owner in wanted if owner not in self._sets})

    def near(self, a: int, b: int) -> bool:
        """The exact decision of check 6."""
        self.prefetch([a, b])
        return jaccard_at_least(self._sets[a], self._sets[b], self.threshold)

    def candidates(self, owners: list[int]) -> dict[int, list[int]]:
        """{owner: other owners that share a band with it and pass the signature prefilter}, each
        list earliest first. Only signatures are read here; texts wait for the exact decisions.

        A key held by many texts is boilerplate, and nearly all of its owners fail the prefilter:
        an owner met only on rows whose stored sketch rules it out (`sketch_plausible`) is dropped
        unread, as the prefilter would drop it (db.py says why a stored sketch is safe to trust).
        The crowded rows of the owners that were read get their sketch, for the next lookups.
        """
        self.load(owners)
        result: dict[int, list[int]] = {o: [] for o in owners}
        mine = [o for o in owners if o in self.entries and self.entries[o].sig]
        if not mine:
            return result
        matrix, _ = signature_matrix([self.entries[o].sig for o in mine])
        keys = band_key_matrix(matrix)
        hits = bands_lookup_sketched(self.campaign, np.unique(keys).tolist())
        if not hits:
            return result
        hit_keys = np.fromiter((key for key, _, _ in hits), dtype=np.int64, count=len(hits))
        hit_owners = np.fromiter((owner for _, owner, _ in hits), dtype=np.int64, count=len(hits))
        stored = [sketch for _, _, sketch in hits]
        rows, hit = key_hits(keys, hit_keys)
        others = hit_owners[hit] != np.asarray(mine, dtype=np.int64)[rows]
        rows, hit = rows[others], hit[others]
        keep = self._sketch_prefilter(matrix, rows, hit, hit_owners, stored)
        pairs = np.unique(np.stack([rows[keep], hit_owners[hit[keep]]], axis=1), axis=0)
        self.load(pairs[:, 1].tolist())
        self._sketches_complete(hit_keys, hit_owners, stored)
        # A deleted post or reference leaves rows behind until the next full rewrite: skipped.
        known = np.array([other in self.entries and bool(self.entries[other].sig) for other in pairs[:, 1].tolist()], dtype=bool)
        pairs = pairs[known]
        if not len(pairs):
            return result
        theirs, _ = signature_matrix([self.entries[other].sig for other in pairs[:, 1].tolist()])
        own = matrix[pairs[:, 0]]
        # A row left by an earlier text of `other` may share the key although its current text does
        # not: only a band shared by the current signatures makes a candidate.
        for row, other in pairs[share_a_band(own, theirs) & plausible(own, theirs)].tolist():
            result[mine[row]].append(other)
        for found in result.values():
            found.sort(key=self.order)
        return result

    def _sketch_prefilter(self, matrix, rows, hit, hit_owners, stored) -> np.ndarray:
        """Per (row, hit): False where the hit's stored sketch rules the pair out. An owner already
        in hand is checked on its signature instead (its stored sketch may predate its text)."""
        usable = np.array([sketch is not None and owner not in self.entries for owner, sketch in zip(hit_owners.tolist(), stored)], dtype=bool)
        keep = np.ones(len(rows), dtype=bool)
        checked = usable[hit]
        if checked.any():
            sketched = np.nonzero(usable)[0]
            at = np.full(len(stored), -1, dtype=np.int64)
            at[sketched] = np.arange(len(sketched))
            theirs = np.frombuffer(b"".join(stored[i] for i in sketched.tolist()), dtype=np.uint8).reshape(-1, SKETCH_BYTES)
            keep[checked] = sketch_plausible(sketch_matrix(matrix)[rows[checked]], theirs[at[hit[checked]]])
        return keep

    def _sketches_complete(self, hit_keys, hit_owners, stored) -> None:
        """Write the sketch of each crowded row whose owner's signature is in hand and whose stored
        sketch is missing or another (rows of the owners just indexed, keys newly crowded, an
        index built before sketches)."""
        _, inverse, counts = np.unique(hit_keys, return_inverse=True, return_counts=True)
        crowded = np.nonzero(counts[inverse] >= CROWDED)[0].tolist()
        wanted = sorted({owner for owner in hit_owners[crowded].tolist() if owner in self.entries and self.entries[owner].sig})
        if not wanted:
            return
        sketch_of = dict(zip(wanted, (row.tobytes() for row in sketch_matrix(signature_matrix([self.entries[o].sig for o in wanted])[0]))))
        sketches_write(
            self.campaign,
            [
                (int(hit_keys[i]), owner, sketch_of[owner])
                for i, owner in zip(crowded, hit_owners[crowded].tolist())
                if owner in sketch_of and stored[i] != sketch_of[owner]
            ],
        )


def duplicates_lock(campaign: Campaign) -> None:
    """Serialise index maintenance of one campaign (call inside a transaction).

    Two writers that each add one half of a near-duplicate pair would otherwise not see the
    other's uncommitted post and both miss the pair. It is `campaign_lock`, the lock settlement
    takes first; inserting a post does not wait for it.
    """
    campaign_lock(campaign)


@transaction.atomic
def duplicates_refresh(*, campaign: Campaign, post_ids=(), reference_ids=(), marks: bool = False) -> set[int]:
    """Index posts whose text is new or changed and references just added, then recompute the
    duplicate link of every post that may have changed because of them.

    Those are: the changed posts themselves (earliest earlier match, from their candidates),
    posts that pointed at a changed post (the same, from theirs), and later candidates of a
    changed post or new reference, whose link becomes the changed text when that is an exact
    near-duplicate earlier than their current link (a post created earlier but ingested later
    flips its later copies): `near_duplicates.decision.relinks`. Work is O(changed texts), not
    O(campaign). Returns the ids of posts whose link changed, plus `post_ids`. Idempotent: with
    nothing changed, a second call writes nothing. An index without its complete mark (lost in a
    crash, or never built since migration 0009) is rebuilt first, and so are links made under
    another threshold (even with nothing changed: a settlement's call then relinks every post).
    With `marks`, the indexed posts' `index_stale` flags are left for the caller's judging to
    clear with their verdicts (`near_duplicates.db.marks_store`) instead of cleared here.
    """
    _signed_first(campaign)
    post_ids, reference_ids = set(post_ids), set(reference_ids)
    if _links_outdated(campaign):
        return duplicates_rebuild(campaign=campaign, marks=marks) | post_ids
    if not post_ids and not reference_ids:
        return set()
    if not index_complete(campaign):
        known = Post.objects.filter(campaign=campaign).exclude(id__in=post_ids).exists()
        if known or ReferenceText.objects.filter(campaign=campaign).exclude(id__in=reference_ids).exists():
            return duplicates_rebuild(campaign=campaign, marks=marks) | post_ids
    around = _Neighbourhood(campaign, Fraction(campaign.duplicate_threshold))
    around.load(owners_of(post_ids=post_ids, reference_ids=reference_ids))
    changed = [o for o in owners_of(post_ids=post_ids, reference_ids=reference_ids) if o in around.entries]
    # The texts as they are now, read with the signatures indexed below: only these are cleared.
    read_hashes = [(o, hash64(around.entries[o].content_hash)) for o in changed if o > 0]
    bands_insert(campaign, changed, band_key_matrix(signature_matrix([around.entries[o].sig for o in changed])[0]))
    if len(changed) >= ANALYZE_AFTER:
        analyze(DuplicateBand._meta.db_table)
    # By id alone (ids are unique, owners of a campaign's rows are its own posts): a filter on the
    # campaign tempts the planner into reading the whole campaign; order_by() drops a join + sort.
    pointing = set(Post.objects.filter(duplicate_of_id__in=post_ids).order_by().values_list("id", flat=True)) - post_ids
    relink = sorted(o for o in changed if o > 0) + sorted(pointing)
    candidates = around.candidates(changed + sorted(pointing))
    around.prefetch([o for o, found in candidates.items() if found] + [c for found in candidates.values() for c in found])
    new = relinks(
        relink=relink,
        changed=changed,
        candidates=candidates,
        order=around.order,
        link_order=around.link_order,
        near=around.near,
        linkable=lambda owner: owner > 0,
    )
    dirty = [(pk, *link_of(target)) for pk, target in new.items() if link_of(target) != around.entries[pk].link]
    links_save(dirty)
    index_caught_up(campaign, read_hashes, marks=marks)
    _links_made_under(campaign)
    return {pk for pk, _, _ in dirty} | post_ids


def _signed_first(campaign) -> None:
    """Sign what a bulk import stored unsigned before the index reads signatures: a post read
    without one would be taken for a text with no 5-grams, and its wait for the index cleared."""
    from campaign.services.text_signing import posts_sign  # here: text_signing needs judging, which imports this module

    posts_sign(campaign=campaign)


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
def duplicates_rebuild(*, campaign: Campaign, marks: bool = False) -> set[int]:
    """Recompute every duplicate link of the campaign from the stored signatures.

    For bulk imports, a lost index and threshold changes. Streams the signatures once (no text,
    no re-hash) and decides with `near_duplicates.earlier_matches` (exact Jaccard, texts fetched
    only for the pairs that need it). The band rows are rewritten in bulk when the index was
    lost or at least half of the posts are stale; otherwise only the stale posts' rows are
    added. Returns the ids of posts whose link changed. Idempotent: a second call changes nothing.
    `marks`: as `duplicates_refresh`'s.
    """
    _signed_first(campaign)
    corpus = CampaignCorpus(campaign)
    owners, stale = corpus.owners, corpus.stale
    match = earlier_matches(corpus.bands, corpus, threshold=Fraction(campaign.duplicate_threshold))
    rewrite = not index_complete(campaign) or 2 * int(stale.sum()) >= max(1, len(corpus.posts))
    crowded = CrowdedRows.of(corpus.bands) if rewrite or stale.any() else None
    # The low bytes (200 MB at 1,000,000 posts), then the keys, are let go as soon as they are used.
    keys, corpus.bands = corpus.bands.keys, None
    if rewrite:
        bands_rewrite(campaign, owners, keys, crowded)
    elif stale.any():
        bands_insert(campaign, owners[stale].tolist(), keys[stale])
        sketches_write(campaign, crowded.triples(owners, keys, within=stale))
    del keys, crowded
    target = np.where(match >= 0, owners[np.maximum(match, 0)], 0)
    new = np.stack([np.where(target > 0, target, -1), np.where(target < 0, -target, -1)], axis=1)
    differs = np.nonzero((new != corpus.links).any(axis=1) & (owners > 0))[0]
    dirty = [(int(owners[r]), *(None if v < 0 else int(v) for v in new[r])) for r in differs]
    links_save(dirty)
    indexed = np.nonzero(stale & (owners > 0))[0]
    index_caught_up(campaign, zip(owners[indexed].tolist(), corpus.hashes[indexed].tolist()), marks=marks)
    # After a bulk import nothing has analysed the posts yet: with no statistics on
    # duplicate_of_id, the refresh's "who points at these posts" became a sequential scan.
    analyze(Post._meta.db_table)
    _links_made_under(campaign)
    return {pk for pk, _, _ in dirty}
