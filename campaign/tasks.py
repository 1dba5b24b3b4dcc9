"""Celery entry points for the campaign app: thin shells over services."""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError

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


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def feed_pull_task(campaign_id: int) -> dict:
    """Pull the feed of one campaign (queued by the five-minute beat). Safe to run twice or at
    once: the cursor lease lets one pull through, and a page read twice changes nothing. A feed
    that fails fails this task only: the reason stays on the cursor and the next beat tries again."""
    from campaign.models import Campaign
    from campaign.services import feed_pull

    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        return {"skipped": "campaign is gone"}
    result = feed_pull(campaign=campaign)
    if result.skipped:
        return {"campaign": campaign.slug, "skipped": result.skipped}
    return {"campaign": campaign.slug, "pages": result.pages, "items": result.items, "rejected": result.rejected}


def app_eager() -> bool:
    from config.celery import app

    return bool(app.conf.task_always_eager)


def fan_out(task, campaigns, *args) -> dict:
    """Queue `task(campaign.pk, *args)` once per campaign; returns the task ids by campaign slug.
    Eager (no broker: development, tests) each task runs here as a worker would run it: a failure
    is logged by Celery and fails that campaign's task only, never the beat nor the others."""
    if task.app.conf.task_always_eager:
        return {campaign.slug: task.apply((campaign.pk, *args), throw=False).id for campaign in campaigns}
    return {campaign.slug: task.delay(campaign.pk, *args).id for campaign in campaigns}


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def feed_pull_open_campaigns() -> dict:
    """Beat, every 5 minutes: queue one task per campaign and job, so one campaign's trouble
    fails its own task only. In this order: store the queued webhook deliveries of each campaign
    that has some (the safety net of the webhook's own tasks: a message lost on the way is made up
    here); judge the posts left unjudged of each campaign still collecting engagement (window
    open, or closed for less than its grace time); pull the feed of each of those. Returns the
    queued task ids by job and campaign slug. Overlapping runs are harmless: every job is
    idempotent, the cursor lease lets one pull per campaign through, judging takes the lock.
    With a broker, the open chunks of a file's judging left unfinished for ten minutes are
    queued again (`judging_jobs_resume`)."""
    from django.conf import settings

    from campaign.models import Campaign, WebhookDelivery
    from campaign.selectors import campaigns_collecting

    queued = Campaign.objects.filter(pk__in=WebhookDelivery.objects.filter(processed_at__isnull=True).values("campaign"))
    from campaign.services.import_judging import judging_jobs_resume

    collecting = campaigns_collecting()
    result = {"deliveries": fan_out(webhook_deliveries_process_task, queued), "judge": fan_out(posts_judge_pending_task, collecting, [])}
    resumed = {} if app_eager() else judging_jobs_resume()
    if resumed:
        result["judging_jobs"] = resumed
    if not settings.GATE_FEED_BASE_URL:
        return {**result, "skipped": "GATE_FEED_BASE_URL is not set"}
    return {**result, "feed_pull": fan_out(feed_pull_task, collecting)}


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=8, acks_late=True)
def judging_chunk_task(chunk_id: int) -> dict:
    """One chunk of a bulk import's queued judging (`campaign.services.import_judging`). Safe to
    re-deliver and to run beside the same chunk's other deliveries: the chunk is done once, under
    its row lock, and one already done or held by another process is skipped."""
    from campaign.services.import_judging import judging_chunk_work

    return {"chunk": chunk_id, "done": judging_chunk_work(chunk_id=chunk_id)}
