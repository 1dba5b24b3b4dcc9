"""Every cent explained, in a real browser on a phone: a trader opens a reward's breakdown and reads
the posts counted, the exact share, the floor and the rounding cent, in English and in Chinese."""

from datetime import datetime

import pytest
from playwright.sync_api import expect

from campaign.services import posts_import_file, signups_import
from rewards.selectors import status_link_token
from rewards.services import settle_campaign
from rewards.services.status_links import status_link_get_or_create
from tests.e2e.conftest import PHONE, screenshot
from tests.rewards.scenario import REGISTRATIONS, SIGNUPS, STATS, posts_jsonl
from traders.models import Trader
from traders.services import registrations_import, trader_stats_import

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")


@pytest.fixture
def link(campaign):
    registrations_import(data=REGISTRATIONS.encode())
    signups_import(campaign=campaign, data=SIGNUPS.encode())
    trader_stats_import(data=STATS.encode())
    assert posts_import_file(campaign=campaign, data=posts_jsonl().encode()).ok
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
    expect(board.get_by_test_id("breakdown-tier")).to_have_text("4000.00")
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
