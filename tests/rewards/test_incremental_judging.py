"""Settlement judges only what changed while the campaign's judging inputs stay the same
(`JudgingState`), and every post whenever they move, whatever path moved them."""

import json
from datetime import datetime

import pytest

from campaign.models import JudgingState, Post, ReferenceText
from campaign.services import posts_import_file, posts_ingest, reference_texts_import
from campaign.services.qualify import judging_inputs_digest
from core.reading import jsonl_records
from rewards.models import Reward
from rewards.services import settle_campaign
from rewards.services.schedule import settlement_schedule_sync
from tests.rewards.scenario import BODY, posts_jsonl
from traders.models import LeadTraderRegistration

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")


def verdicts():
    return dict(Post.objects.values_list("post_id", "verdict"))


def scores():
    return dict(Post.objects.values_list("post_id", "score"))


def test_a_settlement_records_what_it_judged_against(loaded):
    assert not JudgingState.objects.exists()  # imports judge their own posts, never the campaign whole
    settle_campaign(campaign=loaded, at=DUE)
    state = JudgingState.objects.get(campaign=loaded)
    assert state.inputs == judging_inputs_digest(loaded)
    assert not Post.objects.filter(judged_at__isnull=True).exists()


def test_with_the_same_inputs_only_posts_changed_since_their_judging_are_judged_again(loaded):
    settle_campaign(campaign=loaded, at=DUE)
    # A row edited behind every write path's back (judged_at kept): the incremental run trusts
    # its stored verdict, which is what makes it cheap ...
    Post.objects.filter(post_id="b1").update(likes=0)
    # ... while a row changed the way writes change it (judged_at cleared) is judged again.
    Post.objects.filter(post_id="a1").update(likes=0, judged_at=None)
    settle_campaign(campaign=loaded, at=DUE)
    assert scores()["b1"] == 30 and scores()["a1"] == 1
    # A whole judging (what the scheduled settlements ask for) sees the hand edit too.
    settle_campaign(campaign=loaded, at=DUE, full_judge=True)
    assert scores()["b1"] == 1


def test_an_enrolment_change_by_any_path_judges_every_post_again(loaded):
    settle_campaign(campaign=loaded, at=DUE)
    assert verdicts()["a1"] == "qualified"
    LeadTraderRegistration.objects.filter(trader__uid=1001).update(status="revoked")  # no signal, no service
    settle_campaign(campaign=loaded, at=DUE)
    assert {verdicts()[p] for p in ("a1", "a2", "a3", "a4")} == {"not_enrolled"}


def test_a_rules_change_judges_every_post_again(loaded):
    settle_campaign(campaign=loaded, at=DUE)
    type(loaded).objects.filter(pk=loaded.pk).update(min_length=1000)
    loaded.refresh_from_db()
    settle_campaign(campaign=loaded, at=DUE)
    assert set(verdicts().values()) <= {"too_short", "not_enrolled"}


def test_a_deleted_reference_text_judges_every_post_again(loaded):
    reference_texts_import(campaign=loaded, data=BODY[0].encode())
    assert verdicts()["a1"] == "duplicate"
    settle_campaign(campaign=loaded, at=DUE)
    # The link to the reference is cleared by the database (SET_NULL), judging nothing.
    ReferenceText.objects.all().delete()
    assert not JudgingState.objects.exists()
    settle_campaign(campaign=loaded, at=DUE)
    assert verdicts()["a1"] == "qualified"


def test_a_deleted_post_judges_every_post_again(loaded):
    copy = {"post_id": "late-copy", "author_uid": 1003, "created_at": "2026-02-21T09:00:00+08:00", "text": BODY[0] + "!",
            "likes": 0, "comments": 0, "shares": 0, "views": 0, "deleted": False}  # fmt: skip
    posts_import_file(campaign=loaded, data=(json.dumps(copy) + "\n").encode())
    assert verdicts()["late-copy"] == "duplicate"
    settle_campaign(campaign=loaded, at=DUE)
    Post.objects.filter(post_id="a1").delete()
    settle_campaign(campaign=loaded, at=DUE)
    assert verdicts()["late-copy"] == "qualified"


