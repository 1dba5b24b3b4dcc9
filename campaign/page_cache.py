"""The data version of a campaign's pages, and the server-side cache of those pages.

The trader status pages and the public campaign page are rendered once per data version and
kept in Django's cache (Redis in production, locmem otherwise). Every service whose write
changes what those pages show calls `campaign_pages_changed`, which moves the campaign's version:
the keys of every page rendered before no longer match, so the next visitor gets fresh data.
A short TTL bounds the staleness left by a write that forgot to call it (or by a direct edit of
the database).

The version lives in the cache itself, not in the database: no migration, and a lost version
key is replaced by a fresh clock-based value that no earlier page was keyed by.

A page is stored with the version it was rendered under, and read together with the current
version in one round trip (`page_cache_lookup`): a hit costs one cache read, and a page of an
older version is never served. What a key needs of the campaign (`page_campaign_get`) is also
kept in the process for a few seconds.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db import transaction
from redis.exceptions import RedisError

PAGE_TTL_SECONDS = 60
CAMPAIGN_TTL_SECONDS = 60
# Versions expire too, so that keys of campaigns nobody reads do not pile up; a version that
# expired comes back as a fresh clock value, far above any count reached before.
VERSION_TTL_SECONDS = 7 * 24 * 3600
# A cache that is down must not take a page or a settlement with it: pages are then rendered
# uncached, and a missed bump is bounded by the TTL.
CACHE_ERRORS = (RedisError, OSError)
logger = logging.getLogger(__name__)


def _version_key(campaign_id: int) -> str:
    return f"pages:version:{campaign_id}"


def page_cache_lookup(campaign_id: int, key: str) -> tuple[int | None, bytes | None]:
    """(current version of the campaign's pages, the page stored under `key` if it was rendered
    under that version), in one cache round trip; (None, None) when the cache cannot be reached.
    A missing version is replaced by a fresh one (and then no page can match it)."""
    version_key = _version_key(campaign_id)
    try:
        found = cache.get_many([version_key, key])
        version = found.get(version_key)
        if version is None:
            cache.add(version_key, time.time_ns(), timeout=VERSION_TTL_SECONDS)
            return cache.get(version_key), None
    except CACHE_ERRORS:
        logger.warning("page cache unreachable: rendering without it", exc_info=True)
        return None, None
    stored = found.get(key)
    if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == version:
        return version, stored[1]
    return version, None


def _bump(campaign_id: int) -> None:
    key = _version_key(campaign_id)
    try:
        try:
            cache.incr(key)
            cache.touch(key, VERSION_TTL_SECONDS)
        except ValueError:  # no version yet, or it was evicted: any fresh value will do
            cache.add(key, time.time_ns(), timeout=VERSION_TTL_SECONDS)
    except CACHE_ERRORS:
        logger.warning("page cache unreachable: campaign %s pages stay stale for up to %s s", campaign_id, PAGE_TTL_SECONDS, exc_info=True)


def campaign_pages_changed(*, campaign_id: int) -> None:
    """Call after a write that changes what a campaign's status or public pages show.

    Moves the version at once and again when the surrounding transaction commits: a page rendered
    in between, from the data as it was before the commit, is then keyed by a version that is
    already gone. Outside a transaction both happen now. Never raises for a cache outage.
    """
    _bump(campaign_id)
    transaction.on_commit(lambda: _bump(campaign_id))


def page_cache_set(key: str, version: int, content: bytes) -> None:
    """Keep a page rendered from the data of `version` (read before rendering it)."""
    try:
        cache.set(key, (version, content), timeout=PAGE_TTL_SECONDS)
    except CACHE_ERRORS:
        logger.warning("page cache unreachable", exc_info=True)


@dataclass(frozen=True)
class PageCampaign:
    """What a page's cache key needs of its campaign, without asking the database."""

    pk: int
    starts_at: datetime
    ends_at: datetime


# Process-local copies of `page_campaign_get`, by (cache key prefix, slug): (expires, campaign).
_local_campaigns: dict[tuple[str, str], tuple[float, PageCampaign]] = {}
LOCAL_CAMPAIGN_SECONDS = 5


def page_campaign_get(slug: str) -> PageCampaign | None:
    """The campaign of `slug` as the page keys need it: kept in the process for
    LOCAL_CAMPAIGN_SECONDS, in the cache for CAMPAIGN_TTL_SECONDS, else from the database; None
    when there is no such campaign.

    Only keys are built from it: a stale window can only make a key miss, never serve another
    campaign's page, and every save of a campaign moves its version anyway.
    """
    key = f"pages:campaign:{slug}"
    local_key = (getattr(cache, "key_prefix", ""), slug)
    local = _local_campaigns.get(local_key)
    if local is not None and local[0] > time.monotonic():
        return local[1]
    try:
        hit = cache.get(key)
    except CACHE_ERRORS:
        hit = None
    if hit is not None:
        return _remember(local_key, PageCampaign(*hit))
    from campaign.models import Campaign

    row = Campaign.objects.filter(slug=slug).values_list("pk", "starts_at", "ends_at").first()
    if row is None:
        return None
    try:
        cache.set(key, tuple(row), timeout=CAMPAIGN_TTL_SECONDS)
    except CACHE_ERRORS:
        pass
    return _remember(local_key, PageCampaign(*row))


def _remember(local_key: tuple[str, str], campaign: PageCampaign) -> PageCampaign:
    if len(_local_campaigns) > 1000:  # slugs are few; bound it anyway
        _local_campaigns.clear()
    _local_campaigns[local_key] = (time.monotonic() + LOCAL_CAMPAIGN_SECONDS, campaign)
    return campaign
