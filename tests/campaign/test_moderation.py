"""Moderation within the limits of RULES.md section 3, with the audit trail."""

import json

import pytest

from campaign.models import ModerationDecision, Post
from campaign.services import ModerationError, posts_import_file, posts_moderate
from tests.factories import enrolled_trader, post_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def posts(campaign):
    enrolled_trader(uid=1)
    items = [
        post_item("short", 1, text="$BTC long now"),
        post_item("fine", 1, text="ETH perpetual: " + "leverage stays low, entry near the 3,100 support and a stop loss below it. " * 2),
        post_item("early", 1, created_at="2026-02-01T00:00:00Z"),
        post_item("gone", 1, deleted=True, text="SOL " + "derivatives " * 20),
    ]
    posts_import_file(campaign=campaign, data="\n".join(json.dumps(i) for i in items).encode())
    return {p.post_id: p for p in Post.objects.all()}


def test_a_note_is_required(campaign, posts):
    with pytest.raises(ModerationError, match="note is required"):
        posts_moderate(campaign=campaign, post_ids=[posts["short"].id], action="approved", note="  ", user="ops")


def test_approval_overrides_checks_4_to_6_but_never_1_to_3(campaign, posts):
    done, refused = posts_moderate(
        campaign=campaign, post_ids=[p.id for p in posts.values()], action="approved", note="checked by hand", user="lin"
    )
    assert sorted(p.post_id for p in done) == ["fine", "short"]
    assert sorted((post.post_id, reason) for post, reason in refused) == [("early", "outside_window"), ("gone", "deleted")]
    assert dict(Post.objects.values_list("post_id", "verdict")) == {"short": "qualified", "fine": "qualified", "early": "outside_window", "gone": "deleted"}


def test_rejection_is_the_last_check_and_is_audited(campaign, posts):
    posts_moderate(campaign=campaign, post_ids=[posts["fine"].id, posts["short"].id], action="rejected", note="promo spam", user="lin")
    assert dict(Post.objects.filter(post_id__in=["fine", "short"]).values_list("post_id", "verdict")) == {"fine": "rejected", "short": "too_short"}
    decision = ModerationDecision.objects.get(post__post_id="fine")
    assert (decision.action, decision.note, decision.decided_by, decision.verdict_before) == ("rejected", "promo spam", "lin", "qualified")
    posts_moderate(campaign=campaign, post_ids=[posts["fine"].id], action="", note="rejected in error", user="wang")
    assert Post.objects.get(post_id="fine").verdict == "qualified"
    assert ModerationDecision.objects.filter(post__post_id="fine").count() == 2
