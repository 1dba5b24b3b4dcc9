"""The what-if preview in a real browser (Chromium via Playwright) against the live server: open it
from the campaign page, preview a higher content pool cap, see who gains, and apply it. The preview
and the apply are background runs; tasks are eager here, so each lands on its finished run's page."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from playwright.sync_api import expect

from campaign.history import campaign_change_record
from campaign.models import Campaign
from rewards.models import Reward, SettlementRun, WhatIfRun
from tests.e2e.conftest import csp_violations
from tests.rewards.scenario import scenario_load

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


@pytest.fixture(autouse=True)
def eager_tasks():
    """The settlement that apply queues runs in the live server's thread, not in a broker queue
    that nobody here consumes (and a later test's worker would)."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def page(chromium, live_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(base_url=live_server.url, locale="en-US", viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(20_000)
    violations = csp_violations(context)
    yield context.new_page()
    context.close()
    assert violations == []  # every page of the run works under the Content-Security-Policy


def test_ops_preview_a_higher_cap_and_apply_it_in_the_browser(page, campaign):
    scenario_load(campaign)
    User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456")

    page.goto("/admin/login/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "pw-ops-123456")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")

    page.goto(f"/admin/campaign/campaign/{campaign.pk}/change/")
    page.click(".object-tools >> text=What-if preview")
    page.wait_for_url(f"**/admin/campaign/campaign/{campaign.pk}/whatif/")
    expect(page.locator("#id_pool_cap")).to_have_value("100.00")
    page.fill("#id_at", "2026-02-26T00:00:00+08:00")
    page.fill("#id_pool_cap", "300")
    page.click("input[name=_preview]")
    run = WhatIfRun.objects.get(kind="preview")
    page.wait_for_url(f"**/admin/campaign/campaign/{campaign.pk}/whatif/{run.pk}/")
    expect(page.locator("#whatif-run")).to_have_attribute("data-state", "finished")
    expect(page.locator("#whatif-run progress")).to_have_attribute("value", str(run.total))
    assert page.locator("meta[http-equiv=refresh]").count() == 0

    gainers = page.locator("#whatif-gainers")
    expect(gainers.locator("tr.whatif-row")).to_have_count(2)
    expect(gainers.locator("tr.whatif-row").first).to_contain_text("+160.87")
    expect(page.locator("#whatif-losers")).to_contain_text("Nobody.")
    pools = page.locator("#whatif-pools").inner_text()
    assert "300.00" in pools and "0.00" in pools
    assert page.locator("#whatif-differences rect").count() == 2
    page.screenshot(path=str(SHOTS / "whatif_preview.png"), full_page=True)
    assert not Reward.objects.exists()  # a preview writes nothing

    page.fill("#whatif-apply textarea[name=note]", "the pool should be spent")
    page.click("input[name=_apply]")
    applying = WhatIfRun.objects.get(kind="apply")
    page.wait_for_url(f"**/admin/campaign/campaign/{campaign.pk}/whatif/{applying.pk}/")
    expect(page.locator("#whatif-applied")).to_contain_text("Content pool cap per creator")
    expect(page.locator("#whatif-settlement")).to_contain_text(f"Settlement run #{SettlementRun.objects.get().pk}")
    assert Campaign.objects.get(pk=campaign.pk).pool_cap == Decimal("300.00")
    assert campaign_change_record(LogEntry.objects.get().change_message)["note"] == "the pool should be spent"
    assert dict(Reward.objects.filter(kind="content_pool").values_list("trader__uid", "amount")) == {1001: Decimal("239.13"), 1002: Decimal("260.87")}
