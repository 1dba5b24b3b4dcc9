"""Posts: the one ingestion service every door uses (file, feed, webhook, admin), and judging.

RULES.md section 3. Re-ingesting a post updates its text, engagement and `deleted` (the newest
wins, even when engagement goes down); a re-ingest that changes `author_uid` or the `created_at`
instant is rejected whole and the stored post stays as it was.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Callable, NamedTuple

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from campaign.models import MAX_TEXT_LENGTH, Campaign, EngagementSnapshot, JudgingState, Post, ReferenceText, Signup
from campaign.near_duplicates import text_signature
from campaign.page_cache import campaign_pages_changed
from campaign.qualification import Lexicon, PostFacts, judge, lexicon_key, post_score, text_facts
from campaign.selectors import enrolment_map
from campaign.services.duplicates import duplicates_lock, duplicates_rebuild, duplicates_refresh
from campaign.services.signups import campaign_import_run_create
from core.database import analyze, rows_batches, rows_update, rows_upsert
from core.imports import ImportReport, run_import
from core.models import ImportRun
from core.parsing import MAX_UID, parse_bool, parse_count, parse_instant, parse_uid, shown
from core.reading import SourceRecord, decoded_lines, jsonl_records, line_limit
from traders.models import LeadTraderRegistration
from traders.services import traders_ensure

POST_FIELDS = ("post_id", "author_uid", "created_at", "text", "likes", "comments", "shares", "views", "deleted")
ENGAGEMENT = ("likes", "comments", "shares", "views")
JUDGE_BATCH = 5000
ANALYZE_AFTER = 50_000  # verdicts changed by one judging, from which the posts' statistics are refreshed


@dataclass(frozen=True)
class PostRow:
    post_id: str
    author_uid: int
    created_at: datetime
    text: str
    likes: int
    comments: int
    shares: int
    views: int
    deleted: bool


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def post_parse(data: dict, *, max_text_length: int = MAX_TEXT_LENGTH) -> PostRow:
    """A post record as a PostRow, or ValueError with the reason (RULES.md sections 3 and 9).

    Every field is bounded by its column, and the text by the campaign's maximum: the doors pass
    it with `post_parser(campaign)`; the default is the rulebook's 50,000 characters.
    """
    missing = [name for name in POST_FIELDS if name not in data]
    if missing:
        raise ValueError(f"missing field(s): {', '.join(missing)}")
    post_id = data["post_id"]
    if not isinstance(post_id, str) or not post_id.strip():
        raise ValueError(f"post_id must be a non-empty string, got {shown(post_id)}")
    if len(post_id) > 128:
        raise ValueError(f"post_id is {len(post_id):,} characters; the column holds at most 128")
    text = data["text"]
    if not isinstance(text, str):
        raise ValueError("text must be a string")
    if len(text) > max_text_length:
        raise ValueError(f"text is {len(text):,} characters; the campaign's maximum is {max_text_length:,}")
    return PostRow(
        post_id=post_id,
        author_uid=parse_uid(data["author_uid"], "author_uid"),
        created_at=parse_instant(data["created_at"], "created_at"),
        text=text,
        likes=parse_count(data["likes"], "likes"),
        comments=parse_count(data["comments"], "comments"),
        shares=parse_count(data["shares"], "shares"),
        views=parse_count(data["views"], "views", maximum=MAX_UID),
        deleted=parse_bool(data["deleted"], "deleted"),
    )


def post_parser(campaign: Campaign) -> Callable[[dict], PostRow]:
    """`post_parse` with the campaign's maximum text length: what every door parses posts with."""
    return partial(post_parse, max_text_length=campaign.max_text_length)


# A JSON Lines posts line may hold the campaign's maximum text however it is written: a
# character takes at most 12 bytes in JSON ("\ud83d\ude00", a character outside the Basic
# Multilingual Plane escaped as two UTF-16 halves; 6 for any other escaped one, at most 4 raw).
# The other fields get IMPORT_MAX_LINE_BYTES on top. Longer lines are read past and rejected.
JSON_BYTES_PER_CHARACTER = 12


