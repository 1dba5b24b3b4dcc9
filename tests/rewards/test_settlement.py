"""settle_campaign on the RULES.md file formats: hand-computed results, previews, idempotency,
review items, and the payout report against a golden file."""

from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command

from campaign.models import Post
from rewards.models import ReviewItem, Reward, SettlementRun
from rewards.services import payout_rows, render_csv, rewards_approve, settle_campaign

pytestmark = pytest.mark.django_db
GOLDEN = Path(__file__).parent / "golden" / "payout_report.csv"
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")  # window end + 24 h grace
BEFORE_DUE = datetime.fromisoformat("2026-02-25T23:59:59+08:00")


def ledger(campaign):
    return sorted(Reward.objects.filter(campaign=campaign).values_list("trader__uid", "kind", "period", "asset", "amount", "state", "preview"))


def test_a_settlement_gives_the_hand_computed_rewards(loaded):
    run = settle_campaign(campaign=loaded, at=DUE)
    assert dict(Post.objects.values_list("post_id", "verdict"))["d1"] == "not_enrolled"
    # Content pool P1: 1001 scores 11+11+10+1 = 33, 1002 scores 30+5+1 = 36, 1003 has 6 (< 10).
    # 500 x 33/69 and 500 x 36/69 both exceed the 100 cap and nobody is left to take the excess.
    # Leaderboard: 1001 = 33 + 5 x 10 + 0.01 x 100.50 = 84.005; 1002 = 36 + 0 + 0 (PnL < 0).
    assert ledger(loaded) == [
        (1001, "content_pool", "P1", "USDT", Decimal("100.00"), "calculated", False),
        (1001, "first_post", "ALL", "TRIAL_FUND", Decimal("30.00"), "calculated", False),
        (1001, "leaderboard", "ALL", "USDT", Decimal("4000.00"), "calculated", False),
        (1002, "content_pool", "P1", "USDT", Decimal("100.00"), "calculated", False),
        (1002, "first_post", "ALL", "TRIAL_FUND", Decimal("30.00"), "calculated", False),
        (1002, "leaderboard", "ALL", "USDT", Decimal("3000.00"), "calculated", False),
        (1003, "first_post", "ALL", "TRIAL_FUND", Decimal("30.00"), "calculated", False),
    ]
    summary = run.summary
    assert (summary["content_pool"]["P1"]["allocated"], summary["content_pool"]["P1"]["unallocated"]) == ("200.00", "300.00")
    assert (summary["leaderboard"]["allocated"], summary["leaderboard"]["unallocated"]) == ("7000.00", "13000.00")
    assert summary["leaderboard"]["top"][0] == {"rank": 1, "uid": 1001, "score": "84.005"}
    assert run.config["pool_cap"] == "100.00" and run.config["leaderboard_tiers"][0] == "4000.00"


def test_the_payout_report_matches_the_golden_file(loaded):
    settle_campaign(campaign=loaded, at=DUE)
    assert render_csv(payout_rows(campaign=loaded)) == GOLDEN.read_text()


def test_settle_then_payout_report_commands_give_the_rules_report(loaded, tmp_path, capsys):
    call_command("settle", "--campaign", loaded.slug, "--at", "2026-02-26T00:00:00+08:00")
    assert "content pool P1: allocated 200.00, unallocated 300.00" in capsys.readouterr().out
    out = tmp_path / "report.csv"
    call_command("payout_report", "--campaign", loaded.slug, "--output", str(out))
    assert out.read_text() == GOLDEN.read_text()
    call_command("payout_report", "--campaign", loaded.slug)
    assert capsys.readouterr().out == GOLDEN.read_text()


def test_before_the_grace_time_ends_everything_is_a_preview_and_absent_from_the_report(loaded):
    settle_campaign(campaign=loaded, at=BEFORE_DUE)
    assert {row[-1] for row in ledger(loaded)} == {True}
    assert payout_rows(campaign=loaded) == []
    settle_campaign(campaign=loaded, at=DUE)
    assert {row[-1] for row in ledger(loaded)} == {False}


