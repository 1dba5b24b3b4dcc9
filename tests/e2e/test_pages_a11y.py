"""The six pages people read (issue 18) in a real browser (Debian's Chromium via Playwright) at 390
and 1280 px, in English and Chinese: the trader status page, the public campaign page, the
campaign dashboard, the rewards list, a what-if preview and the review items list.

Each page answers 200 in the language asked for, never scrolls sideways, shows the key cells of
its table whole (at 390 px a table may scroll inside its own container: `HIDDEN_PARTS` in
tests/e2e/conftest.py), and axe-core finds no serious or critical violation on it. No axe rule is
turned off.

axe-core is the version package-lock.json pins, installed by `npm ci` (`python3 dev.py test` runs
it when npm is here). Without it the test is skipped, and fails under CI, like Chromium. It is
injected as a script tag, which the Content-Security-Policy (`script-src 'self'`) refuses, so the
contexts of this test alone bypass the CSP; tests/e2e/test_csp.py checks the policy on every page.

Every run leaves a screenshot of each page, width and language (`status_390_en.png`) in
var/screenshots/, or in SCREENSHOTS_DIR when set: `python3 dev.py screenshots` runs the README's
fourteen into docs/screenshots/.
"""

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from campaign.models import Post
from rewards.models import ReviewItem
from rewards.selectors.links import status_link_token
from rewards.services import settle_campaign
from rewards.services.status_links import status_link_get_or_create
from rewards.services.traffic import traffic_refresh
from tests.e2e.conftest import DESKTOP, DUE, SCREENSHOTS, hidden_parts, page_scrolls_sideways
from traders.models import Trader

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NODE_MODULES = Path(settings.BASE_DIR) / "node_modules"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
TALLEST = 2_400  # px: the screenshot of a longer page keeps its top
SERIOUS = {"serious", "critical"}


@dataclass(frozen=True)
class Shown:
    """One page: its path (from the `shown` fixture), whether ops are logged in, a heading (its
    selector and a text it shows in English and in Chinese), and the key cells of its table."""

    path: Callable[[dict], str]
    ops: bool
    heading: str
    en: str
    zh: str
    cells: str


# fmt: off
PAGES = {
    "status": Shown(lambda s: s["status"], ops=False, heading="h1", en="My campaign status", zh="我的活动状态",
                    cells="[data-testid^=reward-] .amount"),
    "public": Shown(lambda s: f"/c/{s['campaign'].slug}/", ops=False, heading="[data-testid=rules] h2", en="The rules in short", zh="规则简介",
                    cells="[data-testid=board-row] .score"),
    "dashboard": Shown(lambda s: f"/admin/campaign/campaign/{s['campaign'].pk}/dashboard/", ops=True, heading="h1", en="Dashboard:", zh="仪表盘：",
                       cells="#pools th, #pools td"),
    "rewards": Shown(lambda s: "/admin/rewards/reward/", ops=True, heading="h1", en="Select reward to change", zh="选择 奖励 来修改",
                     cells="#result_list td.field-amount, #result_list td.field-state_badge"),
    "whatif": Shown(lambda s: f"/admin/campaign/campaign/{s['campaign'].pk}/whatif/{s['whatif'].pk}/", ops=True, heading="h1",
                    en="What-if preview #", zh="假设预览 #",  # the gains' difference and, just before it, the proposed amount
                    cells="#whatif-gainers tr.whatif-row td.whatif-gain, #whatif-gainers tr.whatif-row td:has(+ td.whatif-gain)"),
    "reviewitems": Shown(lambda s: "/admin/rewards/reviewitem/", ops=True, heading="h1", en="Select review item to view", zh="选择复核项查看",
                         cells="#result_list td.field-ledger_amount, #result_list td.field-computed, "
                               "#result_list td.field-difference_signed, #result_list td.field-status"),
}
# fmt: on
LANGUAGES = {"en-US": "en", "zh-CN": "zh-hans"}  # the locale the browser asks for: the page's <html lang>

