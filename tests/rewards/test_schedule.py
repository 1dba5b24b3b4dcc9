"""Settlements are scheduled in django-celery-beat at each period's end plus grace."""

from datetime import datetime, timezone

import pytest
from django_celery_beat.models import PeriodicTask

from rewards.services.schedule import settlement_due_instants, settlement_schedule_sync
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def test_the_preloaded_campaign_is_scheduled_by_its_migration(campaign):
    task = PeriodicTask.objects.filter(name=f"settle {campaign.slug} final").first()
    if task is None:  # a transactional test flushed the migration's rows; the service restores them
        settlement_schedule_sync(campaign=campaign)
        task = PeriodicTask.objects.get(name=f"settle {campaign.slug} final")
    assert task.clocked.clocked_time == datetime.fromisoformat("2026-02-26T00:00:00+08:00")
    assert task.one_off and task.task == "rewards.tasks.settle_campaign_task"


def test_a_campaign_of_several_periods_settles_each_at_its_end_plus_grace():
    campaign = CampaignFactory(
        starts_at=datetime.fromisoformat("2026-03-01T00:00:00+08:00"), ends_at=datetime.fromisoformat("2026-04-05T00:00:00+08:00"), grace_hours=12
    )
    assert [(label, instant.astimezone(timezone.utc).isoformat()) for label, instant in settlement_due_instants(campaign)] == [
        ("P1", "2026-03-15T04:00:00+00:00"),
        ("P2", "2026-03-29T04:00:00+00:00"),
        ("final", "2026-04-05T04:00:00+00:00"),
    ]
    assert settlement_schedule_sync(campaign=campaign) == [f"settle {campaign.slug} P1", f"settle {campaign.slug} P2", f"settle {campaign.slug} final"]
    # Moving the window moves the clocks, and a period that no longer exists loses its task.
    campaign.ends_at = datetime.fromisoformat("2026-03-20T00:00:00+08:00")
    campaign.save()
    assert settlement_schedule_sync(campaign=campaign) == [f"settle {campaign.slug} P1", f"settle {campaign.slug} final"]
    assert not PeriodicTask.objects.filter(name=f"settle {campaign.slug} P2").exists()


def test_saving_a_campaign_in_the_admin_schedules_its_settlements(admin_client, django_capture_on_commit_callbacks):
    campaign = CampaignFactory()
    data = {f.name: "" if f.value_from_object(campaign) is None else f.value_from_object(campaign) for f in campaign._meta.concrete_fields if f.editable and f.name != "id"}
    data.update(starts_at_0="2026-05-01", starts_at_1="10:00:00", ends_at_0="2026-05-10", ends_at_1="10:00:00")
    data.update(latin_terms="long", cjk_terms="做多", leaderboard_tiers="1: 100.00")  # the lists as the form shows them: lines
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/campaign/campaign/{campaign.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert PeriodicTask.objects.filter(name=f"settle {campaign.slug} final").exists()
