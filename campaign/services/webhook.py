"""The posts webhook as a queue: the door takes a signed delivery in one insert, a worker stores it.

RULES.md section 9 (post records). A delivery answered 202 is kept (`WebhookDelivery`, body as
received) and queued; `webhook_deliveries_process` then stores the posts of every queued delivery
of a campaign, oldest first, through the one posts service, and marks them processed in the same
transaction: a crash stores nothing and marks nothing, the re-delivered task does both. Items
that cannot be stored whatever the database holds are refused at the door already, with the
same reasons the import would give (`record_parse`).
"""

import json
import logging
from dataclasses import dataclass

from django.core.cache import cache
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from campaign.models import Campaign, WebhookDelivery
from campaign.services.post_records import post_parser
from campaign.services.posts import posts_ingest
from campaign.services.signups import campaign_import_run_create
from core.imports import record_parse
from core.models import ImportRun, RejectedRecord
from core.reading import SourceRecord, item_records

BATCH_DELIVERIES = 500
BATCH_ITEMS = 20_000
logger = logging.getLogger(__name__)
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
    parse = post_parser(campaign)
    for record in item_records(items):
        _, problem = record_parse(record, parse)
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
            raw = f"delivery {delivery.delivery_id} item {record.line}: {record.raw}"
            # Observed when the delivery arrived, not when a worker got to it: a backlog stored
            # late must not squeeze its engagement changes into a moment (the jump signal).
            yield SourceRecord(line, raw, record.data, record.error, seen_at=delivery.received_at)


def _locked_batch(campaign: Campaign, size: int, max_items: int = BATCH_ITEMS) -> list[WebhookDelivery]:
    """The oldest queued deliveries, locked: at most `size`, and no more items than `max_items`
    (at least one delivery), so a backlog of large deliveries is taken in bounded steps."""
    queued = WebhookDelivery.objects.filter(campaign=campaign, processed_at__isnull=True).order_by("id")
    take, items = [], 0
    for pk, count in queued.values_list("id", "items")[:size]:
        if take and items + count > max_items:
            break
        take.append(pk)
        items += count
    # Locked, and checked again once locked: another worker may have taken them meanwhile.
    return list(queued.select_for_update().filter(id__in=take).only("id", "delivery_id", "body", "items", "received_at"))


def _store(campaign: Campaign, batch: list[WebhookDelivery]) -> None:
    """The posts of `batch` through the posts service, and the processed mark, in the caller's transaction."""
    report = posts_ingest(
        campaign=campaign,
        records=_records(batch),
        source=ImportRun.Source.WEBHOOK,
        filename=f"webhook: {len(batch)} deliveries from {batch[0].delivery_id}"[:255],
        judge_later=True,
    )
    WebhookDelivery.objects.filter(id__in=[d.id for d in batch]).update(processed_at=timezone.now(), import_run=report.run)


def _keep_failed(campaign: Campaign, delivery: WebhookDelivery, exc: Exception) -> None:
    """A delivery whose posts cannot be stored: marked processed with an import run that refuses
    every item and says why, so ops see it and the queue behind it moves on."""
    run = campaign_import_run_create(
        campaign=campaign, kind=ImportRun.Kind.POSTS, source=ImportRun.Source.WEBHOOK, filename=f"webhook {delivery.delivery_id}",
        total=delivery.items, rejected=delivery.items, status=ImportRun.Status.FINISHED, finished_at=timezone.now(),
    )  # fmt: skip
    RejectedRecord.objects.create(
        run=run, line=1, raw=f"delivery {delivery.delivery_id}", reason=f"the delivery could not be stored ({type(exc).__name__}: {exc}); nothing of it was kept"
    )
    WebhookDelivery.objects.filter(pk=delivery.pk).update(processed_at=timezone.now(), import_run=run)


def webhook_deliveries_process(*, campaign: Campaign, batch_size: int = BATCH_DELIVERIES, batch_items: int = BATCH_ITEMS) -> int:
    """Store the posts of every queued delivery of `campaign`, oldest first; returns how many
    deliveries were processed. Idempotent and safe at once: each batch locks its rows and
    commits its posts with the processed mark, so a second worker waits and then finds them done.
    Posts are judged after commit by the usual task (`posts_judge_pending`).

    A batch that fails for any reason but a lost database (which the task retries) is taken again
    one delivery at a time: a delivery that still fails is kept as failed with its reason
    (`_keep_failed`), and the others are stored; one bad delivery never holds up the queue.
    """
    done = 0
    while True:
        cache.delete(_scheduled_key(campaign.pk))  # deliveries from now on schedule another run
        try:
            with transaction.atomic():
                batch = _locked_batch(campaign, batch_size, batch_items)
                if not batch:
                    return done
                _store(campaign, batch)
            done += len(batch)
        except (OperationalError, InterfaceError):
            raise
        except Exception:  # noqa: BLE001 - narrowed to one delivery below, and kept with its reason
            logger.exception("webhook batch of campaign %s failed; storing its deliveries one by one", campaign.slug)
            done += _process_one_by_one(campaign, batch_size)


def _process_one_by_one(campaign: Campaign, count: int) -> int:
    done = 0
    for _ in range(count):
        with transaction.atomic():
            batch = _locked_batch(campaign, 1)
            if not batch:
                return done
            try:
                with transaction.atomic():
                    _store(campaign, batch)
            except (OperationalError, InterfaceError):
                raise
            except Exception as exc:  # noqa: BLE001 - kept for ops with its reason
                logger.exception("webhook delivery %s could not be stored", batch[0].delivery_id)
                _keep_failed(campaign, batch[0], exc)
        done += 1
    return done
