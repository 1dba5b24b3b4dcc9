"""The ops workflow in a real browser (Chromium via Playwright) against the live server: log in,
import files (one bad sign-up row is reported), load posts, read the dashboard and its charts,
settle, approve, mark paid, and download the payout report.

A screenshot of each step goes to var/screenshots/, so a failing run can be looked at.
"""

import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from playwright.sync_api import expect

from rewards.models import PayoutBatch, Reward
from tests.e2e.conftest import csp_violations
from tests.rewards.scenario import REGISTRATIONS, SIGNUPS, STATS, posts_jsonl

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
GOLDEN = Path(__file__).parents[1] / "rewards" / "golden" / "payout_report.csv"
BAD_SIGNUP = "1005,yesterday,epsilon,\n"  # line 6 of the file: not an instant
BATCH = "GATE-PAYOUT-2026-02-001"


@pytest.fixture
def tasks_run(transactional_db):
    """Enqueued tasks run: in-process when eager (no REDIS_URL), else on a real worker thread
    consuming from Redis, so settling from the dashboard goes through the broker as in production."""
    from config.celery import app

    if app.conf.task_always_eager:
        yield
        return
    from celery.contrib.testing.worker import start_worker

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield


@pytest.fixture
def page(chromium, live_server, settings, tmp_path):
    """A desktop-sized admin page (`chromium` comes from tests/e2e/conftest.py)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(base_url=live_server.url, locale="en-US", viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(20_000)
    violations = csp_violations(context)
    yield context.new_page()
    context.close()
    assert violations == []  # every page of the run works under the Content-Security-Policy


def shot(page, name):
    page.screenshot(path=str(SHOTS / f"ops_workflow_{name}.png"), full_page=True)


def import_file(page, campaign, kind, name, content):
    page.goto(f"/admin/campaign/campaign/{campaign.pk}/import/")
    page.select_option("#id_kind", kind)
    page.set_input_files("#id_file", files=[{"name": name, "mimeType": "text/plain", "buffer": content.encode()}])
    page.click("input[type=submit][value=Import]")
    page.wait_for_url("**/admin/core/importrun/*/change/")
    reload_until(page, "#import-run-state", "finished")  # imported in the background; the page refreshes itself meanwhile
    return page.locator("body").inner_text()


def select_all_and_run(page, action):
    page.check("#action-toggle")
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


def reload_until(page, selector, text, timeout=60):
    deadline = time.monotonic() + timeout
    while text not in page.locator(selector).inner_text():
        if time.monotonic() > deadline:
            shot(page, "timeout")
            raise AssertionError(f"{text!r} never appeared in {selector}")
        time.sleep(0.5)
        page.reload()


def test_ops_run_the_campaign_from_import_to_payout_report_in_the_browser(page, campaign, tasks_run):
    User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456")

    page.goto("/admin/login/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "pw-ops-123456")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    shot(page, "01_logged_in")

    assert "4 imported, 0 rejected" in import_file(page, campaign, "registrations", "registrations.csv", REGISTRATIONS)
    report = import_file(page, campaign, "signups", "signups.csv", SIGNUPS + BAD_SIGNUP)
    assert "4 imported, 1 rejected" in report
    assert "submitted_at is not an ISO 8601 instant: 'yesterday'" in report
    assert "1005,yesterday,epsilon," in report  # the record as received, with its line
    shot(page, "02_signups_rejected_row")
    assert "3 imported, 0 rejected" in import_file(page, campaign, "trader_stats", "stats.csv", STATS)
    assert "9 imported, 0 rejected" in import_file(page, campaign, "posts", "posts.jsonl", posts_jsonl())
    shot(page, "03_posts_imported")

    page.goto(f"/admin/campaign/campaign/{campaign.pk}/change/")
    page.click(".object-tools >> text=Dashboard")
    page.wait_for_url(f"**/admin/campaign/campaign/{campaign.pk}/dashboard/")
    expect(page.locator("svg.chart")).to_have_count(2)  # posts per day, and the (empty) leaderboard
    assert page.locator("#chart-posts-per-day rect title").count() > 0
    assert "Rejected import rows (1)" in page.locator("#rejected-rows-link").inner_text()
    shot(page, "04_dashboard_before_settlement")

    page.fill("#id_at", "2026-02-26T00:00:00+08:00")
    page.click("#settle-form input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("Settlement as of 2026-02-26 00:00:00")
    reload_until(page, "#settlement", "as of 2026-02-26 00:00:00")
    expect(page.locator("svg.chart")).to_have_count(3)  # posts per day, content pool P1, leaderboard
    assert "#1 1001 alpha: 84.005" in page.locator("#chart-leaderboard").inner_html()
    pools = page.locator("#pools").inner_text()
    assert "200.00" in pools and "300.00" in pools
    shot(page, "05_dashboard_settled")

    page.click("#approve-link")
    page.wait_for_url("**/admin/rewards/reward/?*state__exact=calculated*")
    expect(page.locator("#result_list tbody tr")).to_have_count(7)
    select_all_and_run(page, "approve")
    expect(page.locator("#action-totals")).to_contain_text("7 rewards will be approved")  # the confirmation page
    shot(page, "06a_approve_confirmation")
    page.click("#confirm-action")
    expect(page.locator(".messagelist")).to_contain_text("Approved: 7 reward(s).")
    shot(page, "06_approved")

    page.goto(f"/admin/campaign/campaign/{campaign.pk}/dashboard/")
    page.click("#pay-link")
    page.wait_for_url("**/admin/rewards/reward/?*state__exact=approved*")
    expect(page.locator("#result_list tbody tr")).to_have_count(7)
    select_all_and_run(page, "mark_paid")
    page.fill("#id_reference", BATCH)
    shot(page, "06b_mark_paid_form")
    page.click("#confirm-action")
    expect(page.locator(".messagelist")).to_contain_text(f"Paid in batch {BATCH}: 7 reward(s).")
    shot(page, "07_paid")
    assert set(Reward.objects.values_list("state", flat=True)) == {"paid"}
    assert PayoutBatch.objects.get().rewards.count() == 7

    page.goto(f"/admin/campaign/campaign/{campaign.pk}/dashboard/")
    page.click("text=Generate the payout report")
    expect(page.locator(".messagelist")).to_contain_text("Payout report #")
    shot(page, "08_report_generated")
    with page.expect_download() as csv_download:
        page.click(".messagelist >> text=CSV")
    with page.expect_download() as xlsx_download:
        page.click(".messagelist >> text=XLSX")
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    content = Path(csv_download.value.path()).read_text(encoding="utf-8")
    # The golden file is the report right after settlement; these rewards have since been paid.
    assert content == GOLDEN.read_text(encoding="utf-8").replace(",calculated\n", ",paid\n")
    assert content.count(",paid\n") == 7
