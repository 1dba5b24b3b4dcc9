"""The campaign's change form writes through `campaign_update`, the door every campaign edit uses:
only the edited fields, validated under the lock, with one audit entry saying old -> new."""

from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry

from campaign.history import campaign_change_record
from campaign.models import Campaign
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def form_data(campaign, **changes):
    data = {f.name: "" if f.value_from_object(campaign) is None else f.value_from_object(campaign) for f in campaign._meta.concrete_fields if f.editable and f.name != "id"}
    data.update(starts_at_0="2026-05-01", starts_at_1="10:00:00", ends_at_0="2026-05-10", ends_at_1="10:00:00")
    data.update(latin_terms="long", cjk_terms="做多", leaderboard_tiers="1: 100.00")  # the lists as the form shows them: lines
    data.update(changes)
    return data


def test_saving_the_campaign_form_writes_one_audit_entry_from_campaign_update(admin_client, django_capture_on_commit_callbacks):
    campaign = CampaignFactory()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/admin/campaign/campaign/{campaign.pk}/change/", form_data(campaign))  # the form's own shape of the stored values
    LogEntry.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/campaign/campaign/{campaign.pk}/change/", form_data(campaign, pool_cap="123.45"))
    assert response.status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).pool_cap == Decimal("123.45")
    (entry,) = LogEntry.objects.all()
    record = campaign_change_record(entry.change_message)
    assert record["action"] == "Changed in the admin" and {"field": "pool_cap", "old": "100.00", "new": "123.45"} in record["changes"]


def test_a_refused_campaign_form_writes_nothing_and_logs_nothing(admin_client):
    campaign = CampaignFactory()
    before = Campaign.objects.get(pk=campaign.pk).pool_cap
    response = admin_client.post(f"/admin/campaign/campaign/{campaign.pk}/change/", form_data(campaign, pool_cap="-5"))
    assert response.status_code == 200  # the form again, with its error
    assert Campaign.objects.get(pk=campaign.pk).pool_cap == before
    assert not LogEntry.objects.exists()
