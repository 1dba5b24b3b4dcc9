"""Posts: the one ingestion service every door uses (file, feed, webhook, admin), and its write.

RULES.md section 3. Re-ingesting a post updates its text, engagement and `deleted` (the newest
wins, even when engagement goes down); a re-ingest that changes `author_uid` or the `created_at`
instant is rejected whole and the stored post stays as it was.

Records are parsed at the doors (`campaign.services.post_records`); the verdicts are judged by
`campaign.services.judging`, and made current after a bulk write by `campaign.services.qualify`.
"""

import hashlib
from datetime import datetime
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from campaign.models import Campaign, EngagementSnapshot, Post
from campaign.near_duplicates import text_signatures
from campaign.page_cache import campaign_pages_changed
from campaign.qualification import text_facts
from campaign.services.duplicates import duplicates_lock, duplicates_refresh
from campaign.services.import_judging import judging_job_start, judging_job_wait
from campaign.services.judging import campaign_lexicon, posts_judge
from campaign.services.post_records import ENGAGEMENT, PostRow, post_parser, posts_line_limit
from campaign.services.signups import campaign_import_run_create
from core.database import rows_lookup, rows_upsert
from core.imports import ImportReport, run_import
from core.models import ImportRun
from core.reading import SourceRecord, jsonl_records
from traders.models import Trader
from traders.services import traders_ensure


