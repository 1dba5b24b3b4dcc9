"""The ledger after ops approve and pay (RULES.md section 8, issue 14): pool budgets, due is final,
one open review item per reward with accept and keep, adjustments, first_post_limit, check_ledger.

The scenario is tests/rewards/scenario.py settled at its due instant: 1001 and 1002 each take the
content pool's 100.00 cap (scores 33 and 36), the leaderboard pays 4000.00 and 3000.00, and 1001,
1002 and 1003 get the 30.00 first-post bonus.
"""

import json
from datetime import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.core.management.base import CommandError

from campaign.models import Campaign, Post
from campaign.services import posts_import_file, posts_moderate
from rewards.api.views.ledger import refusal_reason
from rewards.budgets import pool_budgets_get
from rewards.invariants import ledger_violations
from rewards.models import Adjustment, ReviewItem, Reward, RewardEvent
from rewards.services import payout_rows, review_items_close, rewards_approve, rewards_mark_paid, settle_campaign
from rewards.services.ledger import ACCEPT, KEEP, REFUSED_BUDGET, REFUSED_PAID
from rewards.services.whatif.preview import whatif_preview
from tests.rewards.scenario import BODY

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
LOOK_AT_THE_PAST = datetime.fromisoformat("2026-02-20T12:00:00+08:00")


@pytest.fixture
def ops(db):
    user = User.objects.create_user("ops", password="pw-ops-123456")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["approve_reward", "pay_reward"]))
    return User.objects.get(pk=user.pk)


def reward(uid, kind, period="ALL"):
    return Reward.objects.get(trader__uid=uid, kind=kind, period=period)


def repost(campaign, post_id, uid, created, text, **engagement):
    item = {"post_id": post_id, "author_uid": uid, "created_at": created, "text": text, "likes": 0, "comments": 0, "shares": 0, "views": 0, "deleted": False}
    item.update(engagement)
    assert posts_import_file(campaign=campaign, data=(json.dumps(item, ensure_ascii=False) + "\n").encode()).ok


def c1_gets_likes(campaign, likes):
    """1003's one post gets more likes: with 30 its score is 31 and 1003 joins the content pool."""
    repost(campaign, "c1", 1003, "2026-02-20T09:00:00+08:00", BODY[3][::-1] + " 止损", likes=likes)


def small_pool(campaign, amount="200.00"):
    Campaign.objects.filter(pk=campaign.pk).update(pool_amount=Decimal(amount))
    campaign.refresh_from_db()
    return campaign


# --- Pool budgets -------------------------------------------------------------------------------


def test_an_approval_that_would_over_commit_a_pool_is_refused_with_the_amount_over(loaded, ops):
    small_pool(loaded)
    settle_campaign(campaign=loaded, at=DUE)
    done, refused = rewards_approve(reward_ids=[reward(1001, "content_pool", "P1").pk, reward(1002, "content_pool", "P1").pk], user=ops)
    assert len(done) == 2 and refused == []
    # 1003 joins: the rules now share the 200.00 as 66.00 / 72.00 / 62.00, but 200.00 is committed.
    c1_gets_likes(loaded, 30)
    settle_campaign(campaign=loaded, at=DUE)
    newcomer = reward(1003, "content_pool", "P1")
    assert (newcomer.state, newcomer.amount) == ("calculated", Decimal("62.00"))
    done, refused = rewards_approve(reward_ids=[newcomer.pk], user=ops)
    assert done == []
    assert (refused[0][1].code, refused[0][1].committed, refused[0][1].over) == (REFUSED_BUDGET, Decimal("262.00"), Decimal("62.00"))
    # The API says it as it always has (rewards/api/views/ledger.py).
    assert "content pool P1 to 262.00 approved and paid of 200.00 USDT, 62.00 USDT over" in refusal_reason(*refused[0], needs="calculated")
    assert reward(1003, "content_pool", "P1").state == "calculated"
    assert ledger_violations(campaign=loaded) == []


