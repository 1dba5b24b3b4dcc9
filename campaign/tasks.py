"""Celery entry points for the campaign app: thin shells over services."""

from pathlib import Path

from celery import shared_task
from django.db import OperationalError


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def campaign_import_file(campaign_id: int, kind: str, path: str, created_by: str = "") -> dict:
    """Import a stored file into a campaign; returns the run's counts. Safe to run twice:
    every import service upserts on natural keys, so a re-delivery changes nothing."""
    from campaign.models import Campaign
    from campaign.services import campaign_import_file as service
    from traders.models import ImportRun

    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return {"skipped": "campaign is gone"}
    file = Path(path)
    report = service(campaign=campaign, kind=kind, data=file.read_bytes(), filename=file.name, source=ImportRun.Source.API, created_by=created_by)
    return {"run": report.run.pk, "total": report.run.total, "accepted": report.run.accepted, "rejected": report.run.rejected}
