"""The trader status page and the public campaign page in a real browser, on a 390 px phone:
a trader opens their personal link in Chinese and in English, switches language, and a forged
link shows nothing. Screenshots of every step go to var/screenshots/."""

from datetime import datetime

import pytest
from playwright.sync_api import expect

from rewards.selectors.links import status_link_token
from rewards.services import settle_campaign
from rewards.services.status_links import status_link_get_or_create
from rewards.services.traffic import traffic_refresh
from tests.e2e.conftest import PHONE, screenshot
from tests.rewards.scenario import scenario_load
from traders.models import Trader

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")


@pytest.fixture
def link(campaign):
    """The settled scenario of tests/rewards/scenario.py, and trader 1001's personal link."""
    scenario_load(campaign)
    settle_campaign(campaign=campaign, at=DUE)
    traffic_refresh(campaign=campaign, at=DUE)
    return f"/s/{status_link_token(status_link_get_or_create(campaign=campaign, trader=Trader.objects.get(uid=1001)))}/"


def fits_the_phone(page):
    """Nothing is wider than the screen: no sideways scrolling on a 390 px phone."""
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_trader_opens_their_link_in_chinese_on_a_phone(phone, link):
    page = phone("zh-CN")
    response = page.goto(link)
    assert response.status == 200
    assert response.headers["referrer-policy"] == "no-referrer" and response.headers["cache-control"] == "private, no-store"
    expect(page.locator("h1")).to_have_text("我的活动状态")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_test_id("trader")).to_contain_text("alpha")
    expect(page.locator(".step.done")).to_have_count(3)
    expect(page.get_by_test_id("post")).to_have_count(4)
    expect(page.get_by_test_id("standing")).to_contain_text("#1")
    expect(page.get_by_test_id("reward-leaderboard")).to_contain_text("4000.00 USDT")  # Chinese groups digits by 4
    assert fits_the_phone(page)
    screenshot(page, "status_zh")


def test_a_trader_reads_it_in_english_and_switches_to_chinese(phone, link):
    page = phone("en-US")
    page.goto(link)
    expect(page.locator("h1")).to_have_text("My campaign status")
    expect(page.get_by_test_id("time-left")).to_contain_text("The campaign window has closed.")
    expect(page.get_by_test_id("post").first).to_contain_text("Counts")
    assert fits_the_phone(page)
    screenshot(page, "status_en")

    page.click('a[data-lang="zh-hans"]')
    expect(page.locator("h1")).to_have_text("我的活动状态")
    page.goto(link)  # the choice is remembered without the query string
    expect(page.locator("h1")).to_have_text("我的活动状态")
    screenshot(page, "status_switched_zh")


def test_a_trader_on_spot_sees_what_is_missing(phone, link, campaign):
    page = phone("en-US")
    page.goto(f"/s/{status_link_token(status_link_get_or_create(campaign=campaign, trader=Trader.objects.get(uid=1004)))}/")
    expect(page.get_by_test_id("step-registration")).to_contain_text("registered as a spot lead trader")
    # The window closed and the final settlement ran: what was missing, with no advice to finish it.
    expect(page.get_by_test_id("enrolled")).to_have_text("The campaign is over and you were not enrolled: below is what was not completed.")
    expect(page.get_by_test_id("post")).to_contain_text("You were not enrolled in the campaign, so it does not count.")
    assert fits_the_phone(page)
    screenshot(page, "status_missing_step_en")


def test_a_forged_link_shows_nothing(phone, link):
    page = phone("en-US")
    token = link.split("/")[2]
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    response = page.goto(f"/s/{forged}/")
    assert response.status == 404
    expect(page.get_by_test_id("invalid-link")).to_be_visible()
    body = page.locator("body").inner_text()
    assert "alpha" not in body and "1001" not in body and "USDT" not in body
    screenshot(page, "forged_link")


def test_the_public_page_reads_well_on_a_phone(phone, link):
    page = phone("zh-CN")
    page.goto("/")
    expect(page.get_by_test_id("campaign-name")).to_have_text("Gate 广场明星带单交易员二期招募")
    expect(page.get_by_test_id("board-row")).to_have_count(2)
    expect(page.get_by_test_id("board-row").first).to_contain_text("alpha")
    assert fits_the_phone(page)
    screenshot(page, "public_zh")
    page.click('a[data-lang="en"]')
    expect(page.get_by_test_id("rules")).to_contain_text("The rules in short")
    screenshot(page, "public_en")
