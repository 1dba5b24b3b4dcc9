"""Pulling the feed from a real local HTTP server into the posts service."""

import pytest

from campaign.fake_feed import FakeFeedServer, load_posts
from campaign.feed_client import FeedClient, FeedError
from campaign.models import FeedCursor, Post
from campaign.services import feed_pull
from core.models import ImportRun

pytestmark = pytest.mark.django_db


class CrashAfter:
    """Wraps a client so the pull dies after `pages` pages, like a worker killed mid-way."""

    def __init__(self, client, pages):
        self.client, self.pages = client, pages

    def iter_pages(self, **kwargs):
        for n, page in enumerate(self.client.iter_pages(**kwargs), start=1):
            yield page
            if n == self.pages:
                raise FeedError("worker lost")


def client_for(server, **kwargs):
    return FeedClient(server.url, server.token, sleep=lambda s: None, jitter=False, **kwargs)


def test_the_whole_fixture_feed_is_ingested_once_with_every_record_accounted_for(campaign):
    posts = load_posts()
    with FakeFeedServer(posts, page_size=7) as server:
        result = feed_pull(campaign=campaign, client=client_for(server))
    runs = ImportRun.objects.filter(source="feed")
    assert result.pages == 6 and result.items == len(posts)
    assert Post.objects.count() + sum(r.rejected for r in runs) == len({p["post_id"] for p in posts})
    assert Post.objects.filter(post_id__isnull=False).exclude(verdict="pending").count() == Post.objects.count()


def test_a_crash_mid_way_resumes_at_the_saved_cursor_with_nothing_lost_or_doubled(campaign):
    posts = load_posts()
    with FakeFeedServer(posts, page_size=5) as server:
        with pytest.raises(FeedError):
            feed_pull(campaign=campaign, client=CrashAfter(client_for(server), pages=3))
        assert Post.objects.count() == 15
        assert FeedCursor.objects.get().lease_until is None  # the lease is released on a crash
        result = feed_pull(campaign=campaign, client=client_for(server))
        assert result.items == len(posts) - 15
        assert Post.objects.count() == len(posts)
        # A later poll sees only what changed: an engagement update of one post.
        server.add_posts([{**posts[0], "likes": posts[0]["likes"] + 40}])
        feed_pull(campaign=campaign, client=client_for(server))
    assert Post.objects.get(post_id=posts[0]["post_id"]).likes == posts[0]["likes"] + 40
    assert Post.objects.count() == len(posts)


def test_server_errors_and_rate_limits_are_retried_during_a_pull(campaign):
    posts = load_posts()[:10]
    with FakeFeedServer(posts, page_size=4) as server:
        server.fail_next(500, count=2)
        server.fail_next(429, retry_after=1)
        result = feed_pull(campaign=campaign, client=client_for(server))
    assert result.items == 10 and Post.objects.count() == 10


def test_a_second_pull_while_one_holds_the_lease_is_skipped(campaign):
    from django.utils import timezone

    FeedCursor.objects.create(campaign=campaign, lease_until=timezone.now() + timezone.timedelta(minutes=5))
    with FakeFeedServer(load_posts()[:3]) as server:
        result = feed_pull(campaign=campaign, client=client_for(server))
    assert result.skipped and not Post.objects.exists() and server.requests == []


def test_eager_the_beat_pulls_every_campaign_even_when_one_pull_fails(campaign, settings, eager_tasks, caplog):
    """Without a broker (development, tests) the beat's per-campaign tasks run in this process,
    and as on a worker one campaign's failing pull fails its own task only, logged by Celery."""
    from datetime import timedelta

    from django.utils import timezone

    from campaign.models import Campaign
    from campaign.tasks import feed_pull_open_campaigns

    now = timezone.now()
    other = Campaign.objects.get(pk=campaign.pk)
    other.pk, other.slug = None, "other"
    other.save()
    Campaign.objects.update(starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1))
    broken, healthy = sorted(Campaign.objects.all(), key=lambda c: c.pk)  # the failing one goes first
    FeedCursor.objects.create(campaign=broken, cursor="not-a-cursor")  # the feed refuses it: a 400
    with FakeFeedServer(load_posts()[:5]) as server:
        settings.GATE_FEED_BASE_URL, settings.GATE_FEED_TOKEN = server.url, server.token
        result = feed_pull_open_campaigns.apply().get()
    assert sorted(result["feed_pull"]) == sorted([broken.slug, healthy.slug])
    assert "cursor" in FeedCursor.objects.get(campaign=broken).last_error and not Post.objects.filter(campaign=broken).exists()
    assert FeedCursor.objects.get(campaign=healthy).items == 5
    assert any(result["feed_pull"][broken.slug] in record.getMessage() and "FeedRequestError" in record.getMessage() for record in caplog.records)
