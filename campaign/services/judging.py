"""Judging: the verdict and score of stored posts (RULES.md section 3, checks 1 to 7 in order, the
first failure is the reason; the post score).

The rules are pure (`campaign.qualification`); this gathers a stored post's facts and stores the
verdicts, in batches and without the texts: checks 4 and 5 come from the facts stored at ingest
(`text_facts` under the campaign's lexicon), recomputed only where they are missing or stale.
Which posts to judge, and when, is decided by `campaign.services.qualify`.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import CharField
from django.utils import timezone

from campaign.models import Campaign, JudgingState, Post
from campaign.near_duplicates.db import STILL_INDEXED, marks_take, stale_rows_clear
from campaign.page_cache import campaign_pages_changed
from campaign.qualification import Lexicon, PostFacts, judge, lexicon_key, post_score, text_facts
from campaign.selectors import enrolment_map
from campaign.services.duplicates import duplicates_lock
from campaign.services.locks import campaign_lock_shared
from campaign.services.post_records import ENGAGEMENT
from core.database import analyze, rows_batches, rows_update, values_binary
from traders.models import Trader

JUDGE_BATCH = 5000
ANALYZE_AFTER = 50_000  # verdicts changed by one judging, from which the posts' statistics are refreshed
QUALIFIED = Post.Verdict.QUALIFIED.value
_UNDECIDED = object()


def campaign_lexicon(campaign: Campaign) -> Lexicon:
    return Lexicon(latin_terms=tuple(campaign.latin_terms), cjk_terms=tuple(campaign.cjk_terms))


def _stored_facts(post: "Post | JudgeRow", key: str) -> tuple[int, bool] | None:
    """The post's stored checks 4 and 5, when they were computed under the lexicon of `key`
    (`lexicon_key`, computed once by the caller: it hashes the whole lexicon)."""
    if post.text_length is None or post.trading_term is None or post.lexicon_key != key:
        return None
    return post.text_length, post.trading_term


def post_reason(campaign: Campaign, post: "Post | JudgeRow", *, enrolled: bool, lexicon: Lexicon, ignore_moderation: bool = False) -> str | None:
    """The first failing check of RULES.md section 3 for a stored post, or None when it qualifies.

    With `ignore_moderation` the post is judged as if unmoderated: what an approval may override
    is decided on that. Checks 4 and 5 come from the facts stored at ingest when they were
    computed under `lexicon`; otherwise from the text.
    """
    return _reason(_post_facts(campaign, post, enrolled=enrolled, lexicon=lexicon, ignore_moderation=ignore_moderation), campaign=campaign, lexicon=lexicon)


def _post_facts(
    campaign: Campaign, post: "Post | JudgeRow", *, enrolled: bool, lexicon: Lexicon, ignore_moderation: bool = False, key: str | None = None
) -> tuple:
    """Everything `judge` decides a stored post on, as the fields of a `PostFacts` in order: a
    plain tuple, so that posts with equal facts can share one decision (`_posts_judge`)."""
    stored = _stored_facts(post, lexicon_key(lexicon) if key is None else key)
    return (
        campaign.in_window(post.created_at),
        enrolled,
        post.deleted,
        "" if stored else post.text,
        post.duplicate_of_id is not None or post.duplicate_of_reference_id is not None,
        None if ignore_moderation else (post.moderation or None),
        stored[0] if stored else None,
        stored[1] if stored else None,
    )


def _reason(facts: tuple, *, campaign: Campaign, lexicon: Lexicon) -> str | None:
    return judge(PostFacts(*facts), min_length=campaign.min_length, lexicon=lexicon)


def post_judgement(
    campaign: Campaign, post: "Post | JudgeRow", *, enrolled: bool, lexicon: Lexicon, reasons: dict | None = None, key: str | None = None
) -> tuple[str, int]:
    """(verdict, score) of a stored post under `campaign`'s rules: what `posts_judge` stores and
    what the what-if preview computes under an unsaved configuration.

    `reasons`, for many posts judged under one configuration: a memo of the decisions by facts
    (`_post_facts`), which the same facts always get; a million posts have a few thousand
    distinct facts, so `judge` runs that many times instead of once a post. `key`: the
    lexicon's `lexicon_key`, when the caller has it.
    """
    facts = _post_facts(campaign, post, enrolled=enrolled, lexicon=lexicon, key=key)
    reason = _UNDECIDED if reasons is None else reasons.get(facts, _UNDECIDED)
    if reason is _UNDECIDED:
        reason = _reason(facts, campaign=campaign, lexicon=lexicon)
        if reasons is not None and not facts[3]:  # no text (stale stored facts) kept in the memo
            reasons[facts] = reason
    score = post_score(likes=post.likes, comments=post.comments, shares=post.shares, views=post.views, cap=campaign.score_cap)
    return reason or QUALIFIED, score


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


# Columns of the post row only, and exactly the columns the covering index post_judging includes
# (campaign/models.py): PostgreSQL reads a whole campaign from that index alone, about 130 bytes a
# post instead of the 2.3 KB heap row (text, signature). The author's uid comes from the traders
# (`_judge_rows`): a join would read the heap row for the author's id.
JUDGE_FIELDS = (
    "id", "author_id", "created_at", "deleted", "moderation", "duplicate_of_id", "duplicate_of_reference_id", "verdict", "score",
    "text_length", "trading_term", "lexicon_key", *ENGAGEMENT, "judged_at",
)  # fmt: skip


def _judge_batches(campaign: Campaign, post_ids):
    """The posts to judge in batches of JUDGE_BATCH, without their texts: the given ids, or the
    whole campaign streamed (memory bounded whatever its size), in PostgreSQL's binary format."""
    posts = Post.objects.filter(campaign=campaign).order_by().values_list(*JUDGE_FIELDS)
    uids: dict[int, int] = {}  # author id -> uid, each trader read once per call
    if post_ids is not None:
        for i in range(0, len(post_ids), JUDGE_BATCH):
            yield _judge_rows(values_binary(posts.filter(id__in=post_ids[i : i + JUDGE_BATCH])), uids)
        return
    # Streamed (memory bounded), each post once; `_posts_judge` writes a batch's verdicts before the next.
    for rows in rows_batches(posts, size=JUDGE_BATCH, binary=True):
        yield _judge_rows(rows, uids)


