"""The what-if page in the admin: permissions, form errors, the comparison, and the audited apply,
through the Django test client (CSRF checks on).

The preview and the apply run as background runs (`WhatIfRun`). Tasks are eager here and each test
runs in a transaction that never commits, so `submit` runs what a POST queued after commit (the
run's task) as the commit would, then follows the redirect: the run's page is then finished.
"""

import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from campaign.models import Campaign, Post
from rewards.models import Reward, SettlementRun, WhatIfRun
from rewards.tasks import whatif_run_task

pytestmark = pytest.mark.django_db
DUE = "2026-02-26T00:00:00+08:00"
REFRESH = '<meta http-equiv="refresh" content="2">'


@pytest.fixture(autouse=True)
def eager_tasks():
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    with translation.override("en"):
        yield
    app.conf.task_always_eager = before


def staff(username, *codenames):
    user = User.objects.create_user(username, password=f"pw-{username}-123456", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.fixture
def ops():
    return staff("ops", "view_campaign", "change_campaign", "view_settlementrun", "add_settlementrun")


@pytest.fixture
def viewer():
    return staff("viewer", "view_campaign", "view_settlementrun")


def url(campaign):
    return reverse("admin:campaign_campaign_whatif", args=[campaign.pk])


def run_url(run, campaign=None):
    return reverse("admin:campaign_campaign_whatif_run", args=[(campaign or run.campaign).pk, run.pk])


def csrf(client, campaign):
    page = client.get(url(campaign))
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)


def form_data(campaign, **changes):
    """The form as the page pre-fills it, with `changes` typed over it."""
    data = {
        "at": DUE,
        "latin_terms": "\n".join(campaign.latin_terms),
        "cjk_terms": "\n".join(campaign.cjk_terms),
        "leaderboard_tiers": "\n".join(campaign.leaderboard_tiers),
        **{name: str(getattr(campaign, name)) for name in (
            "grace_hours", "min_length", "score_cap", "duplicate_threshold", "pool_amount", "pool_cap", "pool_min_score",
            "pool_top_posts", "leaderboard_min_posts", "leaderboard_strategy", "leaderboard_pool")},
    }  # fmt: skip
    data.update({k: str(v) for k, v in changes.items()})
    return data


@pytest.fixture
def submit(django_capture_on_commit_callbacks):
    """POST, run what it queued after commit, and return the page it leads to; the POST's own
    answer is the page's `.posted`."""

    def post(client, path, data):
        with django_capture_on_commit_callbacks(execute=True):
            posted = client.post(path, data)
        page = client.get(posted["Location"]) if posted.status_code == 302 else posted
        page.posted = posted
        return page

    return post


@pytest.fixture
def preview(submit):
    def previewed(client, campaign, **changes):
        return submit(client, url(campaign), {**form_data(campaign, **changes), "_preview": "1", "csrfmiddlewaretoken": csrf(client, campaign)})

    return previewed


@pytest.fixture
def apply(submit):
    def applied(client, run, note, campaign=None):
        campaign = campaign or run.campaign
        return submit(client, run_url(run, campaign), {"_apply": "1", "note": note, "csrfmiddlewaretoken": csrf(client, campaign)})

    return applied


def test_the_campaign_page_links_to_the_whatif_page(ops, loaded):
    page = ops.get(reverse("admin:campaign_campaign_change", args=[loaded.pk]))
    assert url(loaded) in page.content.decode()


def test_the_form_is_prefilled_with_the_current_configuration(ops, loaded):
    page = ops.get(url(loaded))
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["pool_cap"] == Decimal("100.00") and form["leaderboard_tiers"].value().startswith("1: 4000.00\n2: 3000.00\n")
    assert "做多" in form["cjk_terms"].value().splitlines()
    assert 'value="100.00"' in page.content.decode() and page.context["preview"] is None


@pytest.mark.parametrize("codenames", [("view_campaign",), ("view_settlementrun",), ()])
def test_the_page_needs_both_view_permissions(loaded, codenames):
    client = staff("someone", *codenames)
    assert client.get(url(loaded)).status_code == 403


@pytest.mark.parametrize("codenames", [("view_campaign",), ("view_settlementrun",), ()])
def test_a_run_page_needs_the_same_view_permissions(ops, loaded, preview, codenames):
    run = preview(ops, loaded, pool_cap="300").context["run"]
    client = staff("someone", *codenames)
    assert client.get(run_url(run)).status_code == 403