def test_the_budget_view_shows_pool_committed_calculated_approvable_and_excess(loaded, ops):
    small_pool(loaded)
    settle_campaign(campaign=loaded, at=DUE)
    rewards_approve(reward_ids=[reward(1001, "content_pool", "P1").pk], user=ops)
    c1_gets_likes(loaded, 30)
    run = settle_campaign(campaign=loaded, at=DUE)
    budgets = {(b.pool.kind, b.pool.period): b for b in pool_budgets_get(campaign=loaded)}
    pool = budgets[("content_pool", "P1")]
    # 1001 holds 100.00 approved; 1002 (72.00) and 1003 (62.00) are calculated: 134.00 for 100.00.
    assert (pool.pool.budget, pool.committed, pool.calculated, pool.approvable, pool.excess) == (
        Decimal("200.00"), Decimal("100.00"), Decimal("134.00"), Decimal("100.00"), Decimal("34.00"),
    )  # fmt: skip
    assert budgets[("first_post", "ALL")].approvable is None  # no first_post_limit: no budget
    summary = {(b["kind"], b["period"]): b for b in run.summary["budgets"]}
    assert summary[("content_pool", "P1")] == {
        "kind": "content_pool", "period": "P1", "asset": "USDT", "pool": "200.00", "max_rewards": None, "approved": "100.00", "paid": "0.00",
        "approved_and_paid": "100.00", "calculated": "134.00", "approvable": "100.00", "excess": "34.00",
    }  # fmt: skip
    assert summary[("leaderboard", "ALL")]["pool"] == "20000.00"


def test_approvals_in_one_action_count_against_the_pool_one_after_the_other(loaded, ops):
    small_pool(loaded)
    settle_campaign(campaign=loaded, at=DUE)
    rewards_approve(reward_ids=[reward(1001, "content_pool", "P1").pk], user=ops)
    c1_gets_likes(loaded, 30)
    settle_campaign(campaign=loaded, at=DUE)
    # 100.00 can still be approved: 1002's 72.00 fits, then 1003's 62.00 no longer does.
    done, refused = rewards_approve(reward_ids=[reward(1002, "content_pool", "P1").pk, reward(1003, "content_pool", "P1").pk], user=ops)
    assert [r.trader.uid for r in done] == [1002]
    assert [r.trader.uid for r, _ in refused] == [1003]
    assert (refused[0][1].code, refused[0][1].committed, refused[0][1].over, refused[0][1].pool.asset) == (REFUSED_BUDGET, Decimal("234.00"), Decimal("34.00"), "USDT")


def test_first_post_limit_gives_the_bonus_to_the_earliest_first_posts_and_bounds_approvals(loaded, ops):
    Campaign.objects.filter(pk=loaded.pk).update(first_post_limit=2)
    loaded.refresh_from_db()
    run = settle_campaign(campaign=loaded, at=DUE)
    # First qualifying posts: 1002 at 02-13 09:00, 1001 at 02-13 10:00, 1003 at 02-20 09:00.
    assert sorted(Reward.objects.filter(kind="first_post").values_list("trader__uid", flat=True)) == [1001, 1002]
    assert (run.summary["first_post"]["limit"], run.summary["first_post"]["left_out"]) == (2, 1)
    rewards_approve(reward_ids=list(Reward.objects.filter(kind="first_post").values_list("pk", flat=True)), user=ops)
    # 1003 posts earlier than anyone: now 1003 and 1002 are the two earliest.
    repost(loaded, "c0", 1003, "2026-02-12T19:00:00+08:00", BODY[0] + " 1003", likes=1)
    settle_campaign(campaign=loaded, at=DUE)
    assert ReviewItem.objects.get(status="open").reward == reward(1001, "first_post")
    done, refused = rewards_approve(reward_ids=[reward(1003, "first_post").pk], user=ops)
    assert done == [] and (refused[0][1].code, refused[0][1].pool.max_rewards, refused[0][1].over, refused[0][1].pool.asset) == (REFUSED_BUDGET, 2, Decimal("30.00"), "TRIAL_FUND")


