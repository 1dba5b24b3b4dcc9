"""The judging a bulk import queues, in chunks that several processes share.

A posts file is imported in two steps. The write stores every post (COPY into a staging table
and one upsert a chunk, `campaign.services.posts`) without signing it: once it commits, the
import is acknowledged. Then this module's job works out the verdicts, in three stages
(`JudgingJob.Stage`), each a set of chunks (`JudgingChunk`):

1. sign: the signatures and text facts of the new texts (`text_signing.posts_sign`), by ranges
   of post ids, in any order and in parallel: each post is signed alone;
2. index: the near-duplicate index and links (`qualify.index_catch_up`), one chunk under the
   campaign lock, since "earliest wins" (RULES.md section 3, check 6) needs the campaign whole
   and in order; the posts whose link changed are marked for judging, and the posts indexed
   get an `IndexMark` instead of a write of their `index_stale` flag;
3. judge: the verdict and score of every post not judged since it changed (`posts_judge`), by
   ranges of post ids, in parallel under the campaign lock's share mode (settlement, moderation
   and the index wait for them, and they for those); a post's index mark is cleared in the
   write of its verdict, so the judging writes each wide row twice (signature, verdict), not
   three times.

Who works: a Celery task per chunk (`campaign.tasks.judging_chunk_task`), queued when its stage
opens, on every worker process of the same database and broker; and the process that waits for
the job (the import command, the admin's import task), which takes chunks too, so a job finishes
with no worker running and goes faster with more. A process works on a chunk holding its row
lock (SKIP LOCKED: the others take another chunk), in one transaction with the chunk's writes
and its done mark: a re-delivered task finds it done or taken, a killed one leaves it to the
next taker. The process that finishes a stage's last chunk opens the next stage, under the
job's row lock, so it opens once.

Nothing here decides anything: signing, linking and judging are the services every other path
uses, and whatever a job has not finished (a failure, a lost worker) is caught up by the next
judging of the campaign: `posts_judge_pending` (the five-minute beat) and every settlement sign
what is unsigned, index what waits and judge what is unjudged.
"""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Sum
from django.utils import timezone

from campaign.models import Campaign, JudgingChunk, JudgingJob, Post
from campaign.near_duplicates.db import marks_apply
from campaign.page_cache import campaign_pages_changed
from campaign.services.duplicates import duplicates_lock
from campaign.services.judging import ANALYZE_AFTER, posts_judge
from campaign.services.qualify import index_catch_up
from campaign.services.text_signing import posts_sign, unsigned_posts
from core.database import analyze

logger = logging.getLogger(__name__)

Stage = JudgingJob.Stage
NEXT = {Stage.SIGN: Stage.INDEX, Stage.INDEX: Stage.JUDGE, Stage.JUDGE: Stage.DONE}
ID_BATCH = 5000  # ids a statement (SQLite caps the parameters of a query)


def judging_job_start(*, campaign: Campaign, run=None) -> JudgingJob:
    """Queue the judging of what a bulk write stored: a job whose first stage is open, its chunks'
    tasks sent once this transaction commits. Returns the job (see `judging_job_wait`)."""
    with transaction.atomic():
        job = JudgingJob.objects.create(campaign=campaign, run=run)
        _stage_open(job, Stage.SIGN)
    return job


def _stage_ids(job: JudgingJob, stage: str) -> list[int]:
    """The posts a stage opens chunks over, ascending: the unsigned ones, or the unjudged ones."""
    posts = unsigned_posts(job.campaign) if stage == Stage.SIGN else Post.objects.filter(campaign=job.campaign, judged_at__isnull=True)
    return list(posts.order_by("id").values_list("id", flat=True))


