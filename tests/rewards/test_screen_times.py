"""Times on screens are in UTC+8 and say so (never the ambiguous "CST"), and the beat crontabs are
in Asia/Shanghai while firing at the instants they fired at in UTC (issue 18)."""

import importlib
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import RequestFactory
from django.utils import formats, timezone, translation
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from django_celery_beat.tzcrontab import TzAwareCrontab

from campaign.models import Campaign
from core.screen_time import SCREEN_ZONE_NAME, offset_label, screen_time
from rewards.models import SettlementRun
from rewards.selectors.links import status_link_token
from rewards.services import settle_campaign
from rewards.services.status_links import status_link_get_or_create
from tests.rewards.scenario import scenario_load
from traders.models import Trader

DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")  # 2026-02-25 16:00 in UTC
CST = re.compile(r"\bCST\b")
LANGUAGES = ["en", "zh-hans"]


def html_of(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def assert_no_cst(html: str) -> None:
    assert not CST.search(html), CST.search(html)


@pytest.fixture
def settled(campaign):
    scenario_load(campaign)
    settle_campaign(campaign=campaign, at=DUE)
    return campaign


@pytest.fixture
def ops(client):
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456"))
    return client


# --- The helper -------------------------------------------------------------------------------


def test_an_instant_shows_in_utc8_with_its_offset_spelled_out():
    sixteen_utc = datetime(2026, 2, 25, 16, 0, 7, tzinfo=UTC)
    assert screen_time(sixteen_utc) == "2026-02-26 00:00 UTC+8"
    assert screen_time(sixteen_utc, seconds=True) == "2026-02-26 00:00:07 UTC+8"
    assert screen_time(None) == "—"
    assert offset_label(datetime(2026, 1, 1, tzinfo=ZoneInfo("Asia/Kolkata"))) == "UTC+5:30"
    assert offset_label(datetime(2026, 1, 1, tzinfo=ZoneInfo("America/St_Johns"))) == "UTC-3:30"


def test_a_naive_datetime_is_refused_rather_than_guessed():
    with pytest.raises(ValueError):
        screen_time(datetime(2026, 2, 26, 0, 0))


def test_django_renders_in_the_screens_zone_and_labels_its_datetimes_the_same_way():
    assert settings.TIME_ZONE == SCREEN_ZONE_NAME  # the admin's forms read and write in this zone
    for language in LANGUAGES:
        with timezone.override(settings.TIME_ZONE), translation.override(language):
            assert formats.localize(timezone.template_localtime(DUE)) == "2026-02-26 00:00 UTC+8"


# --- The pages --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_settlement_run_page_is_titled_and_detailed_in_utc8(ops, settled, language):
    run = SettlementRun.objects.filter(campaign=settled).latest("pk")
    html = html_of(ops.get(f"/admin/rewards/settlementrun/{run.pk}/change/", HTTP_ACCEPT_LANGUAGE=language))
    assert_no_cst(html)
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert "2026-02-26 00:00" in html and "2026-02-25 16:00" not in html  # as of: UTC+8, never UTC
    assert "2026-02-26 00:00" in title and "2026-02-25 16:00" not in title  # the title, in the same zone
    assert "2026-02-26 00:00 UTC+8" in html  # the detail's "settled as of"
    started = timezone.localtime(run.started_at)
    assert f"{started:%Y-%m-%d %H:%M} UTC+8" in html  # Django's own field display carries the label


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_campaign_form_shows_the_window_and_periods_in_utc8_and_labels_them(ops, campaign, language):
    html = html_of(ops.get(f"/admin/campaign/campaign/{campaign.pk}/change/", HTTP_ACCEPT_LANGUAGE=language))
    assert_no_cst(html)
    local_start = timezone.localtime(campaign.starts_at, timezone=ZoneInfo("Asia/Shanghai"))
    assert local_start.strftime("%H:%M") == "18:00"  # RULES.md: 2026-02-12 18:00 (UTC+8)
    shown = dict(re.findall(r'name="(starts_at_[01])" value="([^"]*)"', html))
    assert shown["starts_at_0"].replace("/", "-") == "2026-02-12" and shown["starts_at_1"].startswith("18:00")  # in UTC+8
    assert html.count("UTC+8") >= 3  # both window fields' help, the periods
    assert "P1: 2026-02-12 18:00 UTC+8 → " in html
    assert " UTC<" not in html and "10:00 UTC" not in html and "2026-02-12 10:00" not in html


@pytest.mark.django_db
def test_an_instant_typed_in_the_campaign_form_is_read_as_utc8():
    request = RequestFactory().get("/")
    request.user = User(is_superuser=True, is_staff=True)
    model_admin = admin.site._registry[Campaign]
    field = model_admin.formfield_for_dbfield(Campaign._meta.get_field("starts_at"), request)
    assert "UTC+8" in str(field.help_text)
    assert field.clean(["2026-02-12", "18:00:00"]) == datetime(2026, 2, 12, 10, 0, tzinfo=UTC)


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_dashboard_shows_utc8_and_never_cst(ops, settled, language):
    html = html_of(ops.get(f"/admin/campaign/campaign/{settled.pk}/dashboard/", HTTP_ACCEPT_LANGUAGE=language))
    assert_no_cst(html)
    assert "UTC+8" in html
    assert "2026-02-12 18:00" in html and "2026-02-12 10:00" not in html  # the window
    assert "2026-02-25 16:00" not in html  # the settlement's instant, never in UTC


@pytest.mark.django_db
def test_the_message_of_a_queued_settlement_names_utc8_not_cst(ops, settled, eager_tasks):
    response = ops.post(f"/admin/campaign/campaign/{settled.pk}/dashboard/settle/", {"at": "2026-02-26T00:00:00+08:00"}, follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert any("2026-02-26 00:00:00 UTC+8" in m for m in messages), messages
    assert not any(CST.search(m) for m in messages)


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_status_page_shows_the_window_in_utc8_and_never_cst(client, settled, language):
    link = status_link_get_or_create(campaign=settled, trader=Trader.objects.get(uid=1001))
    html = html_of(client.get(f"/s/{status_link_token(link)}/", HTTP_ACCEPT_LANGUAGE=language))
    assert_no_cst(html)
    assert "2026-02-12 18:00" in html and "UTC+8" in html
    assert "2026-02-12 10:00" not in html


# --- Beat schedules ---------------------------------------------------------------------------

# What 0002 and 0004 wrote, in UTC: (task, minute, hour).
UTC_CRONTABS = {
    "rewards.tasks.payout_report_daily_task": ("0", "1"),
    "rewards.tasks.featured_posts_daily_task": ("5", "16"),
    "rewards.tasks.weekly_stars_task": ("10", "*"),
}
SHANGHAI_HOURS = {"rewards.tasks.payout_report_daily_task": "9", "rewards.tasks.featured_posts_daily_task": "0", "rewards.tasks.weekly_stars_task": "*"}


def next_firing(schedule, after: datetime) -> datetime:
    """The first instant after `after` at which `schedule` fires, in UTC."""
    start, delta, _now = schedule.remaining_delta(after)
    return (start + delta).astimezone(UTC)


@pytest.mark.django_db
@pytest.mark.parametrize("task", sorted(UTC_CRONTABS))
def test_the_beat_crontabs_are_in_shanghai_and_fire_at_the_same_instants_as_in_utc(task):
    crontab = PeriodicTask.objects.get(task=task).crontab
    assert (str(crontab.timezone), crontab.hour) == ("Asia/Shanghai", SHANGHAI_HOURS[task])
    minute, hour = UTC_CRONTABS[task]
    before = TzAwareCrontab(minute=minute, hour=hour, tz=ZoneInfo("UTC"))
    after = datetime(2026, 2, 25, 15, 30, tzinfo=UTC)
    for _ in range(30):  # a month of firings, across midnight in both zones
        now = next_firing(crontab.schedule, after)
        assert now == next_firing(before, after), (task, after)
        after = now + timedelta(minutes=1)


@pytest.mark.django_db
def test_the_migration_moves_utc_crontabs_to_shanghai_and_back_and_leaves_others_alone():
    migration = importlib.import_module("rewards.migrations.0011_beat_crontabs_in_shanghai")
    PeriodicTask.objects.filter(task__in=UTC_CRONTABS).delete()
    twice = CrontabSchedule.objects.create(minute="30", hour="1,20", timezone="UTC")
    weekly = CrontabSchedule.objects.create(minute="0", hour="20", day_of_week="1", timezone="UTC")
    PeriodicTask.objects.create(name="twice", task="rewards.tasks.payout_report_daily_task", crontab=twice)
    PeriodicTask.objects.create(name="weekly", task="rewards.tasks.featured_posts_daily_task", crontab=weekly)
    migration.to_shanghai(apps, None)
    twice.refresh_from_db()
    weekly.refresh_from_db()
    assert (twice.hour, str(twice.timezone)) == ("9,4", "Asia/Shanghai")
    assert (weekly.hour, str(weekly.timezone)) == ("20", "UTC")  # the weekday would move: ops' own, kept
    migration.to_utc(apps, None)
    twice.refresh_from_db()
    assert (twice.hour, str(twice.timezone)) == ("1,20", "UTC")
