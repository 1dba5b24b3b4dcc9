"""The reward actions' intermediate pages in the admin: approving asks for a confirmation that
shows the selection in words with its count and total per asset, and approves through the
service only once confirmed; the mark-paid form shows the same, under proper breadcrumbs."""

import re
from datetime import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

import rewards.admin_ledger
from rewards.models import Reward, RewardEvent
from rewards.services import rewards_approve, settle_campaign

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
REWARDS = "/admin/rewards/reward/"
CONFIRMATION = "admin/rewards/reward/confirm_action.html"


def staff(username, *codenames):
    user = User.objects.create_user(username, password=f"pw-{username}-123456", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="rewards", codename__in=codenames))
    client = Client()
    client.force_login(user)
    return User.objects.get(pk=user.pk), client


@pytest.fixture
def settled(loaded):
    return settle_campaign(campaign=loaded, at=DUE)


def due_ids(state="calculated"):
    return list(Reward.objects.filter(state=state, preview=False).order_by("pk").values_list("pk", flat=True))


def totals_on(html):
    """The page's total per asset, as {asset: text}."""
    block = re.search(r'<div class="module" id="action-totals".*?</div>', html, re.S).group(0)
    return dict(re.findall(r'<tr data-asset="([^"]+)">.*?<td class="total"[^>]*>([^<]+)</td>', block, re.S))


def expected_totals(ids):
    totals = {}
    for asset, amount in Reward.objects.filter(pk__in=ids).values_list("asset", "amount"):
        totals[asset] = totals.get(asset, Decimal("0")) + amount
    return {asset: f"{total:,.2f} {asset}" for asset, total in totals.items()}


def row_of(html, pk):
    return re.search(rf'<tr data-reward="{pk}"[^>]*>(.*?)</tr>', html, re.S).group(1)


def test_approving_first_shows_the_selection_in_words_with_its_count_and_total_per_asset(settled):
    _user, client = staff("ops", "view_reward", "approve_reward")
    ids = due_ids()
    response = client.post(REWARDS, {"action": "approve", "_selected_action": ids})
    assert response.status_code == 200 and CONFIRMATION in [t.name for t in response.templates]
    html = response.content.decode()
    assert f"{len(ids)} rewards will be approved, in total:" in html
    assert totals_on(html) == expected_totals(ids) == {"USDT": "7,200.00 USDT", "TRIAL_FUND": "90.00 TRIAL_FUND"}
    board = Reward.objects.get(pk__in=ids, trader__uid=1001, kind="leaderboard")
    row = row_of(html, board.pk)
    assert "1001 alpha" in row and "<td>leaderboard</td><td>whole campaign</td>" in row and "4,000.00" in row
    first_post = Reward.objects.get(pk__in=ids, trader__uid=1001, kind="first_post")
    assert "<td>first-post bonus</td>" in row_of(html, first_post.pk) and "first_post" not in html.split('id="selected-rewards"')[1]
    assert '<input type="hidden" name="post" value="yes">' in html and 'value="Yes, approve"' in html
    assert all(f'name="_selected_action" value="{pk}"' in html for pk in ids)
    assert set(Reward.objects.filter(pk__in=ids).values_list("state", flat=True)) == {"calculated"}  # nothing approved yet
    assert not RewardEvent.objects.exists()


def test_the_approve_confirmation_counts_only_what_can_be_approved_and_says_what_will_be_refused(settled):
    user, client = staff("ops", "view_reward", "approve_reward")
    approved = due_ids()[:1]
    rewards_approve(reward_ids=approved, user=user)
    calculated = due_ids()
    html = client.post(REWARDS, {"action": "approve", "_selected_action": approved + calculated}).content.decode()
    assert f"{len(calculated)} rewards will be approved, in total:" in html
    assert totals_on(html) == expected_totals(calculated)
    assert "1 selected reward will be refused: see why in the list." in html
    assert "approved, not calculated" in row_of(html, approved[0]) and 'class="refused"' in html


