"""A prolific trader's long breakdown in a real browser, on a 390 px phone: the status page lists
its first lines and a link to the rest; the breakdown's own pages follow one another, keep the
language, lead back to the status page, fit the phone, and axe-core finds nothing serious."""

import json
import random
import string
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings

from campaign.services import posts_import_file
from rewards.selectors.links import status_link_token
from rewards.services import settle_campaign
from rewards.services.status_links import status_link_get_or_create
from tests.e2e.conftest import PHONE, screenshot
from tests.factories import enrolled_trader

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
START = datetime.fromisoformat("2026-02-12T18:00:00+08:00")
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def link(campaign):
    """A trader with 70 qualifying posts, settled: the leaderboard breakdown counts 70, two pages."""
    trader = enrolled_trader(uid=8300, nickname="prolific")
    rnd = random.Random(8300)
    lines = [json.dumps({"post_id": f"long-{i:03d}", "author_uid": 8300, "created_at": (START + timedelta(hours=3 * i)).isoformat(),
                         "text": "ETH perpetual short " + " ".join("".join(rnd.choices(string.ascii_lowercase, k=7)) for _ in range(20)),
                         "likes": i, "comments": 1, "shares": 0, "views": 100, "deleted": False}) for i in range(70)]  # fmt: skip
    assert posts_import_file(campaign=campaign, data="\n".join(lines).encode()).ok
    settle_campaign(campaign=campaign, at=DUE)
    return f"/s/{status_link_token(status_link_get_or_create(campaign=campaign, trader=trader))}/"


def test_a_trader_reads_every_line_of_a_long_breakdown_page_by_page_on_a_phone(phone, link):
    page = phone("en-US")
    assert page.goto(link).status == 200
    board = page.locator('[data-testid="breakdown-leaderboard"]')
    board.locator("summary").click()
    assert board.locator('[data-testid="counted-post"]').count() == 50
    board.locator('[data-testid="breakdown-more-link"]').click()
    page.wait_for_url("**/breakdown/leaderboard/ALL/?page=2")
    assert page.locator('[data-testid="counted-post"]').count() == 20
    assert "Posts 51–70 of 70 in this breakdown." in page.locator('[data-testid="breakdown-lines"]').inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "breakdown_page_2_en")

    page.locator('[data-lang="zh-hans"]').click()  # the language switch keeps the page
    page.wait_for_url("**/breakdown/leaderboard/ALL/?page=2&lang=zh-hans")
    assert page.locator("html").get_attribute("lang") == "zh-hans" and "第 2 页，共 2 页" in page.locator('[data-testid="pager"]').inner_text()
    page.locator('[data-testid="pager-previous"]').click()  # the pager keeps the language
    page.wait_for_url("**/breakdown/leaderboard/ALL/?page=1&lang=zh-hans")
    assert page.locator('[data-testid="counted-post"]').count() == 50
    page.locator('[data-testid="back-to-status"]').click()
    page.wait_for_url(f"**{link}?lang=zh-hans")
    assert "我的活动状态" in page.locator("h1").inner_text()


def test_axe_finds_nothing_serious_on_a_breakdown_page(chromium, live_server, link):
    if not AXE.exists():
        pytest.skip("needs axe-core in node_modules/: run npm ci")
    context = chromium.new_context(base_url=live_server.url, locale="en-US", viewport=PHONE, bypass_csp=True)  # axe comes as a script tag
    try:
        page = context.new_page()
        assert page.goto(f"{link}breakdown/leaderboard/ALL/?page=2").status == 200
        page.add_script_tag(path=str(AXE))
        violations = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map((v) => [v.id, v.impact])")
        assert [v for v in violations if v[1] in ("serious", "critical")] == []
    finally:
        context.close()
