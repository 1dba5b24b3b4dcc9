"""The what-if page in the admin: permissions, form errors, the comparison, and the audited apply,
through the Django test client (CSRF checks on)."""

import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import translation

from campaign.models import Campaign
from rewards.models import Reward, SettlementRun

pytestmark = pytest.mark.django_db
DUE = "2026-02-26T00:00:00+08:00"


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


def csrf(client, campaign):
    page = client.get(url(campaign))
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)


def form_data(campaign, **changes):
    """The form as the page pre-fills it, with `changes` typed over it."""
    data = {
        "at": DUE,
        "latin_terms": "\n".join(campaign.latin_terms),
        "cjk_terms": "\n".join(campaign.cjk_terms),
        "leaderboard_tiers": ", ".join(campaign.leaderboard_tiers),
        **{name: str(getattr(campaign, name)) for name in (
            "grace_hours", "min_length", "score_cap", "duplicate_threshold", "pool_amount", "pool_cap", "pool_min_score",
            "pool_top_posts", "leaderboard_min_posts", "leaderboard_strategy", "leaderboard_pool")},
    }  # fmt: skip
    data.update({k: str(v) for k, v in changes.items()})
    return data


def preview(client, campaign, **changes):
    return client.post(url(campaign), {**form_data(campaign, **changes), "_preview": "1", "csrfmiddlewaretoken": csrf(client, campaign)})


def test_the_campaign_page_links_to_the_whatif_page(ops, loaded):
    page = ops.get(reverse("admin:campaign_campaign_change", args=[loaded.pk]))
    assert url(loaded) in page.content.decode()


def test_the_form_is_prefilled_with_the_current_configuration(ops, loaded):
    page = ops.get(url(loaded))
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["pool_cap"] == Decimal("100.00") and form.initial["leaderboard_tiers"].startswith("4000.00, 3000.00")
    assert "做多" in form.initial["cjk_terms"].splitlines()
    assert 'value="100.00"' in page.content.decode() and page.context["preview"] is None


@pytest.mark.parametrize("codenames", [("view_campaign",), ("view_settlementrun",), ()])
def test_the_page_needs_both_view_permissions(loaded, codenames):
    client = staff("someone", *codenames)
    assert client.get(url(loaded)).status_code == 403


def test_a_previewed_cap_change_lists_the_gainers_with_their_amounts(ops, loaded):
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


def test_a_previewed_tier_change_lists_the_losers(ops, loaded):
    html = preview(ops, loaded, leaderboard_tiers="5000, 1000").content.decode()
    losers = html[html.index('id="whatif-losers"') :]
    assert re.findall(r'data-uid="(\d+)"', losers[: losers.index("</table>")]) == ["1002"]
    assert "-2000.00" in losers


def test_a_bad_value_is_shown_on_its_field_and_nothing_is_previewed(ops, loaded):
    page = preview(ops, loaded, duplicate_threshold="0.5", leaderboard_tiers="100, 200")
    assert page.status_code == 400 and page.context["preview"] is None
    errors = page.context["form"].errors
    assert set(errors) == {"duplicate_threshold", "leaderboard_tiers"}
    assert "A lower rank may not earn more than a higher one." in errors["leaderboard_tiers"]


def test_an_instant_without_an_offset_is_refused(ops, loaded):
    page = preview(ops, loaded, at="2026-02-26T00:00:00")
    assert page.status_code == 400 and "at" in page.context["form"].errors


def test_a_viewer_may_preview_but_is_offered_no_apply_and_may_not_apply(viewer, ops, loaded):
    page = preview(viewer, loaded, pool_cap="300")
    assert page.status_code == 200 and 'name="_apply"' not in page.content.decode()
    token = preview(ops, loaded, pool_cap="300").context["apply_form"]["token"].value()
    refused = viewer.post(url(loaded), {"_apply": "1", "token": token, "note": "x", "csrfmiddlewaretoken": csrf(viewer, loaded)})
    assert refused.status_code == 403
    assert Campaign.objects.get(pk=loaded.pk).pool_cap == Decimal("100.00") and not LogEntry.objects.exists()


