"""Every cent explained, in a real browser on a phone: a trader opens a reward's breakdown and reads
the posts counted, the exact share, the floor and the rounding cent, in English and in Chinese."""

from datetime import datetime

import pytest
from playwright.sync_api import expect

from rewards.selectors.links import status_link_token
from rewards.services import settle_campaign
from rewards.services.status_links import status_link_get_or_create
from tests.e2e.conftest import PHONE, screenshot
from tests.rewards.scenario import scenario_load
from traders.models import Trader

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")


@pytest.fixture
def link(campaign):
    scenario_load(campaign)
    settle_campaign(campaign=campaign, at=DUE)
    return f"/s/{status_link_token(status_link_get_or_create(campaign=campaign, trader=Trader.objects.get(uid=1001)))}/"


def test_a_trader_opens_the_breakdown_of_each_reward(phone, link):
    page = phone("en-US")
    page.goto(link)
    pool = page.get_by_test_id("breakdown-content_pool")
    expect(pool).not_to_have_attribute("open", "")
    pool.locator("summary").click()
    expect(pool.get_by_test_id("counted-post")).to_have_count(4)
    expect(pool.get_by_test_id("creator-score")).to_have_text("33")
    expect(pool.get_by_test_id("floored")).to_have_text("100.00")
    expect(pool.get_by_test_id("rounding-cent")).to_contain_text("0.00")
    expect(pool).to_contain_text("your share reached the cap")
    board = page.get_by_test_id("breakdown-leaderboard")
    board.locator("summary").click()
    expect(board.get_by_test_id("leaderboard-score")).to_have_text("84.005")
    expect(board.get_by_test_id("breakdown-tier")).to_have_text("4,000.00")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "breakdown_en")


def test_the_breakdown_reads_in_chinese(phone, link):
    page = phone("zh-CN")
    page.goto(link)
    pool = page.get_by_test_id("breakdown-content_pool")
    pool.locator("summary").click()
    expect(pool.locator("summary")).to_have_text("这笔奖励是怎么算出来的")
    expect(pool).to_contain_text("你的创作者分数")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "breakdown_zh")


@pytest.fixture
def reviewed_link(campaign):
    """Issue 14 item 4 on the phone: 1002's rewards paid, its best post b1 rejected afterwards, and
    a later settlement that no longer ranks 1002 (two open review items at 0.00)."""
    from django.contrib.auth.models import Permission, User

    from campaign.models import Post
    from campaign.services import posts_moderate
    from rewards.models import Reward
    from rewards.services import rewards_approve, rewards_mark_paid

    scenario_load(campaign)
    settle_campaign(campaign=campaign, at=DUE)
    user = User.objects.create_user("fin", password="pw-fin-123456")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["approve_reward", "pay_reward"]))
    user = User.objects.get(pk=user.pk)
    ids = list(Reward.objects.filter(campaign=campaign).values_list("pk", flat=True))
    rewards_approve(reward_ids=ids, user=user)
    rewards_mark_paid(reward_ids=ids, reference="BATCH-1", user=user)
    posts_moderate(campaign=campaign, post_ids=list(Post.objects.filter(post_id="b1").values_list("pk", flat=True)), action="rejected", note="copied", user="ops")
    settle_campaign(campaign=campaign, at=datetime.fromisoformat("2026-02-28T12:00:00+08:00"))
    return f"/s/{status_link_token(status_link_get_or_create(campaign=campaign, trader=Trader.objects.get(uid=1002)))}/"


def test_a_paid_reward_under_review_shows_its_own_breakdown_and_the_new_computation_apart(phone, reviewed_link):
    page = phone("en-US")
    page.goto(reviewed_link)
    standing = page.get_by_test_id("standing")
    expect(standing.get_by_test_id("standing-rank")).to_contain_text("#2")
    expect(standing.get_by_test_id("standing-review")).to_contain_text("New computation, under review by the campaign team: not in the Top 10.")
    reward = page.get_by_test_id("reward-leaderboard")
    expect(reward.get_by_test_id("computed-by")).to_have_text("As computed by the settlement of 2026-02-26 00:00 (UTC+8).")
    stored = reward.get_by_test_id("breakdown-leaderboard")
    stored.locator("summary").click()
    expect(stored.get_by_test_id("counted-post")).to_have_count(3)
    expect(stored.get_by_test_id("content-score")).to_have_text("36")
    expect(stored.get_by_test_id("breakdown-rank")).to_have_text("#2")
    review = reward.get_by_test_id("review-leaderboard")
    expect(review.get_by_test_id("review-amount")).to_have_text("0.00 USDT")
    new = review.get_by_test_id("review-breakdown-leaderboard")
    expect(new).not_to_have_attribute("open", "")
    new.locator("summary").click()
    expect(new).to_contain_text("This computation does not place you in the paid places of the leaderboard")
    expect(new.get_by_test_id("counted-post")).to_have_count(0)
    # The box sits below the stored breakdown, never inside it.
    assert stored.bounding_box()["y"] + stored.bounding_box()["height"] <= review.bounding_box()["y"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "breakdown_review_en")

    page = phone("zh-CN")
    page.goto(reviewed_link)
    expect(page.get_by_test_id("review-content_pool")).to_contain_text("新的计算结果，正在由活动团队复核：")
    page.get_by_test_id("review-breakdown-content_pool").locator("summary").click()
    page.get_by_test_id("breakdown-content_pool").locator("summary").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "breakdown_review_zh")
