"""Browser fixtures: Debian's Chromium driven by Playwright, phone pages for the trader and public
pages, and the settled ledger with logged-in admin pages at a width and in a locale.

Skipped (or failed under CI) by the `browser` rule of tests/conftest.py when Chromium is missing.
"""

import os
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from rewards.models import Reward, WhatIfRun
from rewards.services import payout_report_store, rewards_approve, rewards_mark_paid, settle_campaign
from rewards.services.whatif.runs import whatif_preview_start
from tests.rewards.scenario import scenario_load

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def chromium(request):
    if not Path(CHROMIUM).exists():
        # This module-scoped fixture runs before the function-scoped `browser` rule of
        # tests/conftest.py, so it applies the same rule itself: under CI a missing browser fails.
        reason = f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but this test {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, and Django refuses ORM
    # calls from such a thread unless told they are really synchronous, which they are here.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


# Every page of a watched context reports what the Content-Security-Policy blocked: the page's own
# `securitypolicyviolation` events (added before any script of the page runs) and Chromium's
# console messages ("Refused to ... because it violates the following Content Security Policy").
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.effectiveDirective} blocked ${event.blockedURI || "inline"} `
    + `(${event.sourceFile || location.href}:${event.lineNumber}) on ${location.pathname}`);
}, true);
"""


def csp_violations(context):
    """Watch `context` (call before opening pages); returns the list its CSP violations go to."""
    found = []
    context.add_init_script(CSP_LISTENER)

    def on_console(message):
        if "CSP violation" in message.text or "Content Security Policy" in message.text:
            found.append(message.text)

    context.on("console", on_console)
    return found


@pytest.fixture
def phone(chromium, live_server):
    """A factory of phone-sized pages (390 x 844) in a given locale, closed after the test; a page
    that breaks the Content-Security-Policy fails the test."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    contexts, violations = [], []

    def open_page(locale="en-US"):
        context = chromium.new_context(base_url=live_server.url, locale=locale, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
        context.set_default_timeout(15_000)
        contexts.append(context)
        violations.append(csp_violations(context))
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
    assert [v for found in violations for v in found] == []


def screenshot(page, name):
    """Every run leaves its screenshots in var/screenshots/ (gitignored) to look at."""
    page.screenshot(path=str(SCREENSHOTS / f"trader_pages_{name}.png"), full_page=True)


# --- The settled ledger and the admin pages (tests/e2e/test_admin_layout.py, test_pages_a11y.py) ---

DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
DESKTOP = 1280

# What hides part of `cell`, walking out from it to the viewport (an empty list: nothing). Each box
# with a layout must hold what is inside it; a scroll container may instead scroll, unless
# `strict` (the cell must show without scrolling). Past a container that scrolls or clips, the
# container's own box is what must fit further out.
HIDDEN_PARTS = """([cell, strict]) => {
  const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
    + (typeof e.className === "string" && e.className.trim() ? "." + e.className.trim().split(/\\s+/).join(".") : "");
  const problems = [];
  let box = cell.getBoundingClientRect(), what = name(cell);
  for (let a = cell.parentElement; a && a !== document.documentElement; a = a.parentElement) {
    const style = getComputedStyle(a);
    if (style.display === "inline" || style.display === "contents") continue;
    const r = a.getBoundingClientRect();
    const left = r.left + a.clientLeft, right = left + (a.clientWidth || r.width);
    const overflow = style.overflowX;
    const scrolls = overflow === "auto" || overflow === "scroll";
    if (box.left < left - 1 || box.right > right + 1) {
      if (scrolls && strict) problems.push(`${what} needs scrolling inside ${name(a)}`);
      else if (scrolls && a.scrollWidth <= a.clientWidth) problems.push(`${what} is out of ${name(a)}, which does not scroll`);
      else if (overflow === "visible") problems.push(`${what} runs out of ${name(a)} (${Math.round(box.right)} > ${Math.round(right)})`);
      else if (!scrolls) problems.push(`${what} is clipped by ${name(a)} (overflow-x: ${overflow})`);
    }
    if (overflow !== "visible") { box = r; what = name(a); }
  }
  if (box.left < -1 || box.right > document.documentElement.clientWidth + 1) problems.push(`${what} is beyond the viewport`);
  return problems;
}"""


@pytest.fixture
def ledger(campaign, eager_tasks, settings, tmp_path):
    """The scenario settled, some rewards approved and some paid (so every column has a value),
    two payout reports, and a finished what-if preview of a higher pool cap (two gains)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    scenario_load(campaign)
    ops = User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456")
    settle_campaign(campaign=campaign, at=DUE)
    ids = list(Reward.objects.order_by("pk").values_list("pk", flat=True))
    rewards_approve(reward_ids=ids[:5], user=ops)
    rewards_mark_paid(reward_ids=ids[:3], reference="GATE-PAYOUT-2026-02-001", user=ops)
    for _ in range(2):
        payout_report_store(campaign=campaign, created_by="ops")
    run = whatif_preview_start(campaign=campaign, changes={"pool_cap": Decimal("300")}, at=DUE, user=ops)
    assert WhatIfRun.objects.get(pk=run.pk).state == WhatIfRun.State.FINISHED
    return {"campaign": campaign, "ops": ops, "whatif": run}


@pytest.fixture
def admin_page(chromium, live_server, ledger):
    """A factory of logged-in admin pages at a width and in a locale, closed after the test."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    client = Client()
    client.force_login(ledger["ops"])
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    contexts = []

    def open_page(path, *, width, locale="en-US"):
        context = chromium.new_context(base_url=live_server.url, locale=locale, viewport={"width": width, "height": 900})
        context.set_default_timeout(15_000)
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
        contexts.append(context)
        page = context.new_page()
        assert page.goto(path).status == 200
        return page

    yield open_page
    for context in contexts:
        context.close()


def hidden_parts(page, selector, *, width) -> list[str]:
    """What hides part of the cells `selector` names (there must be some)."""
    cells = page.locator(selector)
    assert cells.count() > 0, f"no cell matches {selector}"
    return [problem for cell in cells.element_handles() for problem in page.evaluate(HIDDEN_PARTS, [cell, width == DESKTOP])]


def page_scrolls_sideways(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