def test_the_what_if_preview_takes_first_post_limit(loaded):
    settle_campaign(campaign=loaded, at=DUE)
    preview = whatif_preview(campaign=loaded, changes={"first_post_limit": 1}, at=DUE)
    proposed = {(r.kind, r.uid) for r in preview.proposed_rewards}
    assert {uid for kind, uid in proposed if kind == "first_post"} == {1002}
    pool = next(p for p in preview.pools if p.kind == "first_post")
    assert (pool.proposed_pool, pool.proposed_allocated, pool.proposed_unallocated) == (Decimal("30.00"), Decimal("30.00"), Decimal("0.00"))


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"pool_amount": Decimal("150.00")}, "pool_amount", "200.00 USDT of the content pool P1 is already approved or paid: the pool cannot be 150.00 (50.00 short)"),
        ({"first_post_limit": 1}, "first_post_limit", "3 first-post bonuses are already approved or paid: the limit cannot be 1"),
    ],
    ids=["content-pool", "first-post-limit"],
)
def test_a_configuration_edit_cannot_take_a_pool_below_the_approved_money(loaded, ops, changes, field, message):
    from django.core.exceptions import ValidationError

    from rewards.services.whatif.apply import whatif_apply
    from rewards.services.whatif.changes import config_fingerprint

    ops.user_permissions.add(*Permission.objects.filter(codename__in=["change_campaign", "add_settlementrun"]))
    ops = User.objects.get(pk=ops.pk)
    settle_campaign(campaign=loaded, at=DUE)
    rewards_approve(reward_ids=list(Reward.objects.values_list("pk", flat=True)), user=ops)
    campaign = Campaign.objects.get(pk=loaded.pk)
    with pytest.raises(ValidationError) as refused:
        whatif_apply(campaign=campaign, changes=changes, note="a smaller pool", user=ops, expected_fingerprint=config_fingerprint(campaign))
    assert refused.value.message_dict == {field: [message]}
    assert ledger_violations(campaign=Campaign.objects.get(pk=loaded.pk)) == []


