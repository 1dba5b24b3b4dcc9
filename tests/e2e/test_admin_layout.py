"""The admin's tables fit (issue 18) in a real browser (Debian's Chromium via Playwright) at 1280 and
390 px, in English and Chinese: the key columns of the rewards list (amount, state), of the what-if
gains (proposed, difference) and the dashboard's content pools table are never cut off.

A cell passes when every box around it holds it: a panel that lets it run out (it then runs under
the next panel) or clips it (overflow hidden) fails it. At 1280 px the key cells show without
scrolling; at 390 px the table may instead scroll sideways inside its own container, and the
page itself never does. Screenshots go to var/screenshots/ (gitignored).
"""

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

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
DESKTOP, PHONE = 1280, 390
WIDTHS = pytest.mark.parametrize("width", [DESKTOP, PHONE])
LOCALES = pytest.mark.parametrize("locale", ["en-US", "zh-CN"])

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

# Every text of the SVG charts inside its chart's drawing (a label cut at either edge is lost).
CHART_TEXTS_CUT = """() => Array.from(document.querySelectorAll("svg.chart")).flatMap((svg) => {
  const width = svg.viewBox.baseVal.width;
  return Array.from(svg.querySelectorAll("text")).filter((t) => {
    const b = t.getBBox();
    return b.x < 0 || b.x + b.width > width || t.textContent.includes("…");
  }).map((t) => `${svg.id}: ${t.textContent}`);
})"""


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
    SHOTS.mkdir(parents=True, exist_ok=True)
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


def shot(page, name, width, locale):
    page.screenshot(path=str(SHOTS / f"admin_layout_{name}_{width}_{locale}.png"), full_page=True)


@WIDTHS
@LOCALES
def test_the_rewards_list_shows_amount_and_state_of_every_reward(admin_page, width, locale):
    page = admin_page("/admin/rewards/reward/", width=width, locale=locale)
    shot(page, "rewards", width, locale)
    assert page.locator("#result_list tbody tr").count() == Reward.objects.count()
    for column in ("amount", "state_badge"):
        assert hidden_parts(page, f"#result_list td.field-{column}", width=width) == []
    assert not page_scrolls_sideways(page)


def test_the_rewards_list_puts_who_how_much_and_state_first_and_leaves_rarely_needed_columns_to_the_reward_page(admin_page, ledger):
    page = admin_page("/admin/rewards/reward/", width=DESKTOP)
    headers = [c.split("column-", 1)[1].split()[0] for c in page.locator("#result_list thead th[class*=column-]").evaluate_all("hs => hs.map(h => h.className)")]
    assert headers[:4] == ["trader", "amount", "asset", "state_badge"]
    assert not {"campaign", "approved_by", "payout_batch"} & set(headers)
    assert hidden_parts(page, "#result_list tbody tr", width=DESKTOP) == []  # at 1280 px every column shows
    paid = Reward.objects.filter(state="paid").order_by("pk").first()
    detail = admin_page(f"/admin/rewards/reward/{paid.pk}/change/", width=DESKTOP)
    assert "GATE-PAYOUT-2026-02-001" in detail.locator(".field-payout_batch").inner_text()
    assert "ops" in detail.locator(".field-approved_by").inner_text()


@WIDTHS
@LOCALES
def test_the_whatif_gains_show_the_proposed_amount_and_the_difference(admin_page, ledger, width, locale):
    campaign, run = ledger["campaign"], ledger["whatif"]
    page = admin_page(f"/admin/campaign/campaign/{campaign.pk}/whatif/{run.pk}/", width=width, locale=locale)
    shot(page, "whatif", width, locale)
    gains = "#whatif-gainers tr.whatif-row"
    assert page.locator(f"{gains} td.whatif-gain").count() == 2
    assert hidden_parts(page, f"{gains} td.whatif-gain", width=width) == []  # difference
    assert hidden_parts(page, f"{gains} td:has(+ td.whatif-gain)", width=width) == []  # proposed, just before it
    assert not page_scrolls_sideways(page)


@WIDTHS
@LOCALES
def test_the_dashboard_content_pools_table_stays_inside_its_panel(admin_page, ledger, width, locale):
    page = admin_page(f"/admin/campaign/campaign/{ledger['campaign'].pk}/dashboard/", width=width, locale=locale)
    shot(page, "dashboard", width, locale)
    assert hidden_parts(page, "#pools th, #pools td", width=width) == []
    assert not page_scrolls_sideways(page)


def test_the_dashboard_lists_the_latest_reports_without_a_stray_semicolon(admin_page, ledger):
    page = admin_page(f"/admin/campaign/campaign/{ledger['campaign'].pk}/dashboard/", width=DESKTOP)
    reports = page.locator("#reports .report")
    assert reports.count() == 2
    for text in reports.all_inner_texts():
        assert text.endswith("CSV · XLSX")
    assert ";" not in page.locator("#reports").inner_text()


@LOCALES
def test_the_chart_labels_are_whole_and_inside_their_charts(admin_page, ledger, locale):
    campaign, run = ledger["campaign"], ledger["whatif"]
    whatif = admin_page(f"/admin/campaign/campaign/{campaign.pk}/whatif/{run.pk}/", width=DESKTOP, locale=locale)
    labels = whatif.locator("#whatif-differences text").all_text_contents()
    assert any(label.startswith("1002 =cmd|' /C calc'!A0 · ") and label.endswith(" P1") for label in labels)
    assert whatif.evaluate(CHART_TEXTS_CUT) == []
    dashboard = admin_page(f"/admin/campaign/campaign/{campaign.pk}/dashboard/", width=DESKTOP, locale=locale)
    assert dashboard.locator("svg.chart").count() == 3
    assert dashboard.evaluate(CHART_TEXTS_CUT) == []
