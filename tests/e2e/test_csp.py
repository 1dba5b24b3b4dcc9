"""The Content-Security-Policy in a real browser (Chromium via Playwright) against the live server:
every page (trader pages, the admin and our own admin pages, the charts, the Swagger UI) carries
it and loads without one violation, and what runs JavaScript still works under it: the Swagger UI
draws the operations, the admin selects all rows, remembers a folded filter, filters its sidebar,
adds the date shortcuts, and our own scripts select a status link and hide the crontab reading."""

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from playwright.sync_api import expect

from rewards.models import ReviewItem, SettlementRun, StatusLink
from rewards.selectors.links import status_link_url
from tests.e2e.conftest import csp_violations
from tests.reliability.test_security import ledger_with_review_items

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


@pytest.fixture
def desk(chromium, live_server):
    """A desktop-sized page of a context whose CSP violations are collected."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(base_url=live_server.url, locale="en-US", viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(20_000)
    violations = csp_violations(context)
    yield context.new_page(), violations
    context.close()


@pytest.fixture
def ledger(campaign):
    ledger_with_review_items(campaign, User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456"))
    return campaign


@pytest.fixture
def periodic_task(db):
    """A crontab entry of the beat schedule (a transactional test starts without the migrated ones)."""
    crontab = CrontabSchedule.objects.create(minute="5", hour="0", timezone="Asia/Shanghai")
    return PeriodicTask.objects.create(name="e2e: a crontab entry", task="rewards.tasks.featured_posts_daily_task", crontab=crontab)


def log_in(page):
    page.goto("/admin/login/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "pw-ops-123456")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")


def visit(page, url):
    response = page.goto(url)
    assert response.status == 200, url
    policy = dict(part.strip().split(" ", 1) for part in response.headers.get("content-security-policy", "").split(";") if part.strip())
    assert policy.get("script-src") == "'self'" and policy.get("frame-ancestors") == "'none'", url
    page.wait_for_load_state("networkidle")
    return response


def test_every_page_loads_under_the_policy_without_a_violation(desk, ledger, periodic_task):
    page, violations = desk
    visit(page, f"/c/{ledger.slug}/")  # the public page with its leaderboard
    for link in StatusLink.objects.filter(trader__uid__in=[1001, 1002]):
        visit(page, urlsplit(status_link_url(link)).path)
        page.locator("details summary").first.click()  # a reward's breakdown opens
    log_in(page)
    admin = f"/admin/campaign/campaign/{ledger.pk}/"
    urls = [
        "/admin/", f"{admin}change/", f"{admin}import/", f"{admin}enrolment/", f"{admin}dashboard/",
        f"{admin}dashboard/preview/", f"{admin}whatif/", "/admin/rewards/reviewitem/",
        f"/admin/rewards/reviewitem/{ReviewItem.objects.order_by('pk').first().pk}/change/", "/admin/rewards/reward/",
        "/admin/rewards/settlementrun/", f"/admin/rewards/settlementrun/{SettlementRun.objects.order_by('pk').last().pk}/change/",
        "/admin/rewards/adjustment/", "/admin/rewards/featuredpost/", "/admin/rewards/statuslink/", "/admin/campaign/post/",
        "/admin/core/importrun/", f"/admin/django_celery_beat/periodictask/{periodic_task.pk}/change/",
        "/api/docs/",
    ]  # fmt: skip
    for url in urls:
        visit(page, url)
        if url.endswith("/dashboard/"):
            expect(page.locator("svg.chart").first).to_be_visible()  # the charts, drawn on the server
            page.screenshot(path=str(SHOTS / "csp_dashboard.png"), full_page=True)
    assert violations == []


def test_the_swagger_ui_draws_the_operations_under_the_policy(desk, db):
    page, violations = desk
    visit(page, "/api/docs/")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    assert operations.count() > 10
    operations.first.locator(".opblock-summary").click()
    expect(operations.first.locator(".opblock-body")).to_be_visible()  # React still answers clicks
    page.screenshot(path=str(SHOTS / "csp_swagger_ui.png"), full_page=True)
    assert violations == []


def test_the_admin_javascript_works_under_the_policy(desk, ledger, periodic_task):
    page, violations = desk
    log_in(page)

    visit(page, "/admin/rewards/reward/")
    rows = page.locator("#result_list input.action-select")
    page.check("#action-toggle")  # actions.js: select every row and count them
    assert rows.count() > 1 and all(rows.nth(i).is_checked() for i in range(rows.count()))
    expect(page.locator(".action-counter")).to_contain_text(f"{rows.count()} of {rows.count()} selected")

    first_filter = page.locator("#changelist-filter details").first
    expect(first_filter).to_have_attribute("open", "")
    first_filter.locator("summary").click()  # filters.js remembers a folded filter
    visit(page, "/admin/rewards/reward/")
    expect(page.locator("#changelist-filter details").first).not_to_have_attribute("open", "")

    page.fill("#nav-filter", "status link")  # nav_sidebar.js filters the models in the sidebar
    expect(page.locator("#nav-sidebar tr.model-reward")).to_be_hidden()
    expect(page.locator("#nav-sidebar tr.model-statuslink")).to_be_visible()

    visit(page, f"/admin/campaign/campaign/{ledger.pk}/change/")
    expect(page.locator(".datetimeshortcuts").first).to_be_visible()  # DateTimeShortcuts.js

    visit(page, "/admin/rewards/statuslink/")
    page.locator("button.copy-status-link").first.click()  # static/ops/admin.js
    selected = page.evaluate("() => { const i = document.querySelector('input.status-link'); return [i.selectionStart, i.selectionEnd, i.value.length]; }")
    assert selected[0] == 0 and selected[1] == selected[2] > 0

    visit(page, f"/admin/django_celery_beat/periodictask/{periodic_task.pk}/change/")
    expect(page.locator(".field-crontab_translation")).to_be_hidden()  # static/ops/periodic_task.js
    assert violations == []
