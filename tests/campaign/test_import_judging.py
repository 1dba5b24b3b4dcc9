"""A posts file in two steps (issue 17): the write stores the posts unsigned and queues a judging
job; the job's chunks (sign, index, judge) give the verdicts and links that judging each record as
it comes gives, whoever takes the chunks and in whatever order, and a chunk is done once.

Chunk sizes are made tiny so that a small file has many chunks of each parallel stage.
"""

import json
import random

import pytest

from campaign.models import DuplicateBand, IndexMark, JudgingChunk, JudgingJob, Post
from campaign.near_duplicates import text_signature
from campaign.services import posts_import_file, posts_qualify
from campaign.services.import_judging import judging_chunk_work, judging_job_progress, judging_job_wait
from campaign.services.posts import content_hash, posts_ingest
from core.reading import jsonl_records
from tests.campaign.test_duplicate_contract import brute_force, random_posts
from tests.factories import OTHER_TEXTS, TRADING_TEXT, enrolled_trader, post_item

pytestmark = pytest.mark.django_db
Stage = JudgingJob.Stage


@pytest.fixture(autouse=True)
def _tiny_chunks(settings):
    settings.JUDGING_SIGN_CHUNK, settings.JUDGING_JUDGE_CHUNK = 3, 4


def jsonl(items) -> bytes:
    return ("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n").encode()


def corpus(seed: int, size: int) -> list[dict]:
    """Near-copies of copies over several authors (two not enrolled), some deleted, some short."""
    rng = random.Random(seed)
    items = []
    for post_id, created, text in random_posts(seed, size):
        text = text if rng.random() < 0.5 else f"{text} BTC long {TRADING_TEXT[: rng.randint(0, 120)]}"
        items.append(post_item(post_id, rng.choice([1, 2, 3, 4]), created_at=created.isoformat(), text=text, likes=rng.randint(0, 50), deleted=rng.random() < 0.1))
    return items


def outcome(campaign) -> dict:
    """What judging decides of each post: verdict, score, link (by post_id), and that it was judged."""
    rows = Post.objects.filter(campaign=campaign).values_list("post_id", "verdict", "score", "duplicate_of__post_id", "judged_at", "index_stale")
    return {post_id: (verdict, score, link, judged is not None, stale) for post_id, verdict, score, link, judged, stale in rows}


def enrol(campaign):
    for uid in (1, 2):
        enrolled_trader(uid=uid)


@pytest.mark.parametrize("seed", [3, 17, 2026])
def test_a_file_judged_in_chunks_gives_the_verdicts_and_links_of_judging_each_record_as_it_comes(campaign, seed):
    enrol(campaign)
    items = corpus(seed, 40)
    report = posts_import_file(campaign=campaign, data=jsonl(items))
    job = report.followup
    assert report.ok and job.stage == Stage.DONE and job.finished_at is not None
    stages = list(JudgingChunk.objects.filter(job=job).values_list("stage", flat=True))
    assert stages.count(Stage.SIGN) > 3 and stages.count(Stage.INDEX) == 1 and stages.count(Stage.JUDGE) > 3
    assert not JudgingChunk.objects.filter(job=job, done_at__isnull=True).exists()
    chunked = outcome(campaign)
    assert brute_force({i["post_id"]: (Post.objects.get(post_id=i["post_id"]).created_at, i["text"]) for i in items}) == {
        p: link for p, (_, _, link, _, _) in chunked.items() if link
    }
    Post.objects.all().delete()
    # The same records through the path of the feed and the API: each chunk signed, indexed and judged as it comes.
    assert posts_ingest(campaign=campaign, records=jsonl_records(jsonl(items))).ok
    assert outcome(campaign) == chunked
    assert all(judged and not stale for _, _, _, judged, stale in chunked.values())


def test_a_chunk_is_done_once_and_a_second_delivery_finds_it_done(campaign):
    enrol(campaign)
    job = posts_import_file(campaign=campaign, data=jsonl(corpus(5, 12))).followup
    chunk = JudgingChunk.objects.filter(job=job, stage=Stage.JUDGE).first()
    before = outcome(campaign)
    assert judging_chunk_work(chunk_id=chunk.pk) is False
    assert outcome(campaign) == before
    progress = judging_job_progress(job)
    assert progress[Stage.SIGN] == (12, 12) and progress[Stage.INDEX] == (1, 1) and progress[Stage.JUDGE] == (12, 12)


