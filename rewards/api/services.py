"""Writes the rewards API starts that have no service of their own elsewhere."""

import uuid

from django.core.cache import cache
from django.db import transaction

from campaign.models import Campaign
from rewards.api.selectors import enqueued_key, enqueued_lifetime, task_marker
from rewards.tasks import settle_campaign_task


def settlement_enqueue(*, campaign: Campaign, at=None, by: str) -> str:
    """Enqueue `settle_campaign_task` after the current transaction commits; return its task id.

    The id is chosen here, before the task exists, and written into the run's `triggered_by`, so
    the caller can follow the settlement (GET /api/v1/settlements/<task id>/). Until the run
    exists, a cache entry that lives as long as the task's result says the id was enqueued, so an
    id nobody enqueued is told apart (404); it is written when the task is sent, after commit, so
    a rolled-back request leaves no id that would say "queued" for ever. Settling twice is
    harmless: the service locks the campaign and replaces only `calculated` rows.
    """
    task_id = str(uuid.uuid4())
    marker = task_marker(task_id)
    triggered_by = f"{by[: 150 - len(marker) - 1]} {marker}"
    at_iso = at.isoformat() if at is not None else None

    def send():
        cache.set(enqueued_key(task_id), campaign.pk, timeout=enqueued_lifetime())
        settle_campaign_task.apply_async(args=[campaign.pk, at_iso], kwargs={"triggered_by": triggered_by}, task_id=task_id)

    transaction.on_commit(send)
    return task_id
