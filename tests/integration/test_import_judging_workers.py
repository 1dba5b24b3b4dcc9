"""A posts file's queued judging on real Celery worker processes, real Redis and real PostgreSQL
(never eager): two workers share the chunks of every stage while the importer only watches, and
the verdicts and links are those the importer gets working alone; a chunk's task delivered
again does nothing."""

import uuid

import pytest

from campaign.models import JudgingChunk, JudgingJob, Post
from campaign.services import posts_import_file
from campaign.services.import_judging import judging_job_wait
from campaign.tasks import judging_chunk_task
from config.celery import app
from tests.campaign.test_import_judging import corpus, enrol, jsonl, outcome
from tests.reliability.workers import start_worker, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.postgres]
Stage = JudgingJob.Stage
CHUNKS = {"JUDGING_SIGN_CHUNK": "4", "JUDGING_JUDGE_CHUNK": "5"}


def test_two_worker_processes_share_the_chunks_and_give_the_verdicts_of_one_process(transactional_db, campaign, settings, tmp_path):
    settings.JUDGING_SIGN_CHUNK, settings.JUDGING_JUDGE_CHUNK = int(CHUNKS["JUDGING_SIGN_CHUNK"]), int(CHUNKS["JUDGING_JUDGE_CHUNK"])
    enrol(campaign)
    items = corpus(31, 40)
    settings.CELERY_TASK_ALWAYS_EAGER = True  # alone: this process takes every chunk
    alone = posts_import_file(campaign=campaign, data=jsonl(items))
    assert alone.followup.stage == Stage.DONE
    expected = outcome(campaign)
    Post.objects.all().delete()

    queue = f"judging-{uuid.uuid4().hex[:8]}"
    settings.CELERY_TASK_ALWAYS_EAGER, settings.JUDGING_QUEUE = False, queue
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    logs = [tmp_path / f"worker{n}.log" for n in range(2)]
    files = [open(path, "w") for path in logs]
    workers = [start_worker(queue, file, JUDGING_QUEUE=queue, **CHUNKS) for file in files]
    try:
        wait_for(lambda: all("ready" in path.read_text() for path in logs), 60, "both workers to be ready")
        job = posts_import_file(campaign=campaign, data=jsonl(items), wait=False).followup
        job = judging_job_wait(job=job, work=False)  # only watches: the workers do it all
        assert job.stage == Stage.DONE, job.error
        assert outcome(campaign) == expected
        chunks = JudgingChunk.objects.filter(job=job)
        assert chunks.filter(stage=Stage.SIGN).count() == 10 and chunks.filter(stage=Stage.JUDGE).count() >= 8
        assert not chunks.filter(done_at__isnull=True).exists()
        # Delivered again, a chunk's task finds it done and changes nothing.
        again = chunks.filter(stage=Stage.JUDGE).first()
        assert judging_chunk_task.apply_async((again.pk,), queue=queue).get(timeout=30) == {"chunk": again.pk, "done": False}
        assert outcome(campaign) == expected
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        for file in files:
            file.close()
        app.conf.task_always_eager = eager
    # Both processes did chunks (each chunk is done once, by whichever took it first).
    done = [path.read_text().count("'done': True") for path in logs]
    assert all(done) and sum(done) == chunks.count(), done