def test_the_campaign_form_refuses_a_smaller_pool_or_another_asset_once_money_is_approved(loaded, ops, client):
    settle_campaign(campaign=loaded, at=DUE)
    rewards_approve(reward_ids=list(Reward.objects.values_list("pk", flat=True)), user=ops)
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw-admin-123456"))
    campaign = Campaign.objects.get(pk=loaded.pk)
    data = {f.name: "" if f.value_from_object(campaign) is None else f.value_from_object(campaign) for f in campaign._meta.concrete_fields if f.editable and f.name != "id"}
    data.update(starts_at_0="2026-02-12", starts_at_1="18:00:00", ends_at_0="2026-02-25", ends_at_1="00:00:00")
    data.update(latin_terms="\n".join(campaign.latin_terms), cjk_terms="\n".join(campaign.cjk_terms), leaderboard_tiers="1000.00", pool_asset="USDC")
    response = client.post(f"/admin/campaign/campaign/{campaign.pk}/change/", data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "7000.00 USDT of the leaderboard pool is already approved or paid: the pool cannot be 1000.00 (6000.00 short)" in page
    assert "the content pool P1 already holds rewards in USDT: its asset cannot change" in page
    assert Campaign.objects.get(pk=loaded.pk).leaderboard_tiers == campaign.leaderboard_tiers


# --- Due is final -------------------------------------------------------------------------------


def test_a_look_at_the_past_never_turns_due_rewards_back_into_previews(loaded):
    settle_campaign(campaign=loaded, at=DUE)
    report = payout_rows(campaign=loaded)
    assert len(report) == 7
    run = settle_campaign(campaign=loaded, at=LOOK_AT_THE_PAST)
    assert not Reward.objects.filter(preview=True).exists()
    assert payout_rows(campaign=loaded) == report
    assert run.summary["content_pool"]["P1"]["due"] and run.summary["leaderboard"]["due"] and run.summary["first_post"]["due"]
    # A reward created by the look at the past in a due pool is due too.
    c1_gets_likes(loaded, 30)
    settle_campaign(campaign=loaded, at=LOOK_AT_THE_PAST)
    assert reward(1003, "content_pool", "P1").preview is False
    assert ledger_violations(campaign=loaded) == []


def test_before_anything_is_due_a_settlement_is_still_a_preview(loaded):
    settle_campaign(campaign=loaded, at=LOOK_AT_THE_PAST)
    assert set(Reward.objects.values_list("preview", flat=True)) == {True}
    assert payout_rows(campaign=loaded) == []


# --- Review items -------------------------------------------------------------------------------


def approved_board(campaign, ops):
    settle_campaign(campaign=campaign, at=DUE)
    rewards_approve(reward_ids=list(Reward.objects.filter(kind="leaderboard").values_list("pk", flat=True)), user=ops)
    return reward(1002, "leaderboard"), reward(1001, "leaderboard")


def test_later_settlements_update_the_one_open_item_and_keep_every_amount(loaded, ops):
    second, first = approved_board(loaded, ops)
    Post.objects.filter(author__uid=1001).update(deleted=True, judged_at=None)  # 1002 ranks first
    run1 = settle_campaign(campaign=loaded, at=DUE)
    Post.objects.filter(post_id="a1").update(deleted=False, judged_at=None)  # 1001 is back with one post: not ranked
    settle_campaign(campaign=loaded, at=DUE)  # same amounts again: nothing new
    items = ReviewItem.objects.filter(reward=second)
    assert items.count() == 1
    item = items.get()
    assert (item.status, item.stored_amount, item.computed_amount) == ("open", Decimal("3000.00"), Decimal("4000.00"))
    assert ReviewItem.objects.get(reward=first).computed_amount == Decimal("0.00")
    # A change of the tiers moves the computed amount: the same item, a second computation.
    Campaign.objects.filter(pk=loaded.pk).update(leaderboard_tiers=["3500.00", "3500.00"])
    loaded.refresh_from_db()
    run3 = settle_campaign(campaign=loaded, at=DUE)
    item.refresh_from_db()
    assert item.computed_amount == Decimal("3500.00") and item.settlement_run == run3
    assert list(item.computations.values_list("computed_amount", "settlement_run")) == [(Decimal("4000.00"), run1.pk), (Decimal("3500.00"), run3.pk)]
    assert item.computed_detail["rank"] == 1
    assert ReviewItem.objects.filter(status="open").count() == 2
    assert ledger_violations(campaign=loaded) == []


def test_an_item_whose_difference_is_gone_is_withdrawn(loaded, ops):
    second, _ = approved_board(loaded, ops)
    Post.objects.filter(author__uid=1001).update(deleted=True, judged_at=None)
    settle_campaign(campaign=loaded, at=DUE)
    Post.objects.filter(author__uid=1001).update(deleted=False, judged_at=None)
    run = settle_campaign(campaign=loaded, at=DUE)
    assert not ReviewItem.objects.filter(status="open").exists()
    item = ReviewItem.objects.get(reward=second)
    assert (item.resolution, item.resolved_by) == ("withdrawn", f"settlement #{run.pk}")


def test_accept_gives_an_approved_reward_the_computed_amount_to_approve_again(loaded, ops):
    second, first = approved_board(loaded, ops)
    Post.objects.filter(author__uid=1001).update(deleted=True, judged_at=None)
    settle_campaign(campaign=loaded, at=DUE)
    items = list(ReviewItem.objects.filter(status="open").order_by("reward__trader__uid"))
    done, refused = review_items_close(item_ids=[i.pk for i in items], action=ACCEPT, user=ops, note="rank moved after the deletions")
    assert len(done) == 2 and refused == []
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, first.amount) == ("void", Decimal("0.00"))
    assert (second.state, second.amount, second.detail["rank"], second.approved_by) == ("calculated", Decimal("4000.00"), 1, "")
    assert RewardEvent.objects.filter(reward=second, action="accept_review", from_state="approved", to_state="calculated").exists()
    # Approved again, within the pool; the next settlement finds nothing to review.
    assert rewards_approve(reward_ids=[second.pk], user=ops)[0] == [second]
    settle_campaign(campaign=loaded, at=DUE)
    assert not ReviewItem.objects.filter(status="open").exists()
    assert ledger_violations(campaign=loaded) == []