def test_a_preview_is_queued_as_a_run_and_the_page_redirects_to_it(ops, loaded, preview):
    page = preview(ops, loaded, pool_cap="300")
    run = WhatIfRun.objects.get()
    assert page.posted.status_code == 302 and page.posted["Location"] == run_url(run)
    assert (run.kind, run.state, run.created_by.username, run.changes["pool_cap"]) == ("preview", "finished", "ops", "300")
    assert run.total == run.done == 2 * Post.objects.filter(campaign=loaded).count() + 2
    html = page.content.decode()
    assert 'id="whatif-run" data-state="finished"' in html and f'<progress max="{run.total}" value="{run.total}"' in html
    assert REFRESH not in html
    assert page.context["form"].initial["pool_cap"] == "300"  # the page offers the proposal to edit again


def test_a_previewed_cap_change_lists_the_gainers_with_their_amounts(ops, loaded, preview):
    page = preview(ops, loaded, pool_cap="300")
    assert page.status_code == 200
    html = page.content.decode()
    gainers = html[html.index('id="whatif-gainers"') : html.index('id="whatif-losers"')]
    assert re.findall(r'data-uid="(\d+)"', gainers) == ["1002", "1001"]
    assert "+160.87" in gainers and "+139.13" in gainers and "260.87 USDT" in gainers
    assert "=cmd|&#x27; /C calc&#x27;!A0" in gainers  # 1002's nickname, escaped
    start = html.rindex("<svg", 0, html.index('id="whatif-differences"'))
    svg = html[start : html.index("</svg>", start) + 6]
    assert ET.fromstring(svg).get("id") == "whatif-differences"
    assert 'name="_apply"' in html
    assert not Reward.objects.exists() and not SettlementRun.objects.exists()


def test_a_previewed_tier_change_lists_the_losers(ops, loaded, preview):
    html = preview(ops, loaded, leaderboard_tiers="5000\n1000").content.decode()
    losers = html[html.index('id="whatif-losers"') :]
    assert re.findall(r'data-uid="(\d+)"', losers[: losers.index("</table>")]) == ["1002"]
    assert "-2000.00" in losers


def test_a_bad_value_is_shown_on_its_field_and_nothing_is_previewed(ops, loaded, preview):
    page = preview(ops, loaded, duplicate_threshold="0.5", leaderboard_tiers="1: 100\n2: 200")
    assert page.status_code == 400 and page.context["preview"] is None
    errors = page.context["form"].errors
    assert set(errors) == {"duplicate_threshold", "leaderboard_tiers"}
    assert "A lower rank may not earn more than a higher one." in errors["leaderboard_tiers"]
    assert not WhatIfRun.objects.exists()


def test_an_instant_without_an_offset_is_refused(ops, loaded, preview):
    page = preview(ops, loaded, at="2026-02-26T00:00:00")
    assert page.status_code == 400 and "at" in page.context["form"].errors and not WhatIfRun.objects.exists()


def test_an_unfinished_run_shows_its_progress_and_refreshes_itself(ops, loaded):
    page = ops.post(url(loaded), {**form_data(loaded, pool_cap="300"), "_preview": "1", "csrfmiddlewaretoken": csrf(ops, loaded)})
    run = WhatIfRun.objects.get()  # the commit that would queue its task never comes here
    assert page.status_code == 302 and run.state == "queued"
    html = ops.get(page["Location"]).content.decode()
    assert REFRESH in html and 'data-state="queued"' in html and "<progress" in html
    assert 'id="whatif-result"' not in html and not re.findall(r"<script(?![^>]*\bsrc=)", html)  # no inline script
    WhatIfRun.objects.filter(pk=run.pk).update(state="running", done=40, total=100)
    html = ops.get(page["Location"]).content.decode()
    assert REFRESH in html and '<progress max="100" value="40"' in html and "40 of 100" in html


def test_the_form_lists_the_latest_runs(ops, loaded, preview):
    run = preview(ops, loaded, pool_cap="300").context["run"]
    html = ops.get(url(loaded)).content.decode()
    assert f'href="{run_url(run)}"' in html[html.index('id="whatif-runs"') :]


def test_a_viewer_may_preview_but_is_offered_no_apply_and_may_not_apply(viewer, ops, loaded, preview, apply):
    page = preview(viewer, loaded, pool_cap="300")
    assert page.status_code == 200 and page.context["preview"].gainers and 'name="_apply"' not in page.content.decode()
    run = preview(ops, loaded, pool_cap="300").context["run"]
    refused = apply(viewer, run, "x")
    assert refused.status_code == 403
    assert Campaign.objects.get(pk=loaded.pk).pool_cap == Decimal("100.00") and not LogEntry.objects.exists()
    assert not WhatIfRun.objects.filter(kind="apply").exists()