def test_the_write_acknowledges_unsigned_posts_and_a_settlement_before_the_job_judges_them_whole(campaign):
    enrol(campaign)
    items = corpus(11, 20)
    report = posts_import_file(campaign=campaign, data=jsonl(items), wait=False)
    job = report.followup
    assert job.stage == Stage.SIGN
    stored = Post.objects.filter(campaign=campaign)
    assert stored.count() == 20 and not stored.exclude(signature=b"").exists() and not stored.filter(judged_at__isnull=False).exists()
    # A settlement's qualification comes first: it signs, indexes and judges every post itself.
    posts_qualify(campaign=campaign)
    qualified = outcome(campaign)
    assert all(judged and not stale for _, _, _, judged, stale in qualified.values())
    # The job's chunks then find nothing left to do, and the job ends as if it had done it all.
    assert judging_job_wait(job=job).stage == Stage.DONE
    assert outcome(campaign) == qualified
    Post.objects.all().delete()
    assert posts_import_file(campaign=campaign, data=jsonl(items)).ok
    assert outcome(campaign) == qualified


def test_chunks_taken_in_any_order_give_the_same_verdicts(campaign):
    enrol(campaign)
    items = corpus(23, 30)
    in_order = outcome_of(campaign, items, order=None)
    Post.objects.all().delete()
    assert outcome_of(campaign, items, order=random.Random(1).random) == in_order


def outcome_of(campaign, items, order):
    job = posts_import_file(campaign=campaign, data=jsonl(items), wait=False).followup
    while job.stage not in (Stage.DONE, Stage.FAILED):
        chunks = list(JudgingChunk.objects.filter(job=job, stage=job.stage, done_at__isnull=True))
        for chunk in sorted(chunks, key=lambda c: order() if order else c.low):
            assert judging_chunk_work(chunk_id=chunk.pk)
        job.refresh_from_db()
    assert job.stage == Stage.DONE
    return outcome(campaign)


def job_until(job, stage):
    """Work the job's chunks in order until it reaches `stage`."""
    while job.stage != stage:
        assert judging_chunk_work(job=job)
        job.refresh_from_db()
    return job


@pytest.mark.parametrize("rebuild_at", [1, 2000], ids=["rebuild", "refresh"])
def test_the_index_stage_marks_its_posts_and_each_flag_goes_with_the_posts_verdict(campaign, monkeypatch, rebuild_at):
    monkeypatch.setattr("campaign.services.qualify.REBUILD_AT", rebuild_at)  # the index rebuilt whole, or refreshed
    enrol(campaign)
    items = corpus(31, 14)
    job = job_until(posts_import_file(campaign=campaign, data=jsonl(items), wait=False).followup, Stage.JUDGE)
    stored = Post.objects.filter(campaign=campaign)
    # Indexed, and marked so: the flags wait for the verdicts, the wide rows are not written for them.
    assert set(IndexMark.objects.values_list("post_id", flat=True)) == set(stored.values_list("id", flat=True))
    assert not stored.filter(index_stale=False).exists()
    job = job_until(job, Stage.DONE)
    assert not IndexMark.objects.exists() and not stored.filter(index_stale=True).exists()
    chunked = outcome(campaign)
    Post.objects.all().delete()
    assert posts_ingest(campaign=campaign, records=jsonl_records(jsonl(items))).ok
    assert outcome(campaign) == chunked


def test_a_settlement_between_the_index_and_the_verdicts_takes_the_marks_without_indexing_again(campaign):
    enrol(campaign)
    items = corpus(37, 12)
    job = job_until(posts_import_file(campaign=campaign, data=jsonl(items), wait=False).followup, Stage.JUDGE)
    bands = DuplicateBand.objects.count()
    posts_qualify(campaign=campaign)
    assert not IndexMark.objects.exists() and DuplicateBand.objects.count() == bands
    qualified = outcome(campaign)
    assert all(judged and not stale for _, _, _, judged, stale in qualified.values())
    assert judging_job_wait(job=job).stage == Stage.DONE and outcome(campaign) == qualified


def test_a_text_stored_after_the_index_stage_keeps_waiting_for_the_index_past_its_verdict(campaign):
    enrol(campaign)
    job = job_until(posts_import_file(campaign=campaign, data=jsonl(corpus(41, 10)), wait=False).followup, Stage.JUDGE)
    edited = Post.objects.order_by("id").first()
    # What a writer that takes no lock (the webhook's) stores meanwhile: a new text, waiting for the index.
    new = OTHER_TEXTS[2]
    Post.objects.filter(pk=edited.pk).update(text=new, content_hash=content_hash(new), signature=text_signature(new), index_stale=True, judged_at=None)
    job_until(job, Stage.DONE)
    assert list(Post.objects.filter(index_stale=True).values_list("pk", flat=True)) == [edited.pk]
    assert not IndexMark.objects.exists()
    posts_qualify(campaign=campaign)  # the next judging indexes the new text
    assert not Post.objects.filter(index_stale=True).exists()


