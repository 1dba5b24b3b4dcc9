"""Marking rewards paid (RULES.md section 8): a payout batch is created when the first reward is
paid into it, never empty; every refusal says why, through the service, the admin and the API."""

import json
import threading
from datetime import datetime

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client

from core.api.tokens import api_token_create
from rewards.exceptions import RewardError
from rewards.models import PayoutBatch, Reward
from rewards.services import rewards_approve, rewards_mark_paid, settle_campaign
from rewards.services.ledger import REFUSED_STATE, Refusal
from tests.api.conftest import OPS_PERMS, grant, token_client
from tests.factories import CampaignFactory

DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")


def user_with(*codenames, staff=False, name="payer"):
    user = User.objects.create_user(name, password=f"pw-{name}-123456", is_staff=staff)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="rewards", codename__in=codenames))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def ledger(loaded):
    """Settled when due; 1001's rewards approved, 1002's calculated."""
    run = settle_campaign(campaign=loaded, at=DUE)
    rewards_approve(reward_ids=list(run.rewards.filter(trader__uid=1001).values_list("pk", flat=True)), user=user_with("approve_reward", name="approver"))
    return run


def ids(uid, state):
    return list(Reward.objects.filter(trader__uid=uid, state=state, preview=False).order_by("pk").values_list("pk", flat=True))


@pytest.mark.django_db
def test_a_payment_whose_every_reward_is_refused_creates_no_batch(ledger):
    calculated = ids(1002, "calculated")
    batch, done, refused = rewards_mark_paid(reward_ids=calculated, reference="BANK-0", user=user_with("pay_reward"))
    assert (batch, done) == (None, [])
    assert [(r.pk, refusal) for r, refusal in refused] == [(pk, Refusal(REFUSED_STATE, "calculated")) for pk in calculated]
    assert not PayoutBatch.objects.exists()
    assert set(Reward.objects.filter(pk__in=calculated).values_list("state", flat=True)) == {"calculated"}


@pytest.mark.django_db
def test_a_partly_refused_payment_pays_the_approved_rewards_in_one_new_batch(ledger):
    approved, calculated = ids(1001, "approved"), ids(1002, "calculated")
    batch, done, refused = rewards_mark_paid(reward_ids=approved + calculated, reference="BANK-1", user=user_with("pay_reward"), note="wire")
    assert batch.reference == "BANK-1" and batch.note == "wire"
    assert [r.pk for r in done] == approved and [r.pk for r, _ in refused] == calculated
    assert list(PayoutBatch.objects.values_list("reference", flat=True)) == ["BANK-1"]
    assert set(Reward.objects.filter(pk__in=approved).values_list("state", "payout_batch__reference")) == {("paid", "BANK-1")}


@pytest.mark.django_db
def test_paying_again_pays_nothing_twice_and_answers_with_the_existing_batch(ledger):
    user, approved = user_with("pay_reward"), ids(1001, "approved")
    first, _, _ = rewards_mark_paid(reward_ids=approved, reference="BANK-2", user=user)
    again, done, refused = rewards_mark_paid(reward_ids=approved, reference="BANK-2", user=user)
    assert again == first and done == [] and {refusal for _, refusal in refused} == {Refusal(REFUSED_STATE, "paid")}
    assert PayoutBatch.objects.count() == 1 and first.rewards.count() == len(approved)


@pytest.mark.django_db
def test_a_reference_of_another_campaign_is_refused_even_when_nothing_would_be_paid(ledger):
    PayoutBatch.objects.create(campaign=CampaignFactory(), reference="USED", created_by="x")
    with pytest.raises(RewardError, match="payout batch USED belongs to another campaign"):
        rewards_mark_paid(reward_ids=ids(1002, "calculated"), reference="USED", user=user_with("pay_reward"))
    assert PayoutBatch.objects.count() == 1


@pytest.mark.django_db
def test_the_admin_says_why_nothing_was_paid_and_creates_no_batch(ledger):
    client = Client(enforce_csrf_checks=False)
    client.force_login(user_with("view_reward", "pay_reward", staff=True, name="ops"))
    calculated = ids(1002, "calculated")
    response = client.post(
        "/admin/rewards/reward/",
        {"action": "mark_paid", "_selected_action": calculated, "apply": "1", "reference": "BANK-ADMIN", "note": ""},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert f"Reward #{calculated[0]} is calculated, not approved." in messages
    assert any(m.startswith("Nothing was marked paid: every selected reward was refused") for m in messages)
    assert not PayoutBatch.objects.exists()


@pytest.mark.django_db
def test_the_api_says_why_nothing_was_paid_and_creates_no_batch(ledger):
    user = grant(User.objects.create_user("api-payer"), OPS_PERMS)
    _, secret = api_token_create(user=user, name="pay", scopes=["ops"])
    calculated = ids(1002, "calculated")
    response = token_client(secret).post("/api/v1/rewards/mark-paid/", data=json.dumps({"reward_ids": calculated, "reference": "BANK-API"}), content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {
        "batch": None,
        "detail": "nothing was marked paid: every reward was refused (see refused); no payout batch was created or changed",
        "done": [],
        "refused": [{"id": pk, "reason": f"reward {pk} is calculated, not approved"} for pk in calculated],
    }
    assert not PayoutBatch.objects.exists()
    approved = ids(1001, "approved")
    body = token_client(secret).post("/api/v1/rewards/mark-paid/", data=json.dumps({"reward_ids": approved, "reference": "BANK-API"}), content_type="application/json").json()
    assert (body["batch"], body["done"], body["detail"]) == ("BANK-API", approved, f"{len(approved)} reward(s) marked paid in payout batch BANK-API")


@pytest.mark.postgres
def test_two_payments_at_once_with_one_new_reference_make_one_batch_and_pay_each_reward_once(transactional_db, loaded, ledger_invariants):
    run = settle_campaign(campaign=loaded, at=DUE)
    rewards_approve(reward_ids=list(run.rewards.filter(preview=False).values_list("pk", flat=True)), user=user_with("approve_reward", name="approver"))
    payer, approved = user_with("pay_reward"), ids(1001, "approved") + ids(1002, "approved")
    barrier, errors, outcomes = threading.Barrier(2), [], []

    def pay():
        try:
            barrier.wait()
            outcomes.append(rewards_mark_paid(reward_ids=approved, reference="BANK-RACE", user=payer))
        except Exception as exc:  # noqa: BLE001 - the assertion below reports whatever went wrong
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(len(done) for _, done, _ in outcomes) == [0, len(approved)]
    assert list(PayoutBatch.objects.values_list("reference", flat=True)) == ["BANK-RACE"]
    assert Reward.objects.filter(pk__in=approved, state="paid", payout_batch__reference="BANK-RACE").count() == len(approved)