def test_applying_from_the_page_saves_audits_and_settles(ops, loaded, preview, apply):
    run = preview(ops, loaded, pool_cap="300").context["run"]
    page = apply(ops, run, "raise the cap")
    applying = WhatIfRun.objects.get(kind="apply")
    assert page.posted["Location"] == run_url(applying)
    assert (applying.state, applying.preview, applying.note, applying.created_by.username) == ("finished", run, "raise the cap", "ops")
    html = page.content.decode()
    assert page.status_code == 200 and 'id="whatif-applied"' in html and "Content pool cap per creator" in html
    assert Campaign.objects.get(pk=loaded.pk).pool_cap == Decimal("300.00")
    assert json.loads(LogEntry.objects.get().change_message) == [
        {"changed": {"fields": ["content pool cap per creator"]}, "campaign_update": {"action": "What-if applied", "changes": [{"field": "pool_cap", "old": "100.00", "new": "300.00"}], "note": "raise the cap"}}
    ]
    settlement = SettlementRun.objects.get()
    assert settlement.triggered_by == "admin what-if: ops" and page.context["applied"]["settlement"] == settlement
    assert reverse("admin:rewards_settlementrun_change", args=[settlement.pk]) in html
    assert dict(Reward.objects.filter(kind="content_pool").values_list("trader__uid", "amount")) == {1001: Decimal("239.13"), 1002: Decimal("260.87")}
    # The preview's page now says so, and offers no second apply.
    again = ops.get(run_url(run)).content.decode()
    assert 'name="_apply"' not in again and f'href="{run_url(applying)}"' in again


def test_a_preview_is_applied_once(ops, loaded, preview, apply):
    run = preview(ops, loaded, pool_cap="300").context["run"]
    ops.post(run_url(run), {"_apply": "1", "note": "raise the cap", "csrfmiddlewaretoken": csrf(ops, loaded)})
    queued = WhatIfRun.objects.get(kind="apply")  # not run yet: the configuration is still the previewed one
    page = apply(ops, run, "again")
    assert page.status_code == 409 and f"already applied or being applied (run #{queued.pk})" in page.content.decode()
    assert WhatIfRun.objects.filter(kind="apply").count() == 1 and not LogEntry.objects.exists()


def test_applying_without_a_note_shows_the_preview_again_with_the_error(ops, loaded, preview, apply):
    run = preview(ops, loaded, pool_cap="300").context["run"]
    page = apply(ops, run, "")
    assert page.status_code == 400 and "note" in page.context["apply_form"].errors
    assert page.context["preview"].gainers
    assert Campaign.objects.get(pk=loaded.pk).pool_cap == Decimal("100.00") and not LogEntry.objects.exists()


def test_a_preview_applies_only_to_its_own_campaign_and_within_the_hour(ops, loaded, preview, apply):
    import time_machine

    run = preview(ops, loaded, pool_cap="300").context["run"]
    other = Campaign.objects.get(pk=loaded.pk)
    other.pk, other.slug = None, "another-campaign"  # the same configuration, so the fingerprint matches
    other.save()
    page = apply(ops, run, "raise", campaign=other)
    assert page.status_code == 404 and Campaign.objects.get(pk=other.pk).pool_cap == Decimal("100.00")
    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
        assert "more than an hour old" in ops.get(run_url(run)).content.decode()
        late = apply(ops, run, "raise")
    assert late.status_code == 400 and "more than an hour old" in late.content.decode()
    assert Campaign.objects.get(pk=loaded.pk).pool_cap == Decimal("100.00") and not LogEntry.objects.exists()


def test_applying_a_stale_preview_is_refused(ops, loaded, preview, apply):
    run = preview(ops, loaded, pool_cap="300").context["run"]
    Campaign.objects.filter(pk=loaded.pk).update(pool_min_score=11)
    page = apply(ops, run, "raise")
    assert page.status_code == 409
    assert "changed since this preview" in page.content.decode() and 'name="_apply"' not in page.content.decode()
    assert Campaign.objects.get(pk=loaded.pk).pool_cap == Decimal("100.00") and not LogEntry.objects.exists()


def test_a_config_changed_after_the_apply_was_queued_fails_the_apply_with_the_reason(ops, loaded, preview):
    run = preview(ops, loaded, pool_cap="300").context["run"]
    page = ops.post(run_url(run), {"_apply": "1", "note": "raise", "csrfmiddlewaretoken": csrf(ops, loaded)})
    applying = WhatIfRun.objects.get(kind="apply")
    Campaign.objects.filter(pk=loaded.pk).update(pool_min_score=11)  # between the click and the worker
    whatif_run_task.delay(applying.pk)
    html = ops.get(page["Location"]).content.decode()
    assert 'data-state="failed"' in html and "changed since this preview" in html[html.index('id="whatif-error"') :]
    assert Campaign.objects.get(pk=loaded.pk).pool_cap == Decimal("100.00") and not LogEntry.objects.exists()


