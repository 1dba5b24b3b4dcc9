"""Why an edit of the campaign may not take a pool below its commitments (RULES.md section 8), in
the reader's language (issue 18): `pool_budget_conflicts` says it in English exactly as before and
in Chinese with the pools named as the ledger's pages name them, on the campaign's form and on the
what-if page. The scenario settled and approved commits 200.00 USDT of content pool P1, 7000.00
USDT of the leaderboard pool and three 30.00 first-post bonuses.
"""

from datetime import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import translation
from pytest_django.asserts import assertContains, assertNotContains

from campaign.models import Campaign
from rewards.budgets import pool_budget_conflicts
from rewards.models import Reward
from rewards.services import rewards_approve, settle_campaign

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")

CONFLICTS = {
    "en": {
        "pool_amount": ["200.00 USDT of the content pool P1 is already approved or paid: the pool cannot be 150.00 (50.00 short)"],
        "pool_asset": ["the content pool P1 already holds rewards in USDT: its asset cannot change"],
        "first_post_limit": ["3 first-post bonuses are already approved or paid: the limit cannot be 1"],
        "leaderboard_tiers": ["7000.00 USDT of the leaderboard pool is already approved or paid: the pool cannot be 1000.00 (6000.00 short)"],
    },
    "zh-hans": {
        "pool_amount": ["内容激励池 P1：已有 200.00 USDT 已审批或已发放，奖池不能设为 150.00（缺口 50.00）"],
        "pool_asset": ["内容激励池 P1：已有以 USDT 计的奖励，资产不能更改"],
        "first_post_limit": ["首帖奖励：已有 3 个已审批或已发放，名额上限不能设为 1"],
        "leaderboard_tiers": ["排行榜奖池：已有 7000.00 USDT 已审批或已发放，奖池不能设为 1000.00（缺口 6000.00）"],
    },
}


@pytest.fixture
def committed(loaded):
    settle_campaign(campaign=loaded, at=DUE)
    approver = User.objects.create_user("approver")
    approver.user_permissions.add(*Permission.objects.filter(codename__in=["approve_reward"]))
    done, refused = rewards_approve(reward_ids=list(Reward.objects.values_list("pk", flat=True)), user=User.objects.get(pk=approver.pk))
    assert done and not refused
    return Campaign.objects.get(pk=loaded.pk)


def smaller(campaign: Campaign) -> Campaign:
    proposed = Campaign.objects.get(pk=campaign.pk)
    proposed.pool_amount, proposed.pool_asset, proposed.first_post_limit, proposed.leaderboard_tiers = Decimal("150.00"), "USDC", 1, ["1000.00"]
    return proposed


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_each_conflict_is_said_in_the_readers_language(committed, language):
    with translation.override(language):
        assert pool_budget_conflicts(campaign=committed, proposed=smaller(committed)) == CONFLICTS[language]


def test_an_edit_that_keeps_every_commitment_has_no_conflict_in_either_language(committed):
    for language in ("en", "zh-hans"):
        with translation.override(language):
            assert pool_budget_conflicts(campaign=committed, proposed=Campaign.objects.get(pk=committed.pk)) == {}


def campaign_form(campaign: Campaign, **changes) -> dict:
    data = {f.name: "" if f.value_from_object(campaign) is None else f.value_from_object(campaign) for f in campaign._meta.concrete_fields if f.editable and f.name != "id"}
    data.update(starts_at_0="2026-02-12", starts_at_1="18:00:00", ends_at_0="2026-02-25", ends_at_1="00:00:00")
    data.update(latin_terms="\n".join(campaign.latin_terms), cjk_terms="\n".join(campaign.cjk_terms), leaderboard_tiers="\n".join(campaign.leaderboard_tiers))
    data.update(changes)
    return data


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_campaign_form_refuses_in_the_readers_language(committed, root, language):
    data = campaign_form(committed, pool_amount="150.00", pool_asset="USDC", first_post_limit="1", leaderboard_tiers="1000.00")
    response = root.post(f"/admin/campaign/campaign/{committed.pk}/change/", data, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200  # the form again, with its errors
    assert {name: list(response.context["adminform"].form.errors[name]) for name in CONFLICTS[language]} == CONFLICTS[language]
    for message in CONFLICTS[language]["pool_amount"] + CONFLICTS[language]["leaderboard_tiers"]:
        assertContains(response, message)
    other = "en" if language == "zh-hans" else "zh-hans"
    assertNotContains(response, CONFLICTS[other]["pool_amount"][0])
    assert Campaign.objects.get(pk=committed.pk).pool_amount == committed.pool_amount


def test_the_what_if_page_refuses_in_chinese(committed, root):
    from tests.rewards.test_whatif_admin import form_data

    url = reverse("admin:campaign_campaign_whatif", args=[committed.pk])
    response = root.post(url, {**form_data(committed, pool_amount="150.00", first_post_limit="1"), "_preview": "1"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    form = response.context["form"]
    assert (list(form.errors["pool_amount"]), list(form.errors["first_post_limit"])) == (CONFLICTS["zh-hans"]["pool_amount"], CONFLICTS["zh-hans"]["first_post_limit"])
    assertContains(response, CONFLICTS["zh-hans"]["pool_amount"][0], status_code=400)
    assertNotContains(response, "already approved or paid", status_code=400)