def content_hash(text: str) -> str:
    """The digest a text is stored under: a re-ingest with the same text keeps the stored signature
    and facts, and the same reference text is stored once."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _identity_change(post_id, stored_uid, stored_created, row: PostRow) -> str | None:
    """Why a record of a stored post is refused, when it changes the post's `author_uid` or its
    `created_at` instant (RULES.md section 3); None when it keeps both."""
    if stored_uid != row.author_uid:
        return f"post {post_id}: re-ingest changes author_uid from {stored_uid} to {row.author_uid}; the stored post is kept"
    if stored_created != row.created_at:
        return (
            f"post {post_id}: re-ingest changes created_at from {stored_created.isoformat()} to "
            f"{row.created_at.isoformat()}; the stored post is kept"
        )
    return None


def _stored_posts_lock(campaign: Campaign, rows: dict[str, tuple[PostRow, datetime]]) -> set[str]:
    """Lock the stored posts this write touches, keep their engagement history, and return the
    post_ids whose stored version was received after this write's record (RULES.md section 3:
    newest by receipt): those records change nothing, not even the history.

    Nothing is written for a post whose figures are unchanged, so re-ingesting is idempotent and a
    first import writes no history at all. On a change, the history gets the figures as stored,
    observed at the post's `last_seen_at` (unless it already ends with that observation), then the
    new figures observed when the record was received (`rows` holds (row, seen) by post_id): an
    interval between two rows is thus never longer than the time in which the figures really
    moved, even after unchanged re-ingests. One bulk insert per chunk.
    """
    if not rows:
        return set()
    # Locked in primary-key order before reading: concurrent writes of one post (deferred webhook
    # deliveries take no campaign lock) then record its changes one after the other, and the
    # receipt instant read here is the one the upsert below compares with.
    stored = (
        Post.objects.select_for_update()
        .filter(campaign=campaign, post_id__in=list(rows))
        .order_by("pk")
        .values_list("pk", "post_id", *ENGAGEMENT, "last_seen_at")
    )
    changed, superseded = {}, set()
    for pk, post_id, *figures, seen in stored:
        row, now = rows[post_id]
        if now < seen:
            superseded.add(post_id)
            continue
        new = [getattr(row, name) for name in ENGAGEMENT]
        if figures != new:
            changed[pk] = (seen, figures, new, now)
    if not changed:
        return superseded
    history_end = dict(
        EngagementSnapshot.objects.filter(post_id__in=list(changed)).values("post").annotate(end=Max("observed_at")).values_list("post", "end")
    )
    snapshots = []
    for pk, (seen, figures, new, now) in changed.items():
        end = history_end.get(pk)
        if end is None or end < seen:
            snapshots.append(EngagementSnapshot(post_id=pk, observed_at=seen, **dict(zip(ENGAGEMENT, figures))))
        snapshots.append(EngagementSnapshot(post_id=pk, observed_at=now, **dict(zip(ENGAGEMENT, new))))
    EngagementSnapshot.objects.bulk_create(snapshots)
    return superseded


UPSERT_FIELDS = (
    "text", *ENGAGEMENT, "deleted", "content_hash", "signature", "text_length", "trading_term", "lexicon_key", "index_stale", "judged_at", "last_seen_at",
)  # fmt: skip
# What a verdict and score are judged on that a re-ingest may change (the text through its hash).
JUDGED_ON = (*ENGAGEMENT, "deleted", "content_hash")


# Kept as stored while the text is the same: what the write computes only for a new text.
SIGNED = ("signature", "text_length", "trading_term", "lexicon_key")


def _posts_upsert_assign() -> dict[str, str]:
    """How the upsert updates a stored post (t) from a record (excluded), column by column.

    Newest by receipt (RULES.md section 3): a record received before the stored version changes
    nothing. `_posts_write` leaves such records out already, under the rows' lock; this guard is
    for a post another writer inserted after that read. The signature and text facts change only
    with the text (the write computes them only for new texts).
    """
    qn = connection.ops.quote_name
    col = {name: qn(Post._meta.get_field(name).column) for name in (*UPSERT_FIELDS, "author", "created_at")}
    newer = f"excluded.{col['last_seen_at']} >= t.{col['last_seen_at']}"
    assign = {
        Post._meta.get_field(name).column: f"CASE WHEN {newer} THEN excluded.{col[name]} ELSE t.{col[name]} END"
        for name in UPSERT_FIELDS
        if name not in ("index_stale", "judged_at", *SIGNED)
    }
    for name in SIGNED:
        assign[Post._meta.get_field(name).column] = (
            f"CASE WHEN {newer} AND t.{col['content_hash']} <> excluded.{col['content_hash']} THEN excluded.{col[name]} ELSE t.{col[name]} END"
        )
    old, new = (", ".join(f"{side}.{col[name]}" for name in JUDGED_ON) for side in ("t", "excluded"))
    # A text stored meanwhile by another writer, or a post still waiting for the index, keeps it waiting.
    assign["index_stale"] = f"t.{col['index_stale']} OR ({newer} AND (excluded.{col['index_stale']} OR t.{col['content_hash']} <> excluded.{col['content_hash']}))"
    # The verdict stays confirmed only if nothing it is judged on differs from the row as it is
    # now (a writer that takes no lock may have changed it since this chunk read it).
    assign["judged_at"] = f"CASE WHEN NOT ({newer}) OR ({old}) IS NOT DISTINCT FROM ({new}) THEN t.{col['judged_at']} END"
    return assign


# The columns of a post the write gives (`_posts_build`), in this order; the others take their defaults.
WRITTEN = ("campaign", "post_id", "author", "created_at", "text", *ENGAGEMENT, "deleted", "content_hash", *SIGNED, "index_stale", "judged_at", "first_seen_at", "last_seen_at")


def _posts_upsert(posts: list[tuple]) -> dict[str, int]:
    """Insert new posts and update the ingest fields (`UPSERT_FIELDS`) of stored ones, newest by
    receipt (`_posts_upsert_assign`); returns {post_id: id} of the posts written. `posts` holds
    each post_id once, as tuples of the `WRITTEN` fields.

    A post another writer stored meanwhile under another author or instant is left as it is
    (RULES.md section 3): its post_id is not in the result, and its record comes back refused.
    """
    rows = rows_upsert(
        model=Post,
        columns=WRITTEN,
        rows=posts,
        conflict=("campaign_id", "post_id"),
        assign=_posts_upsert_assign(),
        where="t.author_id = excluded.author_id AND t.created_at = excluded.created_at",
        returning=("post_id", "id"),
    )
    return dict(rows)


class StoredPost(NamedTuple):
    """What `_posts_write` reads of a stored post before writing a record of it."""

    author_uid: int
    created_at: datetime
    content_hash: str
    likes: int
    comments: int
    shares: int
    views: int
    deleted: bool
    judged_at: datetime | None

    @classmethod
    def read(cls, campaign: Campaign, post_ids) -> dict[str, "StoredPost"]:
        # Probed by key (`rows_lookup`): a chunk of a new file finds nothing, at one index probe a post.
        columns = ["author", *(name for name in cls._fields if name != "author_uid")]
        rows = rows_lookup(model=Post, fields=("post_id", *columns), filters={"campaign_id": campaign.pk}, key="post_id", keys=post_ids)
        if not rows:
            return {}
        uids = dict(rows_lookup(model=Trader, fields=("id", "uid"), filters={}, key="id", keys={row[1] for row in rows}))
        return {post_id: cls(uids[author], *rest) for post_id, author, *rest in rows}


def _judged_at_kept(stored: StoredPost | None, row: PostRow, digest: str):
    """The stored `judged_at` when the record changes nothing the verdict is judged on, else None
    (a new post, or one to judge again). `stored` is the row `_posts_write` read, or None."""
    if stored is None:
        return None
    unchanged = (
        stored.content_hash == digest
        and all(getattr(stored, name) == getattr(row, name) for name in ENGAGEMENT)
        and stored.deleted == row.deleted
    )
    return stored.judged_at if unchanged else None


def _records_latest(chunk: list[tuple[SourceRecord, PostRow]], stored: dict[str, StoredPost], *, received_at: datetime, now: datetime):
    """The chunk's newest valid record of each post by receipt, {post_id: (record, row)}, with
    {post_id: the instant it was received}, and the records refused for changing a post's
    identity, with their reasons (RULES.md section 3)."""
    # A post's identity is (author, created_at) as stored, or as first accepted in this chunk;
    # every later record is checked against it in file order, so the newest valid one wins.
    identity = {post_id: (post.author_uid, post.created_at) for post_id, post in stored.items()}
    rejected, latest, seen_at = [], {}, {}
    for record, row in chunk:
        if row.post_id in identity:
            reason = _identity_change(row.post_id, *identity[row.post_id], row)
            if reason:
                rejected.append((record, reason))
                continue
        identity.setdefault(row.post_id, (row.author_uid, row.created_at))
        seen = min(record.seen_at or received_at, now)
        if row.post_id not in latest or seen >= seen_at[row.post_id]:
            latest[row.post_id] = (record, row)
            seen_at[row.post_id] = seen
    return rejected, latest, seen_at


def _posts_build(
    campaign: Campaign, latest: dict, seen_at: dict[str, datetime], stored: dict[str, StoredPost], *, queued: bool = False
) -> tuple[list[tuple], set[str]]:
    """The posts to upsert from the newest record of each post (tuples of the `WRITTEN` fields),
    and the post_ids whose text changed.

    A new or changed text is signed here and its facts computed, unless `queued` (a bulk import:
    its judging signs them, `campaign.services.text_signing`); an unchanged text keeps its stored
    signature and facts (the upsert keeps them, `SIGNED`).
    """
    author_ids = traders_ensure({row.author_uid for _, row in latest.values()})
    digests = {post_id: content_hash(row.text) for post_id, (_, row) in latest.items()}
    text_changed = {post_id for post_id, digest in digests.items() if post_id not in stored or stored[post_id].content_hash != digest}
    unsigned = (b"", None, None, "")
    signed = {}
    if not queued and text_changed:
        lexicon = campaign_lexicon(campaign)
        changed = sorted(text_changed)
        # The new texts are signed together, one batch for the chunk (the same bytes as one by one).
        texts = [latest[post_id][1].text for post_id in changed]
        signed = {post_id: (signature, *text_facts(text, lexicon)) for post_id, text, signature in zip(changed, texts, text_signatures(texts))}
    posts = []
    for post_id, (_, row) in latest.items():
        digest, seen = digests[post_id], seen_at[post_id]
        posts.append(
            (
                campaign.pk, post_id, author_ids[row.author_uid], row.created_at, row.text, row.likes, row.comments, row.shares, row.views,
                row.deleted, digest, *signed.get(post_id, unsigned),
                # A new text waits for the index (a stored post still waiting keeps waiting: the upsert ORs it).
                post_id in text_changed,
                # Kept only while nothing it was judged on changes (the upsert decides that again at
                # the write itself, against the row as it is then: see `_posts_upsert_assign`).
                _judged_at_kept(stored.get(post_id), row, digest),
                seen, seen,
            )
        )  # fmt: skip
    return posts, text_changed


def _posts_write(
    campaign: Campaign, chunk: list[tuple[SourceRecord, PostRow]], deferred: set | None = None, *, received_at: datetime | None = None, queued: bool = False
):
    """Write a chunk of valid post records; returns the records refused with their reasons.

    Each record is dated by when it was received (RULES.md section 3): its own `seen_at` (a
    webhook delivery's receipt, a feed page's fetch), else `received_at` (a file's or an API
    batch's upload: the import run's start), never later than now. A record received before the
    stored version of its post changes nothing; of several records of one post in a chunk, the
    one received last wins, and the later one in the input on a tie.

    Judged now (the chunk's posts and the neighbours they change), or later: `deferred` collects
    the ids of the posts written for the caller to judge; `queued` (a bulk import) stores the posts
    without signatures for the judging the import queues (`campaign.services.import_judging`).
    """
    if deferred is None and not queued:
        duplicates_lock(campaign)  # judged now: the index must see every committed neighbour
    now = timezone.now()
    received_at = min(received_at or now, now)
    stored = StoredPost.read(campaign, {row.post_id for _, row in chunk})
    rejected, latest, seen_at = _records_latest(chunk, stored, received_at=received_at, now=now)
    for post_id in _stored_posts_lock(campaign, {p: (row, seen_at[p]) for p, (_, row) in latest.items() if p in stored}):
        del latest[post_id]  # the stored version was received later: this record changes nothing
    if not latest:
        return rejected
    posts, text_changed = _posts_build(campaign, latest, seen_at, stored, queued=queued)
    ids = _posts_upsert(posts)
    for post_id in [p for p in latest if p not in ids]:  # stored meanwhile under another identity
        record, _ = latest.pop(post_id)
        rejected.append((record, f"post {post_id}: stored meanwhile with another author_uid or created_at; the stored post is kept"))
        text_changed.discard(post_id)
    if queued:
        return rejected
    if deferred is not None:
        deferred.update(ids.values())  # judged once the caller's transaction commits (posts_judge_pending)
        return rejected
    affected = duplicates_refresh(campaign=campaign, post_ids={ids[p] for p in text_changed})
    posts_judge(campaign=campaign, post_ids=set(ids.values()) | affected)
    return rejected


BULK_CHUNK, BULK_CHUNK_BYTES = 10_000, 24 * 1024 * 1024


def posts_ingest(
    *,
    campaign: Campaign,
    records,
    source=ImportRun.Source.COMMAND,
    filename="",
    created_by="",
    progress=None,
    bulk=False,
    judge_later=False,
    run=None,
    wait=True,
    judging_progress=None,
) -> ImportReport:
    """Validate and upsert posts, then bring the duplicate index and the verdicts up to date.

    Idempotent: the natural key is (campaign, post_id), and an unchanged text keeps its stored
    signature and band keys. Every refused record is kept with its reason. A post whose text
    changed, or that arrived late but was created earlier, re-judges its near-duplicate
    neighbours, so "earliest wins" holds whatever the ingestion order.

    Small batches (feed pages, the API) are judged chunk by chunk. With `bulk` (files) the import
    is two steps: the write stores the posts without signing them (COPY into a staging table and
    one upsert a chunk; once it commits the import is acknowledged) and queues their judging, a
    `JudgingJob` whose chunks Celery workers share (`campaign.services.import_judging`); with
    `wait` (the default) this call then takes chunks too and returns when every verdict is in,
    telling `judging_progress(stage, done, total)` how far it got. The job is the report's
    `followup`. A crash in between leaves the posts unsigned and `index_stale`, and the next
    qualification (the five-minute beat, every settlement) finishes the work.

    With `judge_later` (the webhook) the posts are only written: no campaign lock is taken, so
    deliveries commit side by side, and once the caller's transaction commits a task judges them
    (`posts_judge_pending`). Until then a new post shows as not judged yet.

    A text longer than the campaign's maximum is refused (`post_parser`). `run`: an unfinished
    import run to continue (`run_import`).
    """
    deferred: set[int] | None = set() if judge_later else None
    report = run_import(
        kind=ImportRun.Kind.POSTS,
        records=records,
        parse=post_parser(campaign),
        write=lambda chunk, run: _posts_write(campaign, chunk, deferred, received_at=run.started_at, queued=bulk),
        source=source,
        filename=filename,
        created_by=created_by,
        progress=progress,
        run=run or campaign_import_run_create(campaign=campaign, kind=ImportRun.Kind.POSTS, source=source, filename=filename, created_by=created_by),
        parse_ahead=bulk,  # a file: `post_parse` reads nothing but the record
        # A file's chunks are larger: a chunk's statements and commit cost the same for 2,000 or
        # 10,000 posts (500 chunks a million posts instead of 100).
        **({"chunk_size": BULK_CHUNK, "chunk_bytes": BULK_CHUNK_BYTES} if bulk else {}),
    )
    if deferred and judge_later:
        from campaign.tasks import posts_judge_pending_task

        campaign_id, post_ids = campaign.pk, sorted(deferred)
        transaction.on_commit(lambda: posts_judge_pending_task.delay(campaign_id, post_ids))
    campaign_pages_changed(campaign_id=campaign.pk)  # new posts and engagement show on the pages
    if bulk and report.run.accepted:
        report.followup = judging_job_start(campaign=campaign, run=report.run)
        if wait:
            report.followup = judging_job_wait(job=report.followup, progress=judging_progress)
    return report


def posts_import_file(*, campaign: Campaign, data, run=None, **kwargs) -> ImportReport:
    """Posts from a JSON Lines file (RULES.md section 9); lines count from 1. Judged in bulk, in
    chunks shared with the workers (`posts_ingest` with `bulk`).

    `data`: bytes or a binary file object, streamed line by line; a line over
    `posts_line_limit(campaign)` bytes is read past and rejected. `run`: an unfinished run to
    continue from its last committed line; the posts an earlier attempt wrote but did not judge
    are judged with this attempt's (the job judges every post left unsigned or unjudged).
    """
    return posts_ingest(campaign=campaign, records=jsonl_records(data, limit=posts_line_limit(campaign)), bulk=True, run=run, **kwargs)