def test_applying_from_the_page_saves_audits_and_settles(ops, loaded, django_capture_on_commit_callbacks):
    token = preview(ops, loaded, pool_cap="300").context["apply_form"]["token"].value()
    with django_capture_on_commit_callbacks(execute=True):
        page = ops.post(url(loaded), {"_apply": "1", "token": token, "note": "raise the cap", "csrfmiddlewaretoken": csrf(ops, loaded)})
    assert page.status_code == 200 and 'id="whatif-applied"' in page.content.decode()
    assert Campaign.objects.get(pk=loaded.pk).pool_cap == Decimal("300.00")
    assert LogEntry.objects.get().change_message == "What-if applied: pool_cap: 100.00 -> 300.00. Note: raise the cap"
    assert SettlementRun.objects.get().triggered_by == "admin what-if: ops"
    assert dict(Reward.objects.filter(kind="content_pool").values_list("trader__uid", "amount")) == {1001: Decimal("239.13"), 1002: Decimal("260.87")}


def test_applying_without_a_note_shows_the_preview_again_with_the_error(ops, loaded):
    token = preview(ops, loaded, pool_cap="300").context["apply_form"]["token"].value()
    page = ops.post(url(loaded), {"_apply": "1", "token": token, "note": "", "csrfmiddlewaretoken": csrf(ops, loaded)})
    assert page.status_code == 400 and "note" in page.context["apply_form"].errors
    assert page.context["preview"].gainers
    assert Campaign.objects.get(pk=loaded.pk).pool_cap == Decimal("100.00") and not LogEntry.objects.exists()


def test_a_preview_applies_only_to_its_own_campaign_and_within_the_hour(ops, loaded):
    import time_machine
    from django.utils import timezone

    token = preview(ops, loaded, pool_cap="300").context["apply_form"]["token"].value()
    other = Campaign.objects.get(pk=loaded.pk)
    other.pk, other.slug = None, "another-campaign"  # the same configuration, so the fingerprint matches
    other.save()
    page = ops.post(url(other), {"_apply": "1", "token": token, "note": "raise", "csrfmiddlewaretoken": csrf(ops, other)})
    assert page.status_code == 400 and Campaign.objects.get(pk=other.pk).pool_cap == Decimal("100.00")
    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
        late = ops.post(url(loaded), {"_apply": "1", "token": token, "note": "raise", "csrfmiddlewaretoken": csrf(ops, loaded)})
    assert late.status_code == 400 and "token" in late.context["apply_form"].errors
    assert Campaign.objects.get(pk=loaded.pk).pool_cap == Decimal("100.00") and not LogEntry.objects.exists()


def test_applying_a_stale_preview_is_refused(ops, loaded):
    token = preview(ops, loaded, pool_cap="300").context["apply_form"]["token"].value()
    Campaign.objects.filter(pk=loaded.pk).update(pool_min_score=11)
    page = ops.post(url(loaded), {"_apply": "1", "token": token, "note": "raise", "csrfmiddlewaretoken": csrf(ops, loaded)})
    assert page.status_code == 409
    assert "changed since this preview" in page.content.decode()
    assert Campaign.objects.get(pk=loaded.pk).pool_cap == Decimal("100.00") and not LogEntry.objects.exists()


def test_a_tampered_token_is_refused(ops, loaded):
    token = preview(ops, loaded, pool_cap="300").context["apply_form"]["token"].value()
    page = ops.post(url(loaded), {"_apply": "1", "token": token[:-2] + "xx", "note": "raise", "csrfmiddlewaretoken": csrf(ops, loaded)})
    assert page.status_code == 400 and Campaign.objects.get(pk=loaded.pk).pool_cap == Decimal("100.00")


def test_posts_without_the_csrf_token_are_refused(ops, loaded):
    assert ops.post(url(loaded), {**form_data(loaded), "_preview": "1"}).status_code == 403


def test_the_page_speaks_chinese(ops, loaded):
    page = ops.get(url(loaded), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "假设预览" in page.content.decode()