def test_a_paid_reward_can_only_be_kept_and_the_difference_is_an_adjustment_outside_the_payout_report(loaded, ops):
    second, _ = approved_board(loaded, ops)
    rewards_mark_paid(reward_ids=[second.pk], reference="batch-1", user=ops)
    Post.objects.filter(author__uid=1001).update(deleted=True, judged_at=None)
    settle_campaign(campaign=loaded, at=DUE)
    item = ReviewItem.objects.get(reward=second, status="open")
    done, refused = review_items_close(item_ids=[item.pk], action=ACCEPT, user=ops, note="try")
    assert done == [] and refused == [(item, REFUSED_PAID)]
    report = payout_rows(campaign=loaded)
    done, refused = review_items_close(item_ids=[item.pk], action=KEEP, user=ops, note="top up in the next transfer")
    assert len(done) == 1
    adjustment = Adjustment.objects.get()
    assert (adjustment.trader.uid, adjustment.amount, adjustment.asset, adjustment.review_item_id) == (1002, Decimal("1000.00"), "USDT", item.pk)
    second.refresh_from_db()
    assert (second.state, second.amount) == ("paid", Decimal("3000.00"))
    assert payout_rows(campaign=loaded) == report  # never in the payout report
    # Kept twice is refused: the adjustment is recorded once.
    assert review_items_close(item_ids=[item.pk], action=KEEP, user=ops, note="again")[0] == []
    assert Adjustment.objects.count() == 1
    # The trader now holds 4000.00 (3000.00 paid + 1000.00): the same computation opens nothing ...
    settle_campaign(campaign=loaded, at=DUE)
    assert not ReviewItem.objects.filter(reward=second, status="open").exists()
    # ... and a new one is measured from what the trader holds.
    Post.objects.filter(author__uid=1001).update(deleted=False, judged_at=None)
    settle_campaign(campaign=loaded, at=DUE)
    item = ReviewItem.objects.get(reward=second, status="open")
    assert (item.stored_amount, item.computed_amount) == (Decimal("4000.00"), Decimal("3000.00"))
    review_items_close(item_ids=[item.pk], action=KEEP, user=ops, note="claw back")
    assert sorted(Adjustment.objects.values_list("amount", flat=True)) == [Decimal("-1000.00"), Decimal("1000.00")]


def test_a_kept_amount_is_not_raised_again_until_the_computation_moves(loaded, ops):
    second, _ = approved_board(loaded, ops)
    Post.objects.filter(author__uid=1001).update(deleted=True, judged_at=None)
    settle_campaign(campaign=loaded, at=DUE)
    item = ReviewItem.objects.get(reward=second)
    review_items_close(item_ids=[item.pk], action=KEEP, user=ops, note="the approved amount stands")
    for _ in range(2):
        settle_campaign(campaign=loaded, at=DUE)
    assert ReviewItem.objects.filter(reward=second).count() == 1
    assert reward(1002, "leaderboard").amount == Decimal("3000.00")


