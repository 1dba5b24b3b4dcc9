"""Pulling posts from the Gate Square feed (docs/feed-contract.md) into the posts service."""

import logging
from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from campaign.feed_client import FeedClient, FeedError
from campaign.models import Campaign, FeedCursor
from campaign.services.posts import posts_ingest
from core.models import ImportRun
from core.reading import item_records

logger = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class FeedPullResult:
    pages: int = 0
    items: int = 0
    rejected: int = 0
    skipped: str = ""
    error: str = ""


def feed_client_default() -> FeedClient:
    if not settings.GATE_FEED_BASE_URL:
        raise FeedError("GATE_FEED_BASE_URL is not set")
    return FeedClient(settings.GATE_FEED_BASE_URL, settings.GATE_FEED_TOKEN, timeout=(3.05, settings.GATE_FEED_TIMEOUT))


def feed_pull(*, campaign: Campaign, client: FeedClient | None = None, progress=None, max_pages: int | None = None) -> FeedPullResult:
    """Page through the feed from the saved cursor and ingest every item.

    Each page and the cursor after it are written in one transaction, so a crash resumes at the
    page in flight: nothing is lost, and a page read twice changes nothing (posts upsert on their
    id). A lease on the cursor row, claimed with a conditional UPDATE, keeps two pullers (two
    workers, or beat and a hand-run command) from paging at once; the loser returns `skipped`.
    """
    cursor_row, _ = FeedCursor.objects.get_or_create(campaign=campaign)
    now = timezone.now()
    claimed = FeedCursor.objects.filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now), pk=cursor_row.pk).update(lease_until=now + LEASE)
    if claimed != 1:
        return FeedPullResult(skipped="another pull of this campaign is running")
    cursor_row.refresh_from_db()
    client = client or feed_client_default()
    pages = items = rejected = 0
    error = ""
    try:
        # No `since` on the first pull: posts created before the window still matter, as the
        # earlier originals of the duplicate check (RULES.md section 3, check 6).
        for page in client.iter_pages(since=None, cursor=cursor_row.cursor or None):
            fetched_at = timezone.now()  # a page's posts are as received by its fetch (RULES.md section 3)
            with transaction.atomic():
                if page.items:
                    report = posts_ingest(
                        campaign=campaign,
                        records=[replace(record, seen_at=fetched_at) for record in item_records(page.items)],
                        source=ImportRun.Source.FEED,
                        filename=f"feed page {page.cursor or '(start)'}",
                    )
                    rejected += report.run.rejected
                FeedCursor.objects.filter(pk=cursor_row.pk).update(
                    cursor=page.resume_cursor or "",
                    pages=F("pages") + 1,
                    items=F("items") + len(page.items),
                    last_pulled_at=timezone.now(),
                    last_error="",
                    lease_until=timezone.now() + LEASE,
                )
            pages += 1
            items += len(page.items)
            if progress is not None:
                progress.update(len(page.items))
            if max_pages is not None and pages >= max_pages:
                break
    except FeedError as exc:
        error = str(exc)
        logger.warning("feed pull of %s stopped after %d pages: %s", campaign.slug, pages, exc)
        FeedCursor.objects.filter(pk=cursor_row.pk).update(last_error=error[:2000])
        raise
    finally:
        FeedCursor.objects.filter(pk=cursor_row.pk).update(lease_until=None)
    return FeedPullResult(pages=pages, items=items, rejected=rejected, error=error)