def test_confirming_approves_the_selection_through_the_service(settled, monkeypatch):
    _user, client = staff("ops", "view_reward", "approve_reward")
    ids, calls = due_ids(), []

    def spy(**kwargs):
        calls.append(kwargs)
        return rewards_approve(**kwargs)

    monkeypatch.setattr(rewards.admin_ledger, "rewards_approve", spy)
    client.post(REWARDS, {"action": "approve", "_selected_action": ids})
    assert calls == []  # the confirmation page asks the service nothing
    response = client.post(REWARDS, {"action": "approve", "_selected_action": ids, "post": "yes"}, follow=True)
    assert [sorted(call["reward_ids"]) for call in calls] == [ids]
    assert f"Approved: {len(ids)} reward(s)." in [str(m) for m in response.context["messages"]]
    assert set(Reward.objects.filter(pk__in=ids).values_list("state", "approved_by")) == {("approved", "ops")}
    assert RewardEvent.objects.filter(action="approve").count() == len(ids)


def test_a_user_without_the_approve_permission_gets_neither_the_confirmation_nor_an_approval(settled):
    _user, client = staff("payer", "view_reward", "pay_reward")
    ids = due_ids()
    response = client.post(REWARDS, {"action": "approve", "_selected_action": ids})
    assert CONFIRMATION not in [t.name for t in response.templates or []]
    response = client.post(REWARDS, {"action": "approve", "_selected_action": ids, "post": "yes"}, follow=True)
    assert "No action selected." in [str(m) for m in response.context["messages"]]
    assert set(Reward.objects.filter(pk__in=ids).values_list("state", flat=True)) == {"calculated"}
    assert not RewardEvent.objects.exists()


def test_the_mark_paid_form_shows_words_totals_per_asset_and_the_breadcrumbs_of_the_rewards(settled):
    user, client = staff("ops", "view_reward", "approve_reward", "pay_reward")
    rewards_approve(reward_ids=due_ids(), user=user)
    approved = due_ids("approved")
    response = client.post(REWARDS, {"action": "mark_paid", "_selected_action": approved})
    assert response.status_code == 200 and CONFIRMATION in [t.name for t in response.templates]
    html = response.content.decode()
    crumbs = re.search(r'<div class="breadcrumbs">(.*?)</div>', html, re.S).group(1)
    assert re.sub(r"\s+", " ", crumbs).strip() == (
        '<a href="/admin/">Home</a> &rsaquo; <a href="/admin/rewards/">Rewards</a> &rsaquo; <a href="/admin/rewards/reward/">Rewards</a> &rsaquo; Mark paid'
    )
    assert f"{len(approved)} rewards will be marked paid, in total:" in html
    assert totals_on(html) == expected_totals(approved)
    pool = Reward.objects.filter(pk__in=approved, kind="content_pool").first()
    assert "<td>content pool</td><td>period P1</td>" in row_of(html, pool.pk)
    assert 'id="id_reference"' in html and '<input type="hidden" name="apply" value="yes">' in html
    assert set(Reward.objects.filter(pk__in=approved).values_list("state", flat=True)) == {"approved"}  # the form pays nothing


def test_the_mark_paid_form_leaves_unapproved_rewards_out_of_the_totals(settled):
    user, client = staff("ops", "view_reward", "approve_reward", "pay_reward")
    calculated = due_ids()
    rewards_approve(reward_ids=calculated[1:], user=user)
    html = client.post(REWARDS, {"action": "mark_paid", "_selected_action": calculated}).content.decode()
    assert totals_on(html) == expected_totals(calculated[1:])
    assert "calculated, not approved" in row_of(html, calculated[0])


def test_the_void_form_shows_the_same_totals_and_voids_only_with_its_note(settled):
    _user, client = staff("ops", "view_reward", "approve_reward")
    ids = due_ids()[:2]
    html = client.post(REWARDS, {"action": "void", "_selected_action": ids}).content.decode()
    assert "2 rewards will be voided, in total:" in html and totals_on(html) == expected_totals(ids)
    assert set(Reward.objects.filter(pk__in=ids).values_list("state", flat=True)) == {"calculated"}
    client.post(REWARDS, {"action": "void", "_selected_action": ids, "apply": "yes", "note": "duplicate account"})
    assert set(Reward.objects.filter(pk__in=ids).values_list("state", flat=True)) == {"void"}
    assert list(RewardEvent.objects.filter(action="void").values_list("note", flat=True)) == ["duplicate account"] * 2