def test_closing_needs_a_note_and_the_approve_permission(loaded, ops):
    second, _ = approved_board(loaded, ops)
    Post.objects.filter(author__uid=1001).update(deleted=True, judged_at=None)
    settle_campaign(campaign=loaded, at=DUE)
    item = ReviewItem.objects.get(reward=second)
    from django.core.exceptions import PermissionDenied

    from rewards.exceptions import RewardError

    with pytest.raises(RewardError):
        review_items_close(item_ids=[item.pk], action=KEEP, user=ops, note="  ")
    with pytest.raises(PermissionDenied):
        review_items_close(item_ids=[item.pk], action=KEEP, user=User.objects.create_user("viewer"), note="no")
    assert ReviewItem.objects.get(pk=item.pk).status == "open"


def test_a_rejected_post_behind_a_paid_reward_opens_one_item_and_the_reward_keeps_its_explanation(loaded, ops):
    settle_campaign(campaign=loaded, at=DUE)
    bonus = reward(1001, "first_post")
    rewards_approve(reward_ids=[bonus.pk, reward(1001, "leaderboard").pk], user=ops)
    rewards_mark_paid(reward_ids=[bonus.pk, reward(1001, "leaderboard").pk], reference="batch-2", user=ops)
    posts_moderate(campaign=loaded, post_ids=list(Post.objects.filter(post_id="a3").values_list("pk", flat=True)), action="rejected", note="copied", user="ops")
    settle_campaign(campaign=loaded, at=DUE)
    board = reward(1001, "leaderboard")
    # The paid reward's explanation is the one its amount was computed with: a3 still counted.
    assert [p["post_id"] for p in board.detail["posts"]] == ["a1", "a2", "a3", "a4"]
    assert sum(p["score"] for p in board.detail["posts"]) == board.detail["content_score"] == 33
    # The first-post bonus does not move (a1 is still the first post); the leaderboard still pays
    # rank 1: no amount changed, so no item. The content pool (calculated) follows at once.
    assert not ReviewItem.objects.exists()
    assert [p["post_id"] for p in reward(1001, "content_pool", "P1").detail["posts"]] == ["a1", "a2", "a4"]


# --- check_ledger -------------------------------------------------------------------------------


def test_check_ledger_prints_ok_or_the_violations_and_exits_1(loaded, ops, capsys):
    small_pool(loaded)
    settle_campaign(campaign=loaded, at=DUE)
    call_command("check_ledger", "--campaign", loaded.slug)
    assert capsys.readouterr().out.strip() == f"{loaded.slug}: ok"
    # Written behind the services' back: 300.00 approved from a 200.00 pool, and a due preview.
    Reward.objects.filter(kind="content_pool").update(state="approved", amount=Decimal("150.00"))
    Reward.objects.filter(trader__uid=1003, kind="first_post").update(preview=True)
    with pytest.raises(CommandError) as failure:
        call_command("check_ledger", "--campaign", loaded.slug)
    assert failure.value.returncode == 1
    out = capsys.readouterr().out
    assert "content_pool P1: approved + paid 300.00 exceeds the pool 200.00 USDT by 100.00" in out
    assert "is a preview, but a settlement already made its pool due" in out


def test_check_ledger_refuses_an_unknown_campaign():
    with pytest.raises(CommandError, match="no campaign"):
        call_command("check_ledger", "--campaign", "nope")



def test_the_settle_command_prints_the_budget_view(loaded, ops, capsys):
    small_pool(loaded)
    call_command("settle", "--campaign", loaded.slug, "--at", "2026-02-26T00:00:00+08:00")
    rewards_approve(reward_ids=[reward(1001, "content_pool", "P1").pk], user=ops)
    c1_gets_likes(loaded, 30)
    capsys.readouterr()
    call_command("settle", "--campaign", loaded.slug, "--at", "2026-02-26T00:00:00+08:00")
    out = capsys.readouterr().out
    assert "review items: 1 opened, 0 updated, 0 withdrawn" in out
    assert "budget content pool P1: pool 200.00, approved + paid 100.00, calculated 134.00, still approvable 100.00 USDT, EXCEEDS what can be approved by 34.00" in out
    assert "budget first-post bonuses: no limit; approved + paid 0.00, calculated 90.00 TRIAL_FUND" in out
