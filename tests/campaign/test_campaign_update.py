"""`campaign_update`: the one write of a campaign's settings, locked, validated, written field by
field and kept in the admin log with who, when, what and why."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from campaign.history import campaign_change_record
from campaign.models import Campaign
from campaign.services.campaigns import campaign_update

pytestmark = pytest.mark.django_db
NOW = datetime.fromisoformat("2026-02-10T09:30:00+08:00")


@pytest.fixture
def ops(db):
    return User.objects.create_user("ops")


def stored(campaign):
    return Campaign.objects.get(pk=campaign.pk)


def test_a_change_is_written_and_audited_with_who_when_what_and_the_note(campaign, ops):
    before = stored(campaign)
    with time_machine.travel(NOW, tick=False):
        updated = campaign_update(
            campaign=campaign, changes={"pool_cap": Decimal("300"), "min_length": before.min_length, "leaderboard_tiers": ["5000", "2500"]}, by=ops, note=" more for the top "
        )
    after = stored(campaign)
    assert (after.pool_cap, after.leaderboard_tiers, after.min_length) == (Decimal("300.00"), ["5000", "2500"], before.min_length)
    assert updated.pool_cap == Decimal("300.00") and after.updated_at == NOW
    entry = LogEntry.objects.get()
    assert (entry.user_id, entry.object_id, entry.action_flag, entry.action_time) == (ops.pk, str(campaign.pk), CHANGE, NOW)
    assert campaign_change_record(entry.change_message) == {
        "action": "Changed",
        "changes": [{"field": "pool_cap", "old": str(before.pool_cap), "new": "300.00"}, {"field": "leaderboard_tiers", "old": before.leaderboard_tiers, "new": ["5000", "2500"]}],
        "note": "more for the top",
    }


def test_the_action_names_the_door_and_an_empty_note_is_left_out(campaign, ops):
    campaign_update(campaign=campaign, changes={"score_cap": campaign.score_cap + 1}, by=ops, note="", action="What-if applied")
    assert campaign_change_record(LogEntry.objects.get().change_message) == {
        "action": "What-if applied", "changes": [{"field": "score_cap", "old": campaign.score_cap, "new": campaign.score_cap + 1}], "note": "",
    }  # fmt: skip


def test_only_the_changed_fields_are_written_over_what_is_stored_now(campaign, ops):
    stale = stored(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(name="Renamed meanwhile")  # another door, after `stale` was read
    campaign_update(campaign=stale, changes={"pool_cap": Decimal("250.00")}, by=ops, note="cap")
    assert (stored(campaign).name, stored(campaign).pool_cap) == ("Renamed meanwhile", Decimal("250.00"))


def test_an_invalid_change_is_refused_and_nothing_is_written(campaign, ops):
    before = stored(campaign)
    with pytest.raises(ValidationError) as refused:
        campaign_update(campaign=campaign, changes={"pool_cap": Decimal("300"), "score_cap": 0}, by=ops, note="bad")
    assert set(refused.value.message_dict) == {"score_cap"}
    assert (stored(campaign).pool_cap, stored(campaign).score_cap, stored(campaign).updated_at) == (before.pool_cap, before.score_cap, before.updated_at)
    assert not LogEntry.objects.exists()


def test_a_change_the_model_refuses_across_fields_writes_nothing(campaign, ops):
    before = stored(campaign)
    with pytest.raises(ValidationError) as refused:
        campaign_update(campaign=campaign, changes={"ends_at": before.starts_at - timedelta(days=1)}, by=ops, note="bad window")
    assert "ends_at" in refused.value.message_dict
    assert stored(campaign).ends_at == before.ends_at and not LogEntry.objects.exists()


def test_a_field_that_is_not_a_setting_is_refused(campaign, ops):
    with pytest.raises(ValidationError) as refused:
        campaign_update(campaign=campaign, changes={"links_threshold": Decimal("0.9"), "nope": 1, "id": 99}, by=ops, note="x")
    assert set(refused.value.message_dict) == {"id", "links_threshold", "nope"}
    assert stored(campaign).links_threshold != Decimal("0.9") and not LogEntry.objects.exists()


def test_a_change_to_the_stored_values_writes_and_logs_nothing(campaign, ops):
    before = stored(campaign)
    campaign_update(campaign=campaign, changes={"pool_cap": before.pool_cap, "latin_terms": list(before.latin_terms)}, by=ops, note="nothing")
    assert stored(campaign).updated_at == before.updated_at and not LogEntry.objects.exists()