def _stage_open(job: JudgingJob, stage: str) -> None:
    """Open `stage` of the job (inside a transaction that created or locked the job row): its
    chunks, their tasks queued at commit; a stage with nothing to do is passed at once, and the
    job finishes after the last one."""
    while stage != Stage.DONE:
        if stage == Stage.INDEX:
            chunks = [JudgingChunk(job=job, stage=stage, low=0, high=0, size=0)]
        else:
            ids = _stage_ids(job, stage)
            size = settings.JUDGING_SIGN_CHUNK if stage == Stage.SIGN else settings.JUDGING_JUDGE_CHUNK
            chunks = [JudgingChunk(job=job, stage=stage, low=ids[lo], high=ids[min(lo + size, len(ids)) - 1], size=len(ids[lo : lo + size])) for lo in range(0, len(ids), size)]
        if chunks:
            break
        stage = NEXT[stage]
    job.stage = stage
    if stage == Stage.DONE:
        _job_finish(job)
        return
    job.save(update_fields=["stage"])
    chunks = JudgingChunk.objects.bulk_create(chunks)
    if not _eager():
        chunk_ids = [chunk.pk for chunk in chunks]
        transaction.on_commit(lambda: _chunks_queue(chunk_ids))


def _chunks_queue(chunk_ids) -> None:
    """Send each chunk's task to the judging queue (`JUDGING_QUEUE`, else Celery's default)."""
    from campaign.tasks import judging_chunk_task

    for pk in chunk_ids:
        judging_chunk_task.apply_async((pk,), queue=settings.JUDGING_QUEUE or None)


def _eager() -> bool:
    """No broker (development, the embedded default): nobody else would take a queued task, and
    an eager one would run inside the transaction that queues it; the waiting process works."""
    return bool(settings.CELERY_TASK_ALWAYS_EAGER)


def _job_finish(job: JudgingJob) -> None:
    # The marks of indexed posts no chunk judged (their verdicts stood: a re-signing's posts).
    marks_apply(job.campaign)
    judged = JudgingChunk.objects.filter(job=job, stage=Stage.JUDGE).aggregate(n=Sum("size"))["n"] or 0
    if judged >= ANALYZE_AFTER:
        # Once for the job, not once a chunk: the planner's statistics describe the posts before.
        analyze(Post._meta.db_table)
    job.finished_at = timezone.now()
    job.save(update_fields=["stage", "finished_at"])
    campaign_pages_changed(campaign_id=job.campaign_id)


def judging_chunk_work(*, chunk_id: int | None = None, job: JudgingJob | None = None) -> bool:
    """Work on one chunk: the one given, or any open chunk of `job`'s current stage. Returns
    whether a chunk was done here (False: done already, taken by another process, or none left).

    One transaction: the chunk row is locked (SKIP LOCKED), its work written and the chunk marked
    done together; the process that marks a stage's last chunk opens the next stage. Raises what
    the work raised: a lost database or a broken deadlock as it is (the task retries, the chunk
    stays open), anything else after the chunk and the job record the error (the job is failed;
    the next judging of the campaign does the work).
    """
    try:
        with transaction.atomic():
            chunks = JudgingChunk.objects.select_for_update(skip_locked=True, of=("self",)).select_related("job__campaign").filter(done_at__isnull=True)
            if chunk_id is not None:
                chunk = chunks.filter(pk=chunk_id).first()
            else:
                chunk = chunks.filter(job=job, stage=job.stage).order_by("low").first()
            if chunk is None or chunk.job.stage != chunk.stage:
                return False
            _chunk_do(chunk)
            chunk.done_at = timezone.now()
            chunk.save(update_fields=["done_at"])
            locked = JudgingJob.objects.select_for_update(of=("self",)).select_related("campaign").get(pk=chunk.job_id)
            if locked.stage == chunk.stage and not JudgingChunk.objects.filter(job=locked, stage=chunk.stage, done_at__isnull=True).exists():
                _stage_open(locked, NEXT[chunk.stage])
            return True
    except (OperationalError, InterfaceError):
        raise  # the database went away or a deadlock was broken: the chunk stays open for a retry
    except Exception as exc:
        if chunk_id is not None or job is not None:
            _error_note(chunk_id=chunk_id, job=job, error=f"{type(exc).__name__}: {exc}")
        raise


