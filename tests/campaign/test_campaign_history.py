"""A campaign's history in the reader's language (issue 18): `campaign_update` keeps each change's
facts exactly in the admin log (who, when, each field with its old and new value, the note), and
the campaign's History page says them with the settings' names and readable values, in English or
in Chinese. Entries written before as plain English text, and Django's own, show as they always did.
"""

import json
from datetime import datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.utils import translation
from pytest_django.asserts import assertContains, assertNotContains

from campaign.history import CHANGED_IN_ADMIN, WHATIF_APPLIED, campaign_change_read, campaign_change_record
from campaign.models import Campaign
from campaign.services.campaigns import campaign_update
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db
NOW = datetime.fromisoformat("2026-02-10T09:30:00+08:00")
TIERS = ["4000.00", "3000.00", "2500.00", "2000.00", "1800.00", "1600.00", "1500.00", "1300.00", "1200.00", "1100.00"]


@pytest.fixture
def ops(db):
    return User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456")


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


def a_change(campaign, ops, *, action=CHANGED_IN_ADMIN, note=" more for the top "):
    """Five settings of five kinds: money, a list of tiers, a choice, a limit lifted, an instant."""
    with time_machine.travel(NOW, tick=False):
        campaign_update(
            campaign=campaign,
            changes={
                "pool_cap": Decimal("300"),
                "leaderboard_tiers": ["5000.00", "2500.00"],
                "leaderboard_strategy": Campaign.SplitStrategy.PROPORTIONAL,
                "first_post_limit": 5,
                "ends_at": datetime.fromisoformat("2026-05-20T12:00:00+08:00"),
            },
            by=ops,
            note=note,
            action=action,
        )
    return LogEntry.objects.get()


