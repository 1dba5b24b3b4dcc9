"""Celery entry points for rewards: thin shells over services."""

from celery import shared_task
from django.db import OperationalError

from campaign.tasks import fan_out


@shared_task(bind=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def settle_campaign_task(self, campaign_id: int, at: str | None = None, triggered_by: str = "task", full_judge: bool = False) -> dict:
    """Settle a campaign (everything due at `at`, ISO instant, default now), judging every post
    again with `full_judge`, into the run queued under this task's id (`settlement_enqueue`), or
    a new one (the beat's). Safe to run twice or at once: the service locks the campaign, settles
    a task's run once, and only ever replaces `calculated` rows."""
    from datetime import datetime

    from campaign.models import Campaign
    from rewards.services import settle_campaign

    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return {"skipped": "campaign is gone"}
    at_instant = datetime.fromisoformat(at) if at else None
    run = settle_campaign(campaign=campaign, at=at_instant, triggered_by=triggered_by, full_judge=full_judge, task_id=self.request.id)
    return {"run": run.pk, "ledger": run.summary.get("ledger", {})}


def _campaign(campaign_id: int):
    from campaign.models import Campaign

    return Campaign.objects.filter(pk=campaign_id).first()


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3, acks_late=True)
def payout_report_task(campaign_id: int) -> dict:
    """Store and email the payout report of one campaign (queued by the daily beat). A report is
    a dated snapshot: a message delivered twice stores (and sends) the same figures twice."""
    from rewards.services import payout_report_store

    campaign = _campaign(campaign_id)
    if campaign is None:
        return {"skipped": "campaign is gone"}
    report = payout_report_store(campaign=campaign, created_by="beat: daily payout report", email=True)
    return {"campaign": campaign.slug, "report": report.pk}


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3, acks_late=True)
def payout_report_daily_task() -> dict:
    """Beat, daily: queue a payout report task for every campaign with payable rewards."""
    from campaign.models import Campaign

    return fan_out(payout_report_task, Campaign.objects.filter(rewards__preview=False).distinct().order_by("pk"))


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3, acks_late=True)
def featured_posts_refresh_task(campaign_id: int, at: str | None = None) -> dict:
    """Rebuild the featured posts of one campaign at `at` (ISO instant, default now): each ended
    day's best posts, plus those featured by hand. Safe to run twice or at once: the service
    locks the campaign and writes only differences."""
    from datetime import datetime

    from rewards.services.traffic import featured_posts_refresh

    campaign = _campaign(campaign_id)
    if campaign is None:
        return {"skipped": "campaign is gone"}
    return {"campaign": campaign.slug, **featured_posts_refresh(campaign=campaign, at=datetime.fromisoformat(at) if at else None)}


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3, acks_late=True)
def featured_posts_daily_task(at: str | None = None) -> dict:
    """Beat, daily just after 00:00 UTC+8: queue a featured posts refresh for every campaign still
    collecting engagement at `at` (ISO instant, default now)."""
    from datetime import datetime

    from campaign.selectors import campaigns_collecting

    return fan_out(featured_posts_refresh_task, campaigns_collecting(at=datetime.fromisoformat(at) if at else None), at)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3, acks_late=True)
def weekly_stars_refresh_task(campaign_id: int, at: str | None = None) -> dict:
    """Rebuild the automatic star traders of every week of one campaign ended at `at` (ISO
    instant, default now); manual overrides are kept. Idempotent like `featured_posts_refresh_task`."""
    from datetime import datetime

    from rewards.services.traffic import weekly_stars_refresh

    campaign = _campaign(campaign_id)
    if campaign is None:
        return {"skipped": "campaign is gone"}
    return {"campaign": campaign.slug, **weekly_stars_refresh(campaign=campaign, at=datetime.fromisoformat(at) if at else None)}


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3, acks_late=True)
def weekly_stars_task(at: str | None = None) -> dict:
    """Beat, hourly: queue a weekly stars refresh for every campaign still collecting engagement.
    Campaign weeks start at the window start, not on a fixed weekday, so an hourly check names a
    week's stars within the hour after it ends."""
    from datetime import datetime

    from campaign.selectors import campaigns_collecting

    return fan_out(weekly_stars_refresh_task, campaigns_collecting(at=datetime.fromisoformat(at) if at else None), at)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def whatif_run_task(run_id: int) -> dict:
    """Compute one what-if run (preview or apply) and record its progress and outcome on the row.
    Safe to deliver twice: the service claims the run with a conditional update, so a finished
    run is never computed again and a live one is left to its worker."""
    from rewards.services.whatif.runs import whatif_run_execute

    return whatif_run_execute(run_id=run_id)