def test_settling_twice_gives_the_same_ledger(loaded):
    settle_campaign(campaign=loaded, at=DUE)
    first = list(Reward.objects.order_by("pk").values_list("pk", "trader__uid", "kind", "period", "amount", "state", "settlement_run"))
    second_run = settle_campaign(campaign=loaded, at=DUE)
    assert list(Reward.objects.order_by("pk").values_list("pk", "trader__uid", "kind", "period", "amount", "state", "settlement_run")) == first
    assert second_run.summary["ledger"] == {"created": 0, "updated": 0, "deleted": 0, "review_items": 0, "review_items_updated": 0, "review_items_withdrawn": 0}
    assert SettlementRun.objects.count() == 2


def test_an_approved_reward_never_changes_and_a_difference_becomes_one_review_item(loaded):
    settle_campaign(campaign=loaded, at=DUE)
    approver = User.objects.create_user("fin", password="pw-fin-123456")
    approver.user_permissions.add(Permission.objects.get(codename="approve_reward"))
    approver = User.objects.get(pk=approver.pk)
    leaderboard = Reward.objects.get(trader__uid=1002, kind="leaderboard")
    calculated = Reward.objects.get(trader__uid=1001, kind="leaderboard")
    done, refused = rewards_approve(reward_ids=[leaderboard.pk], user=approver)
    assert [r.pk for r in done] == [leaderboard.pk] and refused == []
    # 1001's posts are all deleted: 1002 now ranks first, 1001 falls off the board.
    # As every write path does, the change clears judged_at: the posts are judged again.
    Post.objects.filter(author__uid=1001).update(deleted=True, judged_at=None)
    for _ in range(2):
        settle_campaign(campaign=loaded, at=DUE)
    leaderboard.refresh_from_db()
    assert (leaderboard.amount, leaderboard.state) == (Decimal("3000.00"), "approved")
    item = ReviewItem.objects.get()
    assert (item.reward_id, item.stored_amount, item.computed_amount, item.status) == (leaderboard.pk, Decimal("3000.00"), Decimal("4000.00"), "open")
    assert not Reward.objects.filter(pk=calculated.pk).exists()  # a calculated row is simply replaced


def test_a_first_post_bonus_is_paid_at_most_once_per_trader(loaded):
    settle_campaign(campaign=loaded, at=DUE)
    Post.objects.filter(post_id="a1").update(deleted=True, judged_at=None)  # the earliest post goes; a2 becomes the first
    settle_campaign(campaign=loaded, at=DUE)
    bonus = Reward.objects.get(trader__uid=1001, kind="first_post")
    assert bonus.detail["post_id"] == "a2"
    assert Reward.objects.filter(kind="first_post").count() == 3


def test_every_cent_of_a_settlement_is_explained_by_its_breakdown(loaded):
    from fractions import Fraction

    settle_campaign(campaign=loaded, at=DUE)
    scores = dict(Post.objects.values_list("post_id", "score"))
    for reward in Reward.objects.filter(kind="content_pool"):
        d = reward.detail
        assert sum(p["score"] for p in d["posts"]) == d["creator_score"]
        assert all(scores[p["post_id"]] == p["score"] for p in d["posts"])
        assert Decimal(d["floored"]) + Decimal(d["rounding_cent"]) == reward.amount
        exact = Fraction(d["exact_share"])
        assert Decimal(d["floored"]) <= exact < Decimal(d["floored"]) + Decimal("0.01")
    for reward in Reward.objects.filter(kind="leaderboard"):
        d = reward.detail
        score = d["content_score"] + Decimal(d["copier_weight"]) * d["new_copiers"] + Decimal(d["pnl_weight"]) * max(Decimal(0), Decimal(d["copier_pnl_usdt"]))
        assert score == Decimal(d["score"]) and Decimal(d["tier"]) == reward.amount


@pytest.mark.parametrize("value, text", [(Fraction(1190), "1190"), (Fraction(84005, 1000), "84.005"), (Fraction(0), "0"), (Fraction(1, 8), "0.125"), (Fraction(100), "100")])
def test_leaderboard_scores_are_written_with_every_digit_and_no_more(value, text):
    from rewards.services.computation import exact_decimal

    assert exact_decimal(value) == text
