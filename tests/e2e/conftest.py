"""Browser fixtures for the trader and public pages: Debian's Chromium driven by Playwright.

Skipped (or failed under CI) by the `browser` rule of tests/conftest.py when Chromium is missing.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings

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