# Every violation, with its impact and its first element, for the assertion's message.
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((v) => ({id: v.id, impact: v.impact, nodes: v.nodes.length, first: v.nodes[0].target.join(" ")}));
}"""


@pytest.fixture(scope="module")
def axe() -> Path:
    """axe.min.js of the version package-lock.json pins; without it the test is skipped (failed
    under CI), before the ledger is built."""
    pinned = json.loads((Path(settings.BASE_DIR) / "package-lock.json").read_text())["packages"]["node_modules/axe-core"]["version"]
    manifest = NODE_MODULES / "axe-core" / "package.json"
    found = json.loads(manifest.read_text())["version"] if manifest.exists() and AXE.exists() else None
    if found != pinned:
        reason = f"needs axe-core {pinned} in node_modules/ (found {found or 'none'}): run npm ci, which python3 dev.py test does when npm is installed"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but this test {reason}")
        pytest.skip(reason)
    return AXE


@pytest.fixture
def shown(ledger):
    """The ledger of tests/e2e/conftest.py with the day's featured posts, then trader 1002's posts
    deleted and the campaign settled again, so that 1002's approved and paid rewards get open
    review items; and trader 1001's status link."""
    campaign = ledger["campaign"]
    traffic_refresh(campaign=campaign, at=DUE)
    Post.objects.filter(author__uid=1002).update(deleted=True, judged_at=None)
    settle_campaign(campaign=campaign, at=DUE)
    assert ReviewItem.objects.filter(status=ReviewItem.Status.OPEN).count() >= 1
    link = status_link_get_or_create(campaign=campaign, trader=Trader.objects.get(uid=1001))
    return {**ledger, "status": f"/s/{status_link_token(link)}/"}


@pytest.fixture
def open_page(axe, chromium, live_server, shown):
    """A factory of pages at a width and in a locale, as ops or as anyone, closed after the test."""
    client = Client()
    client.force_login(shown["ops"])
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    contexts = []

    def page_open(path, *, width, locale, ops):
        viewport = {"width": width, "height": 900}
        context = chromium.new_context(base_url=live_server.url, locale=locale, viewport=viewport, device_scale_factor=1, bypass_csp=True)
        context.set_default_timeout(15_000)
        if ops:
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
        contexts.append(context)
        page = context.new_page()
        assert page.goto(path).status == 200, path
        return page

    yield page_open
    for context in contexts:
        context.close()


def screenshot_take(page, name):
    """The whole page, or its top 2,400 px: into SCREENSHOTS_DIR when set, var/screenshots/ otherwise."""
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("document.documentElement.scrollHeight")
    clip = {"x": 0, "y": 0, "width": page.viewport_size["width"], "height": TALLEST} if height > TALLEST else None
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True, clip=clip)


@pytest.mark.parametrize("locale", list(LANGUAGES))
@pytest.mark.parametrize("width", [390, DESKTOP])
@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_reads_in_its_language_fits_the_screen_and_axe_finds_nothing_serious(axe, open_page, shown, name, width, locale):
    spec = PAGES[name]
    page = open_page(spec.path(shown), width=width, locale=locale, ops=spec.ops)
    screenshot_take(page, f"{name}_{width}_{locale[:2]}")

    assert page.locator("html").get_attribute("lang") == LANGUAGES[locale]
    assert (spec.en if locale == "en-US" else spec.zh) in page.locator(spec.heading).first.inner_text()

    assert not page_scrolls_sideways(page)
    assert hidden_parts(page, spec.cells, width=width) == []

    page.add_script_tag(path=str(axe))
    violations = page.evaluate(AXE_RUN)
    serious = [f"{v['id']} ({v['impact']}, {v['nodes']} elements, first: {v['first']})" for v in violations if v["impact"] in SERIOUS]
    assert serious == [], f"axe-core on {name} at {width} px in {locale}: " + "; ".join(serious)