def _judge_rows(rows: list[tuple], uids: dict[int, int]) -> list[JudgeRow]:
    """JUDGE_FIELDS rows as JudgeRows, the author's id replaced by the uid (`uids` is filled with
    the authors not seen yet)."""
    unknown = {row[1] for row in rows} - uids.keys()
    if unknown:  # at most JUDGE_BATCH ids, which one SQLite statement takes
        uids.update(Trader.objects.filter(pk__in=unknown).values_list("pk", "uid"))
    return [JudgeRow(row[0], uids[row[1]], *row[2:]) for row in rows]


def _text_facts_fill(posts: list[JudgeRow], lexicon: Lexicon) -> None:
    """Compute and store checks 4 and 5 for the posts whose stored facts are missing or were
    computed under another lexicon (a lexicon change, posts stored before facts existed)."""
    key = lexicon_key(lexicon)
    missing = [post for post in posts if _stored_facts(post, key) is None]
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


def _verdicts_save(dirty: dict[tuple[str, int], list[int]], now: datetime, marks: dict[int, str] | None = None) -> int:
    """Store new (verdict, score) pairs with `judged_at` = now; returns how many posts. The posts
    in `marks` (taken from the index, `near_duplicates.db.marks_take`) have their `index_stale`
    flag cleared in the same write, while their text is the one the index read; they are
    removed from `marks`."""
    if not dirty:
        return 0
    # One statement for the batch, however many pairs it has (a batch judged from scratch has
    # hundreds of scores, each one a statement before).
    rows = [(pk, verdict, score) for (verdict, score), pks in dirty.items() for pk in pks]
    values, assign = ("id", "verdict", "score"), {"verdict": "v.verdict", "score": "v.score"}
    if marks:
        rows = [(*row, marks.pop(row[0], None)) for row in rows]
        values = (*values, ("prefix", CharField(max_length=16, null=True)))
        assign["index_stale"] = f"CASE WHEN v.prefix IS NOT NULL AND {STILL_INDEXED} THEN FALSE ELSE t.index_stale END"
    rows_update(model=Post, values=values, rows=rows, assign=assign, constants={"judged_at": now}, where="t.id = v.id")
    return len(rows)