def test_only_a_finished_preview_can_be_applied(ops, loaded, preview, apply):
    run = preview(ops, loaded, pool_cap="300").context["run"]
    applying = apply(ops, run, "raise").context["run"]
    queued = WhatIfRun.objects.create(campaign=loaded, kind="preview", changes={"pool_cap": "300.00"}, at=run.at)
    for target in (applying, queued):
        page = apply(ops, target, "raise")
        assert page.status_code == 400 and "Only a finished preview can be applied." in page.content.decode()
    assert LogEntry.objects.count() == 1


def test_a_failing_run_shows_its_error_and_can_be_run_again(ops, viewer, loaded, submit):
    # A change the model refuses cannot come through the form; a run made otherwise fails with it.
    run = WhatIfRun.objects.create(campaign=loaded, kind="preview", changes={"duplicate_threshold": "0.5"}, at=timezone.now())
    whatif_run_task.delay(run.pk)
    run.refresh_from_db()
    assert run.state == "failed" and run.error.startswith("Near-duplicate Jaccard threshold: Ensure this value is greater than or equal to 0.8")
    html = viewer.get(run_url(run)).content.decode()
    error = html[html.index('id="whatif-error"') :]
    assert "Near-duplicate Jaccard threshold: Ensure" in error[: error.index("</p>")] and REFRESH not in html and 'name="_restart"' in html
    WhatIfRun.objects.filter(pk=run.pk).update(changes={"duplicate_threshold": "0.9"})  # the cause fixed
    page = submit(viewer, run_url(run), {"_restart": "1", "csrfmiddlewaretoken": csrf(viewer, loaded)})
    run.refresh_from_db()
    assert page.posted.status_code == 302 and (run.state, run.error, run.attempts) == ("finished", "", 2)
    assert page.context["preview"] is not None


def test_a_run_whose_worker_died_can_be_run_again_and_a_live_one_cannot(ops, loaded, submit, settings):
    run = WhatIfRun.objects.create(campaign=loaded, kind="preview", changes={"pool_cap": "300.00"}, at=timezone.now(), state="running", attempts=1, done=7, total=20)
    html = ops.get(run_url(run)).content.decode()
    assert 'name="_restart"' not in html and REFRESH in html
    refused = submit(ops, run_url(run), {"_restart": "1", "csrfmiddlewaretoken": csrf(ops, loaded)})
    assert "nothing to restart" in refused.content.decode() and WhatIfRun.objects.get(pk=run.pk).state == "running"
    silent = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 1)
    WhatIfRun.objects.filter(pk=run.pk).update(heartbeat_at=silent)
    html = ops.get(run_url(run)).content.decode()
    assert "no sign of life" in html and 'name="_restart"' in html
    page = submit(ops, run_url(run), {"_restart": "1", "csrfmiddlewaretoken": csrf(ops, loaded)})
    run.refresh_from_db()
    assert (run.state, run.attempts) == ("finished", 2) and page.context["preview"].gainers


def test_running_an_apply_again_needs_the_apply_permissions(ops, viewer, loaded, preview):
    run = preview(ops, loaded, pool_cap="300").context["run"]
    failed = WhatIfRun.objects.create(campaign=loaded, kind="apply", preview=run, changes=run.changes, at=run.at, fingerprint="0" * 64, note="x", state="failed", error="stale")
    assert 'name="_restart"' not in viewer.get(run_url(failed)).content.decode()
    refused = viewer.post(run_url(failed), {"_restart": "1", "csrfmiddlewaretoken": csrf(viewer, loaded)})
    assert refused.status_code == 403 and WhatIfRun.objects.get(pk=failed.pk).state == "failed"


def test_runs_are_listed_read_only_in_the_admin(loaded, preview):
    client = staff("boss", "view_campaign", "change_campaign", "view_settlementrun", "add_settlementrun", "view_whatifrun")
    run = preview(client, loaded, pool_cap="300").context["run"]
    listing = client.get(reverse("admin:rewards_whatifrun_changelist")).content.decode()
    assert run_url(run) in listing
    assert client.get(reverse("admin:rewards_whatifrun_change", args=[run.pk])).status_code == 200
    assert client.get(reverse("admin:rewards_whatifrun_add")).status_code == 403


def test_posts_without_the_csrf_token_are_refused(ops, loaded, preview):
    assert ops.post(url(loaded), {**form_data(loaded), "_preview": "1"}).status_code == 403
    run = preview(ops, loaded, pool_cap="300").context["run"]
    assert ops.post(run_url(run), {"_apply": "1", "note": "x"}).status_code == 403
    assert not WhatIfRun.objects.filter(kind="apply").exists()


def test_the_page_speaks_chinese(ops, loaded):
    page = ops.get(url(loaded), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "假设预览" in page.content.decode()
