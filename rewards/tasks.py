"""Celery entry points for rewards: thin shells over services."""

from celery import shared_task
from django.db import OperationalError


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def settle_campaign_task(campaign_id: int, at: str | None = None, triggered_by: str = "task") -> dict:
    """Settle a campaign (everything due at `at`, ISO instant, default now). Safe to run twice or
    at once: the service locks the campaign and only ever replaces `calculated` rows."""
    from datetime import datetime

    from campaign.models import Campaign
    from rewards.services import settle_campaign

    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return {"skipped": "campaign is gone"}
    run = settle_campaign(campaign=campaign, at=datetime.fromisoformat(at) if at else None, triggered_by=triggered_by)
    return {"run": run.pk, "ledger": run.summary.get("ledger", {})}


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3, acks_late=True)
def payout_report_daily_task() -> dict:
    """Beat, daily: store and email the payout report of every campaign with payable rewards."""
    from campaign.models import Campaign
    from rewards.services import payout_report_store

    done = {}
    for campaign in Campaign.objects.filter(rewards__preview=False).distinct():
        report = payout_report_store(campaign=campaign, created_by="beat: daily payout report", email=True)
        done[campaign.slug] = report.pk
    return done
