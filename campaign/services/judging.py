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

from campaign.enrolment import enrolment_decide
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
# (`_Authors`): a join would read the heap row for the author's id. `Judging.rows` unpacks a row in
# this order.
JUDGE_FIELDS = (
    "id", "author_id", "created_at", "deleted", "moderation", "duplicate_of_id", "duplicate_of_reference_id", "verdict", "score",
    "text_length", "trading_term", "lexicon_key", *ENGAGEMENT, "judged_at",
)  # fmt: skip


# Where each of JUDGE_FIELDS is in a row of them.
_AT = {name: i for i, name in enumerate(JUDGE_FIELDS)}
_PK, _AUTHOR, _VERDICT, _SCORE, _JUDGED_AT = _AT["id"], _AT["author_id"], _AT["verdict"], _AT["score"], _AT["judged_at"]


class Judging:
    """`post_judgement` of many stored posts under one configuration (`campaign`, its lexicon or
    `lexicon`), sharing one memo of the decisions by facts.

    `rows` judges JUDGE_FIELDS rows as they are read, without a `JudgeRow` each: a million posts
    are judged in a settlement, and building an object per post cost as much as judging it. It
    gathers the facts exactly as `_post_facts` does for a post whose stored checks 4 and 5 were
    computed under this lexicon (tests/campaign/test_judging_rows.py holds the two together),
    and leaves the others (None) to `post`, with their text.
    """

    def __init__(self, campaign: Campaign, lexicon: Lexicon | None = None):
        self.campaign = campaign
        self.lexicon = campaign_lexicon(campaign) if lexicon is None else lexicon
        self.key = lexicon_key(self.lexicon)
        self.reasons: dict = {}

    def post(self, post: "Post | JudgeRow", *, enrolled: bool) -> tuple[str, int]:
        """(verdict, score) of one post (its text read where its stored facts do not apply)."""
        return post_judgement(self.campaign, post, enrolled=enrolled, lexicon=self.lexicon, reasons=self.reasons, key=self.key)

    def rows(self, rows: list[tuple], enrolled: dict[int, bool]) -> list[tuple[str, int] | None]:
        """(verdict, score) of each JUDGE_FIELDS row (`enrolled`: by author id), None where the
        stored facts were not computed under this lexicon."""
        campaign, key, reasons = self.campaign, self.key, self.reasons
        in_window, cap = campaign.in_window, campaign.score_cap
        judged: list[tuple[str, int] | None] = []
        for _pk, author, created, deleted, moderation, dup, ref, _v, _s, length, trading, row_key, likes, comments, shares, views, _j in rows:
            if length is None or trading is None or row_key != key:
                judged.append(None)
                continue
            # `_post_facts` of a post with stored facts: no text, the stored checks 4 and 5.
            facts = (in_window(created), enrolled[author], deleted, "", dup is not None or ref is not None, moderation or None, length, trading)
            reason = reasons.get(facts, _UNDECIDED)
            if reason is _UNDECIDED:
                reason = reasons[facts] = _reason(facts, campaign=campaign, lexicon=self.lexicon)
            judged.append((reason or QUALIFIED, post_score(likes=likes, comments=comments, shares=shares, views=views, cap=cap)))
        return judged


def _judge_batches(campaign: Campaign, post_ids):
    """The posts to judge in batches of JUDGE_BATCH, as JUDGE_FIELDS rows (no text): the given ids,
    or the whole campaign streamed (memory bounded whatever its size), in PostgreSQL's binary
    format."""
    posts = Post.objects.filter(campaign=campaign).order_by().values_list(*JUDGE_FIELDS)
    if post_ids is not None:
        for i in range(0, len(post_ids), JUDGE_BATCH):
            yield values_binary(posts.filter(id__in=post_ids[i : i + JUDGE_BATCH]))
        return
    # Streamed (memory bounded), each post once; `_posts_judge` writes a batch's verdicts before the next.
    yield from rows_batches(posts, size=JUDGE_BATCH, binary=True)


class _Authors:
    """The authors of the posts one call judges: uid and enrolment, each trader read once."""

    def __init__(self, campaign: Campaign):
        self.campaign = campaign
        self.uid: dict[int, int] = {}  # author id -> uid
        self.enrolled: dict[int, bool] = {}  # author id -> enrolled

    def learn(self, rows: list[tuple]) -> None:
        """Learn the authors of `rows` not known yet."""
        unknown = {row[_AUTHOR] for row in rows} - self.uid.keys()
        if unknown:
            # At most JUDGE_BATCH ids, which one SQLite statement takes.
            self._add(dict(Trader.objects.filter(pk__in=unknown).values_list("pk", "uid")))

    def learn_all(self) -> None:
        """Learn every trader at once (a whole campaign judged: most traders are its authors; one
        read of each table instead of one a batch)."""
        self._add(dict(Trader.objects.values_list("pk", "uid")), everyone=True)

    def _add(self, uids: dict[int, int], everyone: bool = False) -> None:
        enrolment = enrolment_map(campaign=self.campaign, uids=None if everyone else set(uids.values()))
        # `enrolment_map` of every trader leaves out those the campaign does not know: decided as
        # it decides them when asked by uid (no registration, no sign-up).
        for uid in set(uids.values()) - enrolment.keys():
            enrolment[uid] = enrolment_decide(uid=uid, registration=None, signed_up=False, signed_up_in_window=False)
        self.uid.update(uids)
        self.enrolled.update((author, enrolment[uid].enrolled) for author, uid in uids.items())


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
    judging = Judging(campaign)  # decisions by facts shared by the whole call (`post_judgement`)
    authors = _Authors(campaign)
    if post_ids is None:
        authors.learn_all()
    changed = 0
    for rows in _judge_batches(campaign, post_ids):
        authors.learn(rows)
        judged = judging.rows(rows, authors.enrolled)
        # Stored checks 4 and 5 missing or of another lexicon: computed from the text and stored.
        waiting = [i for i, verdict in enumerate(judged) if verdict is None]
        if waiting:
            posts = [JudgeRow(row[_PK], authors.uid[row[_AUTHOR]], *row[_AUTHOR + 1 :]) for row in (rows[i] for i in waiting)]
            _text_facts_fill(posts, judging.lexicon)
            for i, post in zip(waiting, posts):
                judged[i] = judging.post(post, enrolled=authors.enrolled[rows[i][_AUTHOR]])
        dirty: dict[tuple[str, int], list[int]] = {}
        for row, verdict in zip(rows, judged):
            # A post not judged since it changed is stamped even when its verdict stays.
            if verdict[0] != row[_VERDICT] or verdict[1] != row[_SCORE] or row[_JUDGED_AT] is None:
                dirty.setdefault(verdict, []).append(row[_PK])
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