def _chunk_do(chunk: JudgingChunk) -> None:
    campaign = chunk.job.campaign
    if chunk.stage == Stage.SIGN:
        posts_sign(campaign=campaign, low=chunk.low, high=chunk.high)
    elif chunk.stage == Stage.INDEX:
        duplicates_lock(campaign)
        # The indexed posts are marked, not cleared: their flags go with their verdicts below.
        affected, _stale = index_catch_up(campaign=campaign, marks=True)
        # Judged in the next stage with the import's posts (whose write left them unjudged).
        affected = sorted(affected)
        for lo in range(0, len(affected), ID_BATCH):
            Post.objects.filter(id__in=affected[lo : lo + ID_BATCH], judged_at__isnull=False).update(judged_at=None)
    else:
        ids = list(Post.objects.filter(campaign=campaign, id__gte=chunk.low, id__lte=chunk.high, judged_at__isnull=True).values_list("id", flat=True))
        posts_judge(campaign=campaign, post_ids=ids, shared=True, marks=True)


def _error_note(*, chunk_id, job, error: str) -> None:
    """Record a chunk's failure on the job (shown in the admin); the job is failed, its open
    chunks left for whoever judges the campaign next."""
    from django.db import connection

    if connection.needs_rollback:
        return  # inside a broken outer transaction: the caller's rollback decides
    job_id = job.pk if job is not None else JudgingChunk.objects.filter(pk=chunk_id).values_list("job_id", flat=True).first()
    if chunk_id is not None:
        JudgingChunk.objects.filter(pk=chunk_id).update(error=error[:2000])
    JudgingJob.objects.filter(pk=job_id, finished_at__isnull=True).update(stage=Stage.FAILED, error=error[:2000], finished_at=timezone.now())
    logger.error("judging job #%s failed: %s", job_id, error)


def judging_jobs_resume(*, older_than=None) -> dict[int, int]:
    """Queue again the open chunks of every unfinished job whose stage opened more than
    `older_than` ago (default 10 minutes): their tasks may have been lost with a broker or a
    worker, and the process that waited for them may be gone. Harmless when they were not: a
    chunk is done once. Returns {job id: chunks queued}. (The five-minute beat calls it.)"""
    from datetime import timedelta

    before = timezone.now() - (older_than or timedelta(minutes=10))
    queued = {}
    for job in JudgingJob.objects.filter(finished_at__isnull=True, created_at__lt=before).exclude(stage__in=(Stage.DONE, Stage.FAILED)):
        chunk_ids = list(JudgingChunk.objects.filter(job=job, stage=job.stage, done_at__isnull=True).values_list("pk", flat=True))
        _chunks_queue(chunk_ids)
        queued[job.pk] = len(chunk_ids)
    return queued


def judging_job_progress(job: JudgingJob) -> dict[str, tuple[int, int]]:
    """{stage: (posts done, posts in all)} of the stages opened so far (the index stage counts
    one for its single chunk)."""
    rows = JudgingChunk.objects.filter(job=job).values_list("stage", "size", "done_at")
    progress: dict[str, list[int]] = {}
    for stage, size, done_at in rows:
        units = size or 1
        done, total = progress.setdefault(stage, [0, 0])
        progress[stage] = [done + (units if done_at else 0), total + units]
    return {stage: (done, total) for stage, (done, total) in progress.items()}


def judging_job_wait(*, job: JudgingJob, work: bool = True, progress: Callable[[str, int, int], None] | None = None, poll: float = 0.25) -> JudgingJob:
    """Wait until the job is done or failed, and return it as it ended. With `work` (the default)
    this process takes chunks too, so the job finishes with no worker running; without it it only
    watches (a measurement of the workers alone). `progress(stage, done, total)` is told how far
    each stage got, after every chunk or poll."""
    while True:
        job.refresh_from_db(fields=["stage", "finished_at", "error"])
        if progress is not None:
            for stage, (done, total) in judging_job_progress(job).items():
                progress(stage, done, total)
        if job.stage in (Stage.DONE, Stage.FAILED):
            return job
        if work and judging_chunk_work(job=job):
            continue
        time.sleep(poll)