def test_a_reimported_file_changes_nothing_and_judges_nothing_again(campaign):
    enrol(campaign)
    items = corpus(7, 15)
    posts_import_file(campaign=campaign, data=jsonl(items))
    first = outcome(campaign)
    judged = dict(Post.objects.values_list("post_id", "judged_at"))
    again = posts_import_file(campaign=campaign, data=jsonl(items)).followup
    # No text changed, nothing a verdict is judged on either: nothing to sign, nothing to judge.
    assert judging_job_progress(again) == {Stage.INDEX: (1, 1)} and again.stage == Stage.DONE
    assert outcome(campaign) == first and dict(Post.objects.values_list("post_id", "judged_at")) == judged
    # One post's engagement changes: that post alone is judged again.
    changed = {**items[0], "likes": items[0]["likes"] + 1000}
    job = posts_import_file(campaign=campaign, data=jsonl([changed, *items[1:]])).followup
    assert judging_job_progress(job)[Stage.JUDGE] == (1, 1)
    now = dict(Post.objects.values_list("post_id", "judged_at"))
    assert [p for p in now if now[p] != judged[p]] == [changed["post_id"]]


def test_an_edited_text_is_signed_again_and_frees_its_former_copy(campaign):
    enrol(campaign)
    posts_import_file(campaign=campaign, data=jsonl([post_item("a", 1, text=OTHER_TEXTS[0]), post_item("b", 2, created_at="2026-02-15T12:00:00+08:00", text=OTHER_TEXTS[0])]))
    assert Post.objects.get(post_id="b").duplicate_of.post_id == "a"
    signature = bytes(Post.objects.get(post_id="a").signature)
    posts_import_file(campaign=campaign, data=jsonl([post_item("a", 1, text=OTHER_TEXTS[1])]))
    a, b = Post.objects.get(post_id="a"), Post.objects.get(post_id="b")
    assert bytes(a.signature) != signature and a.signature and not a.index_stale
    assert b.duplicate_of is None and b.verdict == Post.Verdict.QUALIFIED


def test_an_import_with_nothing_accepted_queues_no_job(campaign):
    report = posts_import_file(campaign=campaign, data=b'{"post_id": 1}\n')
    assert report.run.accepted == 0 and report.followup is None and not JudgingJob.objects.exists()


def test_an_unfinished_job_left_for_ten_minutes_has_its_open_chunks_queued_again(campaign, settings):
    from datetime import timedelta

    from django.utils import timezone

    from campaign.services.import_judging import judging_jobs_resume

    enrol(campaign)
    job = posts_import_file(campaign=campaign, data=jsonl(corpus(4, 9)), wait=False).followup
    assert judging_jobs_resume() == {}  # just opened: its tasks are on their way
    JudgingJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=11))
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the queued tasks run here, as a worker would run them
    from config.celery import app

    eager, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        assert judging_jobs_resume() == {job.pk: 3}  # the three open sign chunks, done here
        job.refresh_from_db()
        assert job.stage == Stage.INDEX  # opened by the last of them (eager: nothing queued it)
        assert judging_jobs_resume() == {job.pk: 1}
        assert judging_jobs_resume() == {job.pk: 3}  # nine posts to judge, four a chunk
    finally:
        app.conf.task_always_eager = eager
    job.refresh_from_db()
    assert job.stage == Stage.DONE and judging_jobs_resume() == {}
    assert all(judged for _, _, _, judged, _ in outcome(campaign).values())


def test_resign_posts_signs_every_text_again_and_keeps_every_link_and_verdict(campaign):
    from django.core.management import call_command

    from campaign.models import ReferenceText
    from campaign.services import reference_texts_import

    enrol(campaign)
    items = corpus(8, 25)
    assert reference_texts_import(campaign=campaign, data=(items[0]["text"] + "\n").encode()).ok
    posts_import_file(campaign=campaign, data=jsonl(items))
    before, reference = outcome(campaign), ReferenceText.objects.get(campaign=campaign)
    assert Post.objects.filter(duplicate_of_reference=reference).exists()
    signatures = {p: bytes(s) for p, s in Post.objects.values_list("post_id", "signature")}
    # As if signed under another scheme: every stored signature differs from what signing gives now.
    Post.objects.update(signature=b"\x00" * 8)
    ReferenceText.objects.update(signature=b"\x00" * 8)
    call_command("resign_posts", campaign=campaign.slug, no_progress=True)
    assert {p: bytes(s) for p, s in Post.objects.values_list("post_id", "signature")} == signatures
    assert bytes(ReferenceText.objects.get().signature) == bytes(reference.signature)
    assert outcome(campaign) == before