def test_a_threshold_changed_by_any_path_relinks_every_post_at_the_next_settlement(loaded):
    from decimal import Decimal

    from campaign.models import Campaign

    copy = {"post_id": "c2", "author_uid": 1003, "created_at": "2026-02-21T09:00:00+08:00", "text": BODY[0] + " Watching closely.",
            "likes": 4, "comments": 0, "shares": 0, "views": 0, "deleted": False}  # fmt: skip
    posts_import_file(campaign=loaded, data=(json.dumps(copy) + "\n").encode())
    settle_campaign(campaign=loaded, at=DUE)
    assert Post.objects.get(post_id="c2").duplicate_of.post_id == "a1"
    assert Campaign.objects.get(pk=loaded.pk).links_threshold == Decimal("0.800")
    # What the campaign's change form does: it saves the field and relinks nothing itself.
    Campaign.objects.filter(pk=loaded.pk).update(duplicate_threshold=Decimal("0.900"))
    settle_campaign(campaign=loaded, at=DUE)
    c2 = Post.objects.get(post_id="c2")
    assert (c2.duplicate_of_id, c2.verdict) == (None, "qualified")
    assert Campaign.objects.get(pk=loaded.pk).links_threshold == Decimal("0.900")


def test_a_webhook_change_whose_judging_task_was_lost_is_judged_by_the_next_settlement(loaded):
    settle_campaign(campaign=loaded, at=DUE)
    item = {"post_id": "b1", "author_uid": 1002, "created_at": "2026-02-13T09:00:00+08:00", "text": BODY[4],
            "likes": 0, "comments": 0, "shares": 0, "views": 0, "deleted": True}  # fmt: skip
    # judge_later queues the judging after commit; the test transaction never commits: lost.
    assert posts_ingest(campaign=loaded, records=jsonl_records(json.dumps(item).encode()), judge_later=True).ok
    post = Post.objects.get(post_id="b1")
    assert (post.deleted, post.verdict, post.judged_at) == (True, "qualified", None)
    settle_campaign(campaign=loaded, at=DUE)
    assert verdicts()["b1"] == "deleted"


def test_an_unchanged_re_import_keeps_every_judging(loaded):
    before = dict(Post.objects.values_list("post_id", "judged_at"))
    assert None not in before.values()
    assert posts_import_file(campaign=loaded, data=posts_jsonl().encode()).ok
    assert dict(Post.objects.values_list("post_id", "judged_at")) == before


def test_the_scheduled_settlements_judge_every_post(campaign):
    from django_celery_beat.models import PeriodicTask

    names = settlement_schedule_sync(campaign=campaign)
    assert names
    for task in PeriodicTask.objects.filter(name__in=names):
        assert json.loads(task.kwargs)["full_judge"] is True


def test_inputs_that_move_away_and_back_leave_no_verdict_judged_in_between(loaded):
    """Issue 14, item 5: an older registrations export imported by mistake, posts re-delivered
    (and judged) under it, the right export imported again: the digest is back to the one of the
    last whole judging, yet the posts judged in between must be judged again."""
    from tests.rewards.scenario import REGISTRATIONS
    from traders.services import registrations_import

    settle_campaign(campaign=loaded, at=DUE)
    right = verdicts()
    ledger = sorted(Reward.objects.values_list("trader__uid", "kind", "amount"))
    older = REGISTRATIONS.replace("1001,alpha,futures,approved", "1001,alpha,futures,revoked").replace("1003,gamma,futures,approved", "1003,gamma,futures,pending")
    registrations_import(data=older.encode())
    # The feed re-delivers unchanged posts of those traders: judged at once, under the wrong data.
    redelivered = "".join(line + "\n" for line in posts_jsonl().splitlines() if json.loads(line)["author_uid"] in (1001, 1003))
    assert posts_ingest(campaign=loaded, records=jsonl_records(redelivered.encode())).ok
    assert verdicts()["a1"] == verdicts()["c1"] == "not_enrolled"
    registrations_import(data=REGISTRATIONS.encode())
    assert JudgingState.objects.get(campaign=loaded).inputs == judging_inputs_digest(loaded)
    settle_campaign(campaign=loaded, at=DUE)
    assert verdicts() == right
    assert sorted(Reward.objects.values_list("trader__uid", "kind", "amount")) == ledger