def posts_judge(*, campaign: Campaign, post_ids=None, now=None, shared: bool = False, marks: bool = False) -> int:
    """Recompute verdict and score of the campaign's posts (all, or `post_ids`) from the data as it
    is now: window, enrolment, deletion, length, lexicon, duplicates, moderation, engagement.

    Pure rules do the deciding (`campaign.qualification`); this loads and stores, in batches and
    without the texts (checks 4 and 5 use the facts stored at ingest). Returns how many posts
    changed (a post whose verdict was only confirmed, its `judged_at` set again, counts too).
    Idempotent: judging twice changes nothing the second time. Takes the campaign lock, so
    judgings run one after the other and the instants they stamp follow that order.

    `shared` (the chunks of a queued judging, `campaign.services.import_judging`): the lock is
    taken in share mode, so chunks of posts judge side by side on several workers while
    excluding every holder of the campaign lock; the caller refreshes the statistics once at
    the end instead of each chunk. `marks` (with `post_ids`): the index marks of these posts
    (`IndexMark`) are taken once the lock is held (no index run can pass them meanwhile) and
    their `index_stale` flags cleared in the write of their verdicts, or apart for a verdict
    only confirmed.
    """
    if post_ids is not None:
        post_ids = list(post_ids)
        if not post_ids:
            return 0
    with transaction.atomic():
        (campaign_lock_shared if shared else duplicates_lock)(campaign)
        now = now or judging_now(JudgingState.objects.filter(campaign=campaign).first())
        taken = marks_take(post_ids) if marks and post_ids else {}
        changed = _posts_judge(campaign, post_ids, now, analyze_after=not shared, marks=taken)
        if taken:  # posts whose verdict was only confirmed: no write of theirs to clear it in
            stale_rows_clear(list(taken.items()))
        return changed


def _posts_judge(campaign: Campaign, post_ids, now: datetime, *, analyze_after: bool = True, marks: dict[int, str] | None = None) -> int:
    lexicon = campaign_lexicon(campaign)
    changed = 0
    enrolled: dict = {}  # each trader's enrolment evaluated once per call, not once per batch
    reasons: dict = {}  # decisions by facts, for this call's configuration (`post_judgement`)
    key = lexicon_key(lexicon)
    for rows in _judge_batches(campaign, post_ids):
        _text_facts_fill(rows, lexicon)
        unknown = {p.author_uid for p in rows} - enrolled.keys()
        if unknown:
            enrolled.update(enrolment_map(campaign=campaign, uids=unknown))
        dirty: dict[tuple[str, int], list[int]] = {}
        for post in rows:
            verdict, score = post_judgement(campaign, post, enrolled=enrolled[post.author_uid].enrolled, lexicon=lexicon, reasons=reasons, key=key)
            # A post not judged since it changed is stamped even when its verdict stays.
            if (verdict, score) != (post.verdict, post.score) or post.judged_at is None:
                dirty.setdefault((verdict, score), []).append(post.pk)
        changed += _verdicts_save(dirty, now, marks)
    if changed:
        campaign_pages_changed(campaign_id=campaign.pk)
    if analyze_after and changed >= ANALYZE_AFTER:
        # The planner's statistics still describe the verdicts before (all pending, after an
        # import): reading the qualifying posts would then pick a plan for none (10 s instead of
        # 3 at 1,000,000 posts). Autovacuum would catch up later, or never where it is off.
        analyze(Post._meta.db_table)
    return changed


def judging_now(state: JudgingState | None) -> datetime:
    """The instant a judging stamps: now, but always after the last whole judging's instant, so a
    clock behind another worker's can never hide a verdict from `campaign.services.qualify`'s
    `_judged_since`."""
    now = timezone.now()
    return now if state is None or now > state.judged_at else state.judged_at + timedelta(microseconds=1)