def history(client, campaign, language):
    response = client.get(f"/admin/campaign/campaign/{campaign.pk}/history/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response


def row(field, label, before, after):
    return f'<tr data-field="{field}"><td>{label}</td><td>{before}</td><td>{after}</td></tr>'


def test_a_change_keeps_who_when_each_field_old_and_new_and_the_note_exactly(ops):
    campaign = CampaignFactory()
    with translation.override("zh-hans"):  # the reader's language is not what is stored
        entry = a_change(campaign, ops)
    assert (entry.user_id, entry.object_id, entry.action_flag, entry.action_time) == (ops.pk, str(campaign.pk), CHANGE, NOW)
    assert json.loads(entry.change_message) == [
        {
            "changed": {"fields": ["content pool cap per creator", "tier amounts by rank", "leaderboard split", "first-post bonuses at most", "window end (exclusive)"]},
            "campaign_update": {
                "action": "Changed in the admin",
                "changes": [
                    {"field": "pool_cap", "old": "100.00", "new": "300.00"},
                    {"field": "leaderboard_tiers", "old": TIERS, "new": ["5000.00", "2500.00"]},
                    {"field": "leaderboard_strategy", "old": "tiers", "new": "proportional"},
                    {"field": "first_post_limit", "old": None, "new": 5},
                    {"field": "ends_at", "old": "2026-02-24T16:00:00+00:00", "new": "2026-05-20T04:00:00+00:00"},
                ],
                "note": "more for the top",
            },
        }
    ]
    assert campaign_change_record(entry.change_message)["changes"][0] == {"field": "pool_cap", "old": "100.00", "new": "300.00"}


def test_djangos_own_reading_of_the_entry_names_the_settings_in_the_readers_language(ops):
    entry = a_change(CampaignFactory(), ops)
    assert entry.get_change_message() == (
        "Changed content pool cap per creator, tier amounts by rank, leaderboard split, first-post bonuses at most and window end (exclusive)."
    )
    with translation.override("zh-hans"):
        assert entry.get_change_message() == "已修改每位创作者内容激励上限，各名次档位金额，排行榜分配方式，首帖奖励名额上限 和 活动结束时间（不含）。"


def test_the_history_page_says_the_change_in_english(ops, ops_client):
    campaign = CampaignFactory()
    a_change(campaign, ops)
    page = history(ops_client, campaign, "en")
    assertContains(page, '<p class="campaign-change-action">Changed in the admin</p>', html=True)
    assertContains(page, row("pool_cap", "Content pool cap per creator", "100.00", "300.00"), html=True)
    assertContains(page, row("leaderboard_tiers", "Tier amounts by rank", "<br>".join(f"{r}: {t}" for r, t in enumerate(TIERS, 1)), "1: 5000.00<br>2: 2500.00"), html=True)
    assertContains(page, row("leaderboard_strategy", "Leaderboard split", "fixed tiers by rank", "proportional to score"), html=True)
    assertContains(page, row("first_post_limit", "First-post bonuses at most", "no limit", "5"), html=True)
    assertContains(page, row("ends_at", "Window end (exclusive)", "2026-02-25 00:00 UTC+8", "2026-05-20 12:00 UTC+8"), html=True)
    assertContains(page, '<p class="campaign-change-note">Note: more for the top</p>', html=True)
    assertNotContains(page, "pool_cap:")
    assertNotContains(page, "proportional</td>")


def test_the_history_page_says_the_change_in_chinese(ops, ops_client):
    campaign = CampaignFactory()
    a_change(campaign, ops, action=WHATIF_APPLIED)
    page = history(ops_client, campaign, "zh-hans")
    assertContains(page, '<p class="campaign-change-action">已应用假设配置</p>', html=True)
    assertContains(page, '<th scope="col">设置项</th><th scope="col">修改前</th><th scope="col">修改后</th>', html=True)
    assertContains(page, row("pool_cap", "每位创作者内容激励上限", "100.00", "300.00"), html=True)
    assertContains(page, row("leaderboard_strategy", "排行榜分配方式", "按名次固定档位", "按分数比例"), html=True)
    assertContains(page, row("first_post_limit", "首帖奖励名额上限", "不限", "5"), html=True)
    assertContains(page, row("ends_at", "活动结束时间（不含）", "2026-02-25 00:00 UTC+8", "2026-05-20 12:00 UTC+8"), html=True)
    assertContains(page, '<p class="campaign-change-note">备注：more for the top</p>', html=True)
    assertNotContains(page, "What-if applied")
    assertNotContains(page, "Note:")


def test_a_change_without_a_note_shows_no_note(ops, ops_client):
    campaign = CampaignFactory()
    campaign_update(campaign=campaign, changes={"score_cap": campaign.score_cap + 1}, by=ops, note="  ")
    assert campaign_change_record(LogEntry.objects.get().change_message)["note"] == ""
    page = history(ops_client, campaign, "en")
    assertContains(page, '<p class="campaign-change-action">Changed</p>', html=True)
    assertContains(page, row("score_cap", "Post score cap", campaign.score_cap, campaign.score_cap + 1), html=True)
    assertNotContains(page, "campaign-change-note")


def test_entries_written_before_as_plain_english_and_djangos_own_show_as_they_did(ops, ops_client):
    campaign = CampaignFactory()
    kind = ContentType.objects.get_for_model(Campaign)
    old = "Changed: pool_cap: 500.00 -> 300.00; leaderboard_tiers: [5000, 2500]. Note: more for the top"
    LogEntry.objects.create(user=ops, content_type=kind, object_id=str(campaign.pk), object_repr=str(campaign), action_flag=CHANGE, change_message=old)
    LogEntry.objects.create(user=ops, content_type=kind, object_id=str(campaign.pk), object_repr=str(campaign), action_flag=ADDITION, change_message='[{"added": {}}]')
    assert [campaign_change_read(entry=e) for e in LogEntry.objects.all()] == [None, None]
    english = history(ops_client, campaign, "en")
    assertContains(english, f"<td>{old}</td>", html=True)
    assertContains(english, "<td>Added.</td>", html=True)
    assertNotContains(english, "campaign-change")
    chinese = history(ops_client, campaign, "zh-hans")
    assertContains(chinese, f"<td>{old}</td>", html=True)
    assertContains(chinese, "<td>已添加。</td>", html=True)


@pytest.mark.parametrize(
    "message",
    [
        "",
        "Changed: pool_cap: 500.00 -> 300.00.",
        "[not json",
        '{"campaign_update": {}}',
        '[{"changed": {"fields": ["pool cap"]}}]',
        '[{"changed": {"fields": []}, "campaign_update": {"action": "Changed", "changes": [{"field": "pool_cap", "old": "1"}], "note": ""}}]',
        '[{"changed": {"fields": []}, "campaign_update": {"action": "Changed", "changes": "pool_cap", "note": ""}}]',
    ],
    ids=["empty", "plain-text", "broken-json", "not-a-list", "djangos-own", "a-change-without-new", "changes-not-a-list"],
)
def test_only_a_complete_record_of_campaign_update_is_read_as_one(message):
    assert campaign_change_record(message) is None


def test_the_campaign_form_and_the_history_page_go_together(ops_client, django_capture_on_commit_callbacks):
    """The form's save (rewards/admin_campaign.py) writes the record the History page reads."""
    from tests.rewards.test_admin_campaign_door import form_data

    campaign = CampaignFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = ops_client.post(f"/admin/campaign/campaign/{campaign.pk}/change/", form_data(campaign, pool_cap="123.45"))
    assert response.status_code == 302
    record = campaign_change_record(LogEntry.objects.order_by("-pk").first().change_message)
    assert record["action"] == "Changed in the admin" and {"field": "pool_cap", "old": "100.00", "new": "123.45"} in record["changes"]
    page = history(ops_client, campaign, "zh-hans")
    assertContains(page, '<p class="campaign-change-action">在管理后台修改</p>', html=True)
    assertContains(page, row("pool_cap", "每位创作者内容激励上限", "100.00", "123.45"), html=True)
