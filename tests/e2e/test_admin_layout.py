"""The admin's tables fit (issue 18) in a real browser (Debian's Chromium via Playwright) at 1280 and
390 px, in English and Chinese: the key columns of the rewards list (amount, state), of the what-if
gains (proposed, difference) and the dashboard's content pools table are never cut off.

A cell passes when every box around it holds it: a panel that lets it run out (it then runs under
the next panel) or clips it (overflow hidden) fails it. At 1280 px the key cells show without
scrolling; at 390 px the table may instead scroll sideways inside its own container, and the
page itself never does. Screenshots go to var/screenshots/ (gitignored).
"""

import pytest

from rewards.models import Reward
from tests.e2e.conftest import DESKTOP, SCREENSHOTS, hidden_parts, page_scrolls_sideways

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = 390
WIDTHS = pytest.mark.parametrize("width", [DESKTOP, PHONE])
LOCALES = pytest.mark.parametrize("locale", ["en-US", "zh-CN"])

# Every text of the SVG charts inside its chart's drawing (a label cut at either edge is lost).
CHART_TEXTS_CUT = """() => Array.from(document.querySelectorAll("svg.chart")).flatMap((svg) => {
  const width = svg.viewBox.baseVal.width;
  return Array.from(svg.querySelectorAll("text")).filter((t) => {
    const b = t.getBBox();
    return b.x < 0 || b.x + b.width > width || t.textContent.includes("…");
  }).map((t) => `${svg.id}: ${t.textContent}`);
})"""


def shot(page, name, width, locale):
    page.screenshot(path=str(SCREENSHOTS / f"admin_layout_{name}_{width}_{locale}.png"), full_page=True)


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