def posts_line_limit(campaign: Campaign) -> int:
    """The byte limit of one line of a posts file: 12 * max_text_length + IMPORT_MAX_LINE_BYTES
    (1,648,576 bytes with the defaults)."""
    return JSON_BYTES_PER_CHARACTER * campaign.max_text_length + line_limit()


def _identity_change(post_id, stored_uid, stored_created, row: PostRow) -> str | None:
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


def _posts_upsert_assign() -> dict[str, str]:
    """How the upsert updates a stored post (t) from a record (excluded), column by column.

    Newest by receipt (RULES.md section 3): a record received before the stored version changes
    nothing. `_posts_write` leaves such records out already, under the rows' lock; this guard is
    for a post another writer inserted after that read.
    """
    qn = connection.ops.quote_name
    col = {name: qn(Post._meta.get_field(name).column) for name in (*UPSERT_FIELDS, "author", "created_at")}
    newer = f"excluded.{col['last_seen_at']} >= t.{col['last_seen_at']}"
    assign = {
        Post._meta.get_field(name).column: f"CASE WHEN {newer} THEN excluded.{col[name]} ELSE t.{col[name]} END"
        for name in UPSERT_FIELDS
        if name not in ("index_stale", "judged_at")
    }
    old, new = (", ".join(f"{side}.{col[name]}" for name in JUDGED_ON) for side in ("t", "excluded"))
    # A text stored meanwhile by another writer, or a post still waiting for the index, keeps it waiting.
    assign["index_stale"] = f"t.{col['index_stale']} OR ({newer} AND (excluded.{col['index_stale']} OR t.{col['content_hash']} <> excluded.{col['content_hash']}))"
    # The verdict stays confirmed only if nothing it is judged on differs from the row as it is
    # now (a writer that takes no lock may have changed it since this chunk read it).
    assign["judged_at"] = f"CASE WHEN NOT ({newer}) OR ({old}) IS NOT DISTINCT FROM ({new}) THEN t.{col['judged_at']} END"
    return assign


