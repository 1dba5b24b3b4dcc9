"""The posts webhook as a queue: the door takes a signed delivery in one insert, a worker stores it.

RULES.md section 9 (post records). A delivery answered 202 is kept (`WebhookDelivery`, body as
received) and queued; `webhook_deliveries_process` then stores the posts of every queued delivery
of a campaign, oldest first, through the one posts service, and marks them processed in the same
transaction: a crash stores nothing and marks nothing, the re-delivered task does both. Items
that cannot be stored whatever the database holds are refused at the door already, with the
same reasons the import would give (`record_parse`).
"""

import json
from dataclasses import dataclass

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from campaign.models import Campaign, WebhookDelivery
from campaign.services.posts import post_parse, posts_ingest
from traders.imports import SourceRecord, item_records, record_parse
from traders.models import ImportRun

BATCH_DELIVERIES = 500
SCHEDULED_TTL = 10  # seconds


class DeliveryReplayed(Exception):
    """The delivery id was taken before: the sender retried a delivery we already have."""


@dataclass(frozen=True)
class DeliveryReceipt:
    delivery_id: str
    accepted: int
    rejected: list[tuple[int, str]]


def webhook_delivery_receive(*, campaign: Campaign, delivery_id: str, body: bytes, items: list) -> DeliveryReceipt:
    """Keep a verified delivery and queue it; the caller's transaction commits it.

    Raises DeliveryReplayed when `delivery_id` is known. Enqueues the processing task on commit.
    """
    rejected = []
    for record in item_records(items):
        _, problem = record_parse(record, post_parse)
        if problem is not None:
            rejected.append((record.line, problem))
    try:
        with transaction.atomic():
            WebhookDelivery.objects.create(delivery_id=delivery_id, campaign=campaign, body=body, items=len(items))
    except IntegrityError as exc:
        raise DeliveryReplayed(delivery_id) from exc
    campaign_id = campaign.pk
    transaction.on_commit(lambda: _schedule_processing(campaign_id))
    return DeliveryReceipt(delivery_id=delivery_id, accepted=len(items) - len(rejected), rejected=rejected)


def _scheduled_key(campaign_id: int) -> str:
    return f"webhook-processing-scheduled:{campaign_id}"


def _schedule_processing(campaign_id: int) -> None:
    """Enqueue a processing run unless one is already scheduled and has not started its next look
    at the queue: a burst of deliveries costs a handful of runs, not one message each.

    Safe: the mark is set after the delivery committed, and a run deletes it before each look at
    the queue, so a delivery whose mark was already set is seen by that look. The mark expires
    (SCHEDULED_TTL) in case its run is lost; the five-minute beat is the last resort.
    """
    from campaign.tasks import webhook_deliveries_process_task

    if cache.add(_scheduled_key(campaign_id), 1, timeout=SCHEDULED_TTL):
        webhook_deliveries_process_task.delay(campaign_id)


def _records(batch: list[WebhookDelivery]):
    """The items of a batch of deliveries, in order, numbered across the batch; each record's raw
    text names its delivery and item, so a refused one can be traced to its sender."""
    line = 0
    for delivery in batch:
        try:
            items = json.loads(bytes(delivery.body))["items"]
        except (ValueError, KeyError, TypeError):  # the door checked it: only a hand-edited row gets here
            line += 1
            yield SourceRecord(line, f"delivery {delivery.delivery_id}", None, "the stored body is not a delivery")
            continue
        for record in item_records(items):
            line += 1
            yield SourceRecord(line, f"delivery {delivery.delivery_id} item {record.line}: {record.raw}", record.data, record.error)


def webhook_deliveries_process(*, campaign: Campaign, batch_size: int = BATCH_DELIVERIES) -> int:
    """Store the posts of every queued delivery of `campaign`, oldest first; returns how many
    deliveries were processed. Idempotent and safe at once: each batch locks its rows and
    commits its posts with the processed mark, so a second worker waits and then finds them done.
    Posts are judged after commit by the usual task (`posts_judge_pending`)."""
    done = 0
    while True:
        cache.delete(_scheduled_key(campaign.pk))  # deliveries from now on schedule another run
        with transaction.atomic():
            batch = list(
                WebhookDelivery.objects.select_for_update()
                .filter(campaign=campaign, processed_at__isnull=True)
                .order_by("id")
                .only("id", "delivery_id", "body")[:batch_size]
            )
            if not batch:
                return done
            report = posts_ingest(
                campaign=campaign,
                records=_records(batch),
                source=ImportRun.Source.WEBHOOK,
                filename=f"webhook: {len(batch)} deliveries from {batch[0].delivery_id}"[:255],
                judge_later=True,
            )
            WebhookDelivery.objects.filter(id__in=[d.id for d in batch]).update(processed_at=timezone.now(), import_run=report.run)
            done += len(batch)
