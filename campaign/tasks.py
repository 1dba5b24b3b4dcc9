"""Celery entry points for the campaign app: thin shells over services."""

import logging

import requests
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError

logger = logging.getLogger(__name__)


MAX_CONTINUATIONS = 20  # soft time limits an import may run into, each after committing more


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def campaign_import_file(run_id: int, continuation: int = 0) -> dict:
    """Import the stored file of an import run (queued by the admin, or started again): returns
    its counts. Safe to re-deliver: the service claims the run, so a finished run or one another
    worker holds is not imported twice, and a killed run continues from its last committed line.
    At the soft time limit what was committed stays, and a new task continues from there."""
    from campaign.services import campaign_import_run

    try:
        report = campaign_import_run(run_id=run_id)
    except SoftTimeLimitExceeded:
        if continuation >= MAX_CONTINUATIONS:
            raise
        campaign_import_file.delay(run_id, continuation + 1)
        return {"run": run_id, "continued": continuation + 1}
    if isinstance(report, str):
        return {"run": run_id, "skipped": report}
    run = report.run
    return {"run": run.pk, "status": run.status, "total": run.total, "accepted": run.accepted, "rejected": run.rejected}


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=8, acks_late=True)
def webhook_deliveries_process_task(campaign_id: int) -> dict:
    """After a webhook delivery commits: store the posts of every queued delivery of the campaign.
    Runs queued behind each other find the queue empty; a lost message is made up by the next
    delivery's task or by the five-minute beat."""
    from campaign.models import Campaign
    from campaign.services.webhook import webhook_deliveries_process

    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return {"skipped": "campaign is gone"}
    return {"deliveries": webhook_deliveries_process(campaign=campaign)}


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=8, acks_late=True)
def posts_judge_pending_task(campaign_id: int, post_ids: list[int]) -> dict:
    """After a webhook delivery commits: judge its posts and every post not judged yet. Safe to
    run twice or at once (campaign lock, idempotent judging); the next settlement judges every
    post anyway, so a lost message delays a verdict but never loses one."""
    from campaign.models import Campaign
    from campaign.services import posts_judge_pending

    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return {"skipped": "campaign is gone"}
    return {"changed": posts_judge_pending(campaign=campaign, post_ids=post_ids)}


@shared_task(autoretry_for=(OperationalError, requests.ConnectionError, requests.Timeout), retry_backoff=True, max_retries=5, acks_late=True)
def feed_pull_open_campaigns() -> dict:
    """Beat, every 5 minutes: pull the feed for each campaign whose window is open, or closed for
    less than its grace time (engagement still counts until settlement), after judging any post a
    webhook delivery left unjudged. Overlapping runs are harmless: the cursor lease lets one pull
    per campaign through, and judging takes the campaign lock."""
    from django.conf import settings

    from campaign.feed_client import FeedError
    from campaign.models import Campaign, WebhookDelivery
    from campaign.selectors import campaigns_collecting
    from campaign.services import feed_pull, posts_judge_pending
    from campaign.services.webhook import webhook_deliveries_process

    # The safety net of the webhook's tasks: a message lost on the way is made up here. One
    # campaign's trouble must not stop the others, nor the feed pull below.
    for campaign in Campaign.objects.filter(pk__in=WebhookDelivery.objects.filter(processed_at__isnull=True).values("campaign")):
        try:
            webhook_deliveries_process(campaign=campaign)
        except Exception:  # noqa: BLE001 - logged; the next beat tries again
            logger.exception("queued webhook deliveries of %s: processing failed", campaign.slug)
    judged = {}
    collecting = campaigns_collecting()
    for campaign in collecting:
        try:
            judged[campaign.slug] = posts_judge_pending(campaign=campaign)
        except Exception as exc:  # noqa: BLE001 - logged; the next beat or settlement judges again
            logger.exception("judging the pending posts of %s failed", campaign.slug)
            judged[campaign.slug] = f"error: {exc}"
    if not settings.GATE_FEED_BASE_URL:
        return {"skipped": "GATE_FEED_BASE_URL is not set", "judged": judged}
    results = {}
    for campaign in collecting:
        try:
            result = feed_pull(campaign=campaign)
        except FeedError as exc:  # one campaign's feed trouble must not starve the others
            results[campaign.slug] = f"error: {exc}"
            continue
        results[campaign.slug] = result.skipped or f"{result.pages} pages, {result.items} items"
    return results