def _posts_upsert(campaign: Campaign, posts: list[Post]) -> dict[str, int]:
    """Insert new posts and update the ingest fields (`UPSERT_FIELDS`) of stored ones, newest by
    receipt (`_posts_upsert_assign`); returns {post_id: id} of the posts written. `posts` holds
    each post_id once.

    A post another writer stored meanwhile under another author or instant is left as it is
    (RULES.md section 3): its post_id is not in the result, and its record comes back refused.
    """
    rows = rows_upsert(
        model=Post,
        objs=posts,
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
    signature: bytes
    index_stale: bool
    text_length: int
    trading_term: bool
    lexicon_key: str
    likes: int
    comments: int
    shares: int
    views: int
    deleted: bool
    judged_at: datetime | None

    @classmethod
    def read(cls, campaign: Campaign, post_ids) -> dict[str, "StoredPost"]:
        columns = ["author__uid", *(name for name in cls._fields if name != "author_uid")]
        rows = Post.objects.filter(campaign=campaign, post_id__in=post_ids).values_list("post_id", *columns)
        return {post_id: cls(*rest) for post_id, *rest in rows}


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


def _posts_write(campaign: Campaign, chunk: list[tuple[SourceRecord, PostRow]], deferred: set | None = None, *, received_at: datetime | None = None):
    """Write a chunk of valid post records; returns the records refused with their reasons.

    Each record is dated by when it was received (RULES.md section 3): its own `seen_at` (a
    webhook delivery's receipt, a feed page's fetch), else `received_at` (a file's or an API
    batch's upload: the import run's start), never later than now. A record received before the
    stored version of its post changes nothing; of several records of one post in a chunk, the
    one received last wins, and the later one in the input on a tie.
    """
    if deferred is None:
        duplicates_lock(campaign)  # judged now: the index must see every committed neighbour
    now = timezone.now()
    received_at = min(received_at or now, now)
    stored = StoredPost.read(campaign, {row.post_id for _, row in chunk})
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
    for post_id in _stored_posts_lock(campaign, {p: (row, seen_at[p]) for p, (_, row) in latest.items() if p in stored}):
        del latest[post_id]  # the stored version was received later: this record changes nothing
    if not latest:
        return rejected
    author_ids = traders_ensure({row.author_uid for _, row in latest.values()})
    lexicon = campaign_lexicon(campaign)
    posts, text_changed = [], set()
    for post_id, (_, row) in latest.items():
        digest = content_hash(row.text)
        if post_id in stored and stored[post_id].content_hash == digest:
            signature = bytes(stored[post_id].signature)
            facts = (stored[post_id].text_length, stored[post_id].trading_term, stored[post_id].lexicon_key)
        else:
            signature = text_signature(row.text)
            facts = text_facts(row.text, lexicon)
            text_changed.add(post_id)
        posts.append(
            Post(
                campaign=campaign,
                post_id=post_id,
                author_id=author_ids[row.author_uid],
                created_at=row.created_at,
                text=row.text,
                **{name: getattr(row, name) for name in ENGAGEMENT},
                deleted=row.deleted,
                content_hash=digest,
                signature=signature,
                text_length=facts[0],
                trading_term=facts[1],
                lexicon_key=facts[2],
                # A post still waiting for the index keeps waiting, whatever this record says.
                index_stale=post_id in text_changed or post_id not in stored or stored[post_id].index_stale,
                # Kept only while nothing it was judged on changes (the upsert decides that again
                # at the write itself, against the row as it is then: see `_posts_upsert_assign`).
                judged_at=_judged_at_kept(stored.get(post_id), row, digest),
                first_seen_at=seen_at[post_id],
                last_seen_at=seen_at[post_id],
            )
        )
    ids = _posts_upsert(campaign, posts)
    for post_id in [p for p in latest if p not in ids]:  # stored meanwhile under another identity
        record, _ = latest.pop(post_id)
        rejected.append((record, f"post {post_id}: stored meanwhile with another author_uid or created_at; the stored post is kept"))
        text_changed.discard(post_id)
    if deferred is not None:
        deferred.update(ids.values())  # judged once at the end of the import (posts_qualify)
        return rejected
    affected = duplicates_refresh(campaign=campaign, post_ids={ids[p] for p in text_changed})
    posts_judge(campaign=campaign, post_ids=set(ids.values()) | affected)
    return rejected


def posts_ingest(
    *, campaign: Campaign, records, source=ImportRun.Source.COMMAND, filename="", created_by="", progress=None, bulk=False, judge_later=False, run=None
) -> ImportReport:
    """Validate and upsert posts, then bring the duplicate index and the verdicts up to date.

    Idempotent: the natural key is (campaign, post_id), and an unchanged text keeps its stored
    signature and band keys. Every refused record is kept with its reason. A post whose text
    changed, or that arrived late but was created earlier, re-judges its near-duplicate
    neighbours, so "earliest wins" holds whatever the ingestion order.

    Small batches (feed pages, the API) are judged chunk by chunk. With `bulk` (files), the posts
    are written first and judged once at the end by `posts_qualify`, which rebuilds the index in
    memory when most of the campaign changed; a crash in between leaves `index_stale` set, and
    the next qualification (every settlement runs one) finishes the job.

    With `judge_later` (the webhook) the posts are only written: no campaign lock is taken, so
    deliveries commit side by side, and once the caller's transaction commits a task judges them
    (`posts_judge_pending`). Until then a new post shows as not judged yet.

    A text longer than the campaign's maximum is refused (`post_parser`). `run`: an unfinished
    import run to continue (`run_import`).
    """
    deferred: set[int] | None = set() if (bulk or judge_later) else None
    report = run_import(
        kind=ImportRun.Kind.POSTS,
        records=records,
        parse=post_parser(campaign),
        write=lambda chunk, run: _posts_write(campaign, chunk, deferred, received_at=run.started_at),
        source=source,
        filename=filename,
        created_by=created_by,
        progress=progress,
        run=run or campaign_import_run_create(campaign=campaign, kind=ImportRun.Kind.POSTS, source=source, filename=filename, created_by=created_by),
    )
    if deferred and judge_later:
        from campaign.tasks import posts_judge_pending_task

        campaign_id, post_ids = campaign.pk, sorted(deferred)
        transaction.on_commit(lambda: posts_judge_pending_task.delay(campaign_id, post_ids))
    elif deferred:
        posts_qualify(campaign=campaign, post_ids=deferred)
    campaign_pages_changed(campaign_id=campaign.pk)  # new posts and engagement show on the pages
    return report


def posts_judge_pending(*, campaign: Campaign, post_ids=()) -> int:
    """Judge what deferred writes left behind: every post of the campaign not judged since it
    arrived or changed (`judged_at` empty), and `post_ids`, with the duplicate index caught up
    first. Returns how many verdicts changed.

    Coalescing: the first run after a burst of deliveries judges every new post of the burst, and
    the runs queued behind it find little left. Safe to run twice or at once (it takes the
    campaign lock, and judging is idempotent); a run that never happens is made up by the next
    one, and by every settlement, which judges every post not judged since it changed.
    """
    with transaction.atomic():
        duplicates_lock(campaign)
        pending = _unjudged(campaign)
        post_ids = list(post_ids)
        existing = set()
        for lo in range(0, len(post_ids), JUDGE_BATCH):  # SQLite caps the parameters of a query
            existing.update(Post.objects.filter(campaign=campaign, id__in=post_ids[lo : lo + JUDGE_BATCH]).values_list("id", flat=True))
        if not pending and not existing and not Post.objects.filter(campaign=campaign, index_stale=True).exists():
            return 0
        return posts_qualify(campaign=campaign, post_ids=pending | existing)


REBUILD_AT = 2000


def posts_qualify(*, campaign: Campaign, post_ids=None, full: bool = False) -> int:
    """Catch the duplicate index up with every post whose text changed, then judge `post_ids`
    and whatever the index changed. Returns how many verdicts changed.

    With `post_ids` None (settlement, the what-if apply) every verdict of the campaign is made
    current: when the campaign's rules, its enrolment data and its reference texts are the
    ones the last such run judged against (`JudgingState`), only the posts not judged since
    they changed are judged; otherwise, or with `full`, every post is, and the state recorded.

    Many stale posts (a bulk import, a threshold change) rebuild the index from scratch in
    memory, which is much faster than looking each one up; a few are refreshed incrementally.
    """
    with transaction.atomic():
        duplicates_lock(campaign)
        stale = set(Post.objects.filter(campaign=campaign, index_stale=True).values_list("id", flat=True))
        if len(stale) >= REBUILD_AT:
            affected = duplicates_rebuild(campaign=campaign)
        else:
            affected = duplicates_refresh(campaign=campaign, post_ids=stale)
        if post_ids is not None:
            return posts_judge(campaign=campaign, post_ids=set(post_ids) | affected | stale)
        inputs = judging_inputs_digest(campaign)
        state = JudgingState.objects.filter(campaign=campaign).first()
        now = _judging_now(state)
        if not full and state is not None and state.inputs == inputs:
            # Inputs equal to the last whole judging's do not mean every verdict was judged under
            # them: an older registrations file imported by mistake and then corrected moves the
            # digest away and back, and the posts judged in between (a re-delivery, moderation)
            # were judged under the wrong inputs. Those posts were judged after the state's
            # instant, so they are judged again with the unjudged ones; then every verdict is
            # current for these inputs, and the state's instant moves up to this judging.
            again = _unjudged(campaign) | _judged_since(campaign, state.judged_at)
            changed = posts_judge(campaign=campaign, post_ids=again | affected | stale, now=now)
        else:
            changed = posts_judge(campaign=campaign, now=now)
        JudgingState.objects.update_or_create(campaign=campaign, defaults={"inputs": inputs, "judged_at": now})
        return changed


# Part of the digest: a release that changes how posts are judged bumps it, and every campaign
# is judged whole once more at its next settlement.
JUDGING_RULES_VERSION = 1


def judging_inputs_digest(campaign: Campaign) -> str:
    """A digest of what every verdict of the campaign depends on besides the post itself.

    The campaign's configuration (every rule field), the enrolment data exactly as
    `enrolment_map` reads it, and the campaign's reference texts. Read in full each time, so a
    change by any path (an import, the admin, a bulk update that sends no signal) moves it; about
    two rows per trader, cheap beside judging a million posts.
    """
    digest = hashlib.sha256()

    def feed(rows):
        for row in rows:
            digest.update(repr(tuple(row)).encode())
        digest.update(b"|")

    feed([(JUDGING_RULES_VERSION,), *sorted(campaign.rules_config().items())])
    feed(LeadTraderRegistration.objects.order_by("trader__uid").values_list("trader__uid", "status", "market").iterator(chunk_size=10000))
    feed(Signup.objects.filter(campaign=campaign).order_by("trader__uid", "submitted_at", "pk").values_list("trader__uid", "submitted_at").iterator(chunk_size=10000))
    feed(ReferenceText.objects.filter(campaign=campaign).order_by("pk").values_list("pk", "content_hash").iterator(chunk_size=10000))
    return digest.hexdigest()


def judging_state_forget(*, campaign_id: int) -> None:
    """Make the next settlement judge every post of the campaign (a post or reference deleted:
    the links that pointed at it were cleared without judging the posts that had them)."""
    JudgingState.objects.filter(campaign_id=campaign_id).delete()


def _unjudged(campaign: Campaign) -> set[int]:
    """Posts not judged since they arrived or last changed (the partial index `post_unjudged`)."""
    return set(Post.objects.filter(campaign=campaign, judged_at__isnull=True).values_list("id", flat=True))


def _judged_since(campaign: Campaign, instant: datetime) -> set[int]:
    """Posts whose verdict or score some judging changed after `instant` (it stamps only those)."""
    return set(Post.objects.filter(campaign=campaign, judged_at__gt=instant).values_list("id", flat=True))


def _judging_now(state: JudgingState | None) -> datetime:
    """The instant a judging stamps: now, but always after the last whole judging's instant, so a
    clock behind another worker's can never hide a verdict from `_judged_since`."""
    now = timezone.now()
    return now if state is None or now > state.judged_at else state.judged_at + timedelta(microseconds=1)


def posts_import_file(*, campaign: Campaign, data, run=None, **kwargs) -> ImportReport:
    """Posts from a JSON Lines file (RULES.md section 9); lines count from 1. Judged in bulk.

    `data`: bytes or a binary file object, streamed line by line; a line over
    `posts_line_limit(campaign)` bytes is read past and rejected. `run`: an unfinished run to
    continue from its last committed line; the posts an earlier attempt wrote but did not judge
    are judged at the end with this attempt's.
    """
    resumed = run is not None and run.last_line > 0
    report = posts_ingest(campaign=campaign, records=jsonl_records(data, limit=posts_line_limit(campaign)), bulk=True, run=run, **kwargs)
    if resumed:
        posts_judge_pending(campaign=campaign)
    return report


def campaign_lexicon(campaign: Campaign) -> Lexicon:
    return Lexicon(latin_terms=tuple(campaign.latin_terms), cjk_terms=tuple(campaign.cjk_terms))


def _stored_facts(post: "Post | JudgeRow", lexicon: Lexicon) -> tuple[int, bool] | None:
    """The post's stored checks 4 and 5, when they were computed under this lexicon."""
    if post.text_length is None or post.trading_term is None or post.lexicon_key != lexicon_key(lexicon):
        return None
    return post.text_length, post.trading_term


def post_reason(campaign: Campaign, post: "Post | JudgeRow", *, enrolled: bool, lexicon: Lexicon, ignore_moderation: bool = False) -> str | None:
    """The first failing check of RULES.md section 3 for a stored post, or None when it qualifies.

    With `ignore_moderation` the post is judged as if unmoderated: what an approval may override
    is decided on that. Checks 4 and 5 come from the facts stored at ingest when they were
    computed under `lexicon`; otherwise from the text.
    """
    stored = _stored_facts(post, lexicon)
    facts = PostFacts(
        in_window=campaign.in_window(post.created_at),
        enrolled=enrolled,
        deleted=post.deleted,
        text="" if stored else post.text,
        is_duplicate=post.duplicate_of_id is not None or post.duplicate_of_reference_id is not None,
        moderation=None if ignore_moderation else (post.moderation or None),
        length=stored[0] if stored else None,
        trading=stored[1] if stored else None,
    )
    return judge(facts, min_length=campaign.min_length, lexicon=lexicon)


def post_judgement(campaign: Campaign, post: "Post | JudgeRow", *, enrolled: bool, lexicon: Lexicon) -> tuple[str, int]:
    """(verdict, score) of a stored post under `campaign`'s rules: what `posts_judge` stores and
    what the what-if preview computes under an unsaved configuration."""
    verdict = post_reason(campaign, post, enrolled=enrolled, lexicon=lexicon) or Post.Verdict.QUALIFIED.value
    return verdict, post_score(**{name: getattr(post, name) for name in ENGAGEMENT}, cap=campaign.score_cap)


@dataclass(slots=True)
class JudgeRow:
    """What judging reads of a stored post (no text unless its stored facts are stale): plain
    values, several times cheaper to load than model instances over a million posts."""

    pk: int
    author_uid: int
    created_at: datetime
    deleted: bool
    moderation: str
    duplicate_of_id: int | None
    duplicate_of_reference_id: int | None
    verdict: str
    score: int
    text_length: int | None
    trading_term: bool | None
    lexicon_key: str
    likes: int
    comments: int
    shares: int
    views: int
    judged_at: datetime | None
    text: str = ""


JUDGE_FIELDS = (
    "id", "author__uid", "created_at", "deleted", "moderation", "duplicate_of_id", "duplicate_of_reference_id", "verdict", "score",
    "text_length", "trading_term", "lexicon_key", *ENGAGEMENT, "judged_at",
)  # fmt: skip


def _judge_batches(campaign: Campaign, post_ids):
    """The posts to judge in batches of JUDGE_BATCH, without their texts: the given ids, or the
    whole campaign streamed (memory bounded whatever its size)."""
    posts = Post.objects.filter(campaign=campaign).order_by().values_list(*JUDGE_FIELDS)
    if post_ids is not None:
        for i in range(0, len(post_ids), JUDGE_BATCH):
            yield [JudgeRow(*row) for row in posts.filter(id__in=post_ids[i : i + JUDGE_BATCH])]
        return
    # Streamed (memory bounded), each post once; `_posts_judge` writes a batch's verdicts before the next.
    yield from ([JudgeRow(*row) for row in rows] for rows in rows_batches(posts, size=JUDGE_BATCH))


def _text_facts_fill(posts: list[JudgeRow], lexicon: Lexicon) -> None:
    """Compute and store checks 4 and 5 for the posts whose stored facts are missing or were
    computed under another lexicon (a lexicon change, posts stored before facts existed)."""
    missing = [post for post in posts if _stored_facts(post, lexicon) is None]
    if not missing:
        return
    texts = {pk: (text, digest) for pk, text, digest in Post.objects.filter(id__in=[post.pk for post in missing]).values_list("id", "text", "content_hash")}
    for post in missing:
        post.text = texts[post.pk][0]
        post.text_length, post.trading_term, post.lexicon_key = text_facts(post.text, lexicon)
    # Stored only while the text is still the one they were computed from: a writer that takes no
    # lock (the webhook's) may have stored a new text meanwhile, with its own facts.
    rows_update(
        model=Post,
        values=("id", "text_length", "trading_term", "lexicon_key", "content_hash"),
        rows=[(p.pk, p.text_length, p.trading_term, p.lexicon_key, texts[p.pk][1]) for p in missing],
        assign={column: f"v.{column}" for column in ("text_length", "trading_term", "lexicon_key")},
        where="t.id = v.id AND t.content_hash = v.content_hash",
    )


def _verdicts_save(dirty: dict[tuple[str, int], list[int]], now: datetime) -> int:
    """Store new (verdict, score) pairs with `judged_at` = now; returns how many posts."""
    if not dirty:
        return 0
    # One statement for the batch, however many pairs it has (a batch judged from scratch has
    # hundreds of scores, each one a statement before).
    rows = [(pk, verdict, score) for (verdict, score), pks in dirty.items() for pk in pks]
    rows_update(
        model=Post, values=("id", "verdict", "score"), rows=rows, assign={"verdict": "v.verdict", "score": "v.score"}, constants={"judged_at": now}, where="t.id = v.id"
    )
    return len(rows)


def posts_judge(*, campaign: Campaign, post_ids=None, now=None) -> int:
    """Recompute verdict and score of the campaign's posts (all, or `post_ids`) from the data as it
    is now: window, enrolment, deletion, length, lexicon, duplicates, moderation, engagement.

    Pure rules do the deciding (`campaign.qualification`); this loads and stores, in batches and
    without the texts (checks 4 and 5 use the facts stored at ingest). Returns how many posts
    changed (a post whose verdict was only confirmed, its `judged_at` set again, counts too).
    Idempotent: judging twice changes nothing the second time. Takes the campaign lock, so
    judgings run one after the other and the instants they stamp follow that order.
    """
    if post_ids is not None:
        post_ids = list(post_ids)
        if not post_ids:
            return 0
    with transaction.atomic():
        duplicates_lock(campaign)
        return _posts_judge(campaign, post_ids, now or _judging_now(JudgingState.objects.filter(campaign=campaign).first()))


def _posts_judge(campaign: Campaign, post_ids, now: datetime) -> int:
    lexicon = campaign_lexicon(campaign)
    changed = 0
    enrolled: dict = {}  # each trader's enrolment evaluated once per call, not once per batch
    for rows in _judge_batches(campaign, post_ids):
        _text_facts_fill(rows, lexicon)
        unknown = {p.author_uid for p in rows} - enrolled.keys()
        if unknown:
            enrolled.update(enrolment_map(campaign=campaign, uids=unknown))
        dirty: dict[tuple[str, int], list[int]] = {}
        for post in rows:
            verdict, score = post_judgement(campaign, post, enrolled=enrolled[post.author_uid].enrolled, lexicon=lexicon)
            # A post not judged since it changed is stamped even when its verdict stays.
            if (verdict, score) != (post.verdict, post.score) or post.judged_at is None:
                dirty.setdefault((verdict, score), []).append(post.pk)
        changed += _verdicts_save(dirty, now)
    if changed:
        campaign_pages_changed(campaign_id=campaign.pk)
    if changed >= ANALYZE_AFTER:
        # The planner's statistics still describe the verdicts before (all pending, after an
        # import): reading the qualifying posts would then pick a plan for none (10 s instead of
        # 3 at 1,000,000 posts). Autovacuum would catch up later, or never where it is off.
        analyze(Post._meta.db_table)
    return changed


class _ReferenceText:
    """One reference text as it is read, line by line: its lines while it stays within the
    campaign's maximum (a longer one is read on without keeping, and rejected), its length as
    it is stored (without the whitespace around it), and the first line that could not be read."""

    def __init__(self, start: int):
        self.start, self.end, self.lines, self.length, self.after = start, start, [], 0, 0
        self.problem = None

    def add(self, line, max_chars: int) -> None:
        self.end = line.number
        if line.error is not None and self.problem is None:
            self.problem = f"line {line.number}: {line.error}"
        text = line.text if line.text is not None else line.raw
        if not self.lines and not self.length:
            text = text.lstrip()
            if not text:
                return  # leading whitespace: not part of the text
        else:
            self.after += 1  # the line break before this line
        core = text.rstrip()
        if core:
            self.length += self.after + len(core)
            self.after = len(text) - len(core)
            if self.length <= max_chars:
                self.lines.append(text)
        else:
            self.after += len(text)
            if self.length + self.after <= max_chars:
                self.lines.append(text)  # whitespace that is inside the text if more follows

    def record(self, max_chars: int) -> SourceRecord | None:
        raw = "\n".join(self.lines)
        if self.problem is not None:
            return SourceRecord(self.start, raw, None, self.problem, last_line=self.end)
        if not self.length:
            return None
        if self.length > max_chars:
            return SourceRecord(self.start, raw, None, f"text is {self.length:,} characters; the campaign's maximum is {max_chars:,}", last_line=self.end)
        return SourceRecord(self.start, raw, {"text": raw.strip()}, last_line=self.end)


def _reference_records(data, *, max_chars: int):
    """Texts separated by a line `---`; each reported at the line where it starts. Streamed line
    by line: a line over the line limit or not UTF-8 rejects its text (the reason names the
    line), and a text longer than `max_chars` is rejected without being held whole."""
    current = _ReferenceText(1)
    for line in decoded_lines(data, limit=line_limit()):
        if line.text is not None and line.text.strip() == "---":
            if (record := current.record(max_chars)) is not None:
                yield record
            current = _ReferenceText(line.number + 1)
        else:
            current.add(line, max_chars)
    if (record := current.record(max_chars)) is not None:
        yield record


def reference_texts_import(
    *, campaign: Campaign, data, source=ImportRun.Source.COMMAND, filename="", created_by="", progress=None, run=None
) -> ImportReport:
    """Load reference texts for the duplicate check; the same text twice is stored once.

    Posts that turn out to be near-copies of a new reference text flip to `duplicate`. A text
    longer than the campaign's maximum post text is rejected (it could never be a post's
    near-duplicate). `data`: bytes or a binary file object, streamed; `run`: an unfinished run
    to continue.
    """

    def parse(item):
        text = item["text"]
        if not text_signature(text):
            raise ValueError("text is under 5 characters once URLs and whitespace are removed; it could never match")
        return text

    def write(chunk, run):
        duplicates_lock(campaign)
        refs = {content_hash(text): (record, text) for record, text in chunk}
        known = set(ReferenceText.objects.filter(campaign=campaign, content_hash__in=list(refs)).values_list("content_hash", flat=True))
        created = ReferenceText.objects.bulk_create(
            [
                ReferenceText(campaign=campaign, text=text, content_hash=digest, signature=text_signature(text), import_run=run)
                for digest, (_, text) in refs.items()
                if digest not in known
            ]
        )
        new_ids = set(ReferenceText.objects.filter(campaign=campaign, content_hash__in=[r.content_hash for r in created]).values_list("id", flat=True))
        affected = duplicates_refresh(campaign=campaign, reference_ids=new_ids)
        posts_judge(campaign=campaign, post_ids=affected)
        return []

    return run_import(
        kind=ImportRun.Kind.REFERENCE_TEXTS,
        records=_reference_records(data, max_chars=campaign.max_text_length),
        parse=parse,
        write=write,
        source=source,
        filename=filename,
        created_by=created_by,
        progress=progress,
        run=run or campaign_import_run_create(campaign=campaign, kind=ImportRun.Kind.REFERENCE_TEXTS, source=source, filename=filename, created_by=created_by),
    )
