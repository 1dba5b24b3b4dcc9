"""Shared fixtures, and the rule for tests that need a real service.

A test marked `postgres`, `redis` or `browser` is skipped with the reason when that service is not configured
(the fresh-machine run on SQLite), but when `CI` is set a missing service fails the test instead.
"""

import importlib
import os
import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.utils import translation

from campaign.models import Campaign

CAMPAIGN_SLUG = "star-lead-traders-2"


def _redis_ok():
    if not settings.REDIS_URL:
        return False
    import redis

    try:
        return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        return False


def _missing(reason):
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _require_services(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing("this test needs PostgreSQL: set DATABASE_URL=postgres://...")
    if request.node.get_closest_marker("redis") and not _redis_ok():
        _missing("this test needs Redis: set REDIS_URL=redis://... to a running server")
    if request.node.get_closest_marker("browser") and not os.path.exists("/usr/bin/chromium"):
        _missing("this test needs Chromium at /usr/bin/chromium (apt-get install chromium)")


@pytest.fixture(autouse=True)
def _cache_of_its_own(settings):
    """Each test gets cache keys of its own (a fresh KEY_PREFIX): the cache outlives a test's
    database rollback, and the pages rendered and cached by one test (`campaign.page_cache`) must
    not be served to the next, whose rows may reuse the same ids."""
    settings.CACHES = {alias: {**conf, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"} for alias, conf in settings.CACHES.items()}


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the site's default language: a request in Chinese activates it for the
    thread (LocaleMiddleware), and a name or message built after it would come out in Chinese in
    the next test."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def campaign(db):
    """The preloaded campaign, as the data migration creates it.

    A transactional test flushes every table afterwards, data migrations' rows included, so the
    migration's own function puts the campaign back when it is missing.
    """
    if not Campaign.objects.filter(slug=CAMPAIGN_SLUG).exists():
        from django.apps import apps

        importlib.import_module("campaign.migrations.0002_preload_star_lead_traders_2").create_campaign(apps, None)
    return Campaign.objects.get(slug=CAMPAIGN_SLUG)


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in-process even when REDIS_URL makes them asynchronous (CI), so a test
    that follows a task's effect does not leave a message behind for a later test's worker."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}


def _has_database(request) -> bool:
    return request.node.get_closest_marker("django_db") is not None or bool(DATABASE_FIXTURES & set(request.fixturenames))


@pytest.fixture
def ledger_invariants(request):
    """After the test body, no campaign's ledger has a violation; for tests with database access.

    The database fixture is requested here, before the yield, so that pytest tears it down after
    this fixture: the check reads the test's own rows before the rollback (or, for transactional
    tests and live servers, the flush) takes them away. A test skipped for a missing service
    (`postgres`, `redis`) is skipped by the root conftest's autouse fixture before this one is
    set up, so it checks nothing.
    """
    if not _has_database(request):
        yield
        return
    request.getfixturevalue("db")
    yield
    from django.db import connection

    from campaign.models import Campaign
    from rewards.invariants import ledger_violations

    if connection.needs_rollback:
        return  # the body failed inside its transaction: that error is the report, nothing can be read

    violations = {campaign.slug: found for campaign in Campaign.objects.order_by("pk") if (found := ledger_violations(campaign=campaign))}
    assert violations == {}, f"ledger invariants broken after {request.node.nodeid}: {violations}"
