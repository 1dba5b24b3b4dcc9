"""The beat tasks fan out: one task per campaign and job, on the real Redis broker (never eager),
so one campaign's failure fails its own task and never the other campaigns' jobs."""

from datetime import timedelta
from queue import Empty

import pytest
from django.utils import timezone

from campaign.fake_feed import FakeFeedServer, load_posts
from campaign.models import Campaign, FeedCursor, Post, WebhookDelivery
from campaign.tasks import feed_pull_open_campaigns
from config.celery import app
from rewards.tasks import featured_posts_daily_task, payout_report_daily_task, weekly_stars_task

pytestmark = [pytest.mark.redis]


def collecting(campaign, slug=None):
    """`campaign` with its window open today, or a copy of it under `slug`."""
    now = timezone.now()
    if slug is not None:
        campaign = Campaign.objects.get(pk=campaign.pk)
        campaign.pk, campaign.slug = None, slug
        campaign.save()
    Campaign.objects.filter(pk=campaign.pk).update(starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1))
    return Campaign.objects.get(pk=campaign.pk)


def drain() -> list[tuple[str, list]]:
    """Take every message off the default queue: (task name, args) in queue order."""
    taken = []
    with app.connection_for_read() as conn:
        queue = conn.SimpleQueue(app.conf.task_default_queue)
        try:
            while True:
                try:
                    message = queue.get(block=False)
                except Empty:
                    return taken
                taken.append((message.headers["task"], message.payload[0]))
                message.ack()
        finally:
            queue.close()


@pytest.fixture
def broker_only():
    """The beat runs here and what it queues stays on the broker: no worker takes it."""
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    drain()
    yield
    drain()  # nothing left behind for a later test's worker
    app.conf.task_always_eager = eager


@pytest.mark.django_db
def test_the_five_minute_beat_queues_one_task_per_selected_campaign_and_job(campaign, settings, broker_only):
    settings.GATE_FEED_BASE_URL = "http://127.0.0.1:9"  # never called: the pulls are only queued
    first, second = collecting(campaign), collecting(campaign, "second")
    closed = collecting(campaign, "closed")  # ended long ago, grace time over: not selected
    Campaign.objects.filter(pk=closed.pk).update(starts_at=timezone.now() - timedelta(days=90), ends_at=timezone.now() - timedelta(days=60))
    WebhookDelivery.objects.create(delivery_id="queued-1", campaign=second, body=b"{}", items=0)
    WebhookDelivery.objects.create(delivery_id="queued-2", campaign=second, body=b"{}", items=0)

    result = feed_pull_open_campaigns.apply().get()

    order = [c.pk for c in Campaign.objects.filter(pk__in=[first.pk, second.pk])]  # campaigns_collecting's order
    assert drain() == [
        ("campaign.tasks.webhook_deliveries_process_task", [second.pk]),
        *[("campaign.tasks.posts_judge_pending_task", [pk, []]) for pk in order],
        *[("campaign.tasks.feed_pull_task", [pk]) for pk in order],
    ]
    assert {job: sorted(ids) for job, ids in result.items()} == {"deliveries": ["second"], "judge": sorted([first.slug, "second"]), "feed_pull": sorted([first.slug, "second"])}


@pytest.mark.django_db
def test_the_daily_beats_queue_one_task_per_campaign(campaign, broker_only):
    first, second = collecting(campaign), collecting(campaign, "second")
    at = timezone.now().isoformat()

    featured, stars = featured_posts_daily_task.apply(kwargs={"at": at}).get(), weekly_stars_task.apply(kwargs={"at": at}).get()
    payouts = payout_report_daily_task.apply().get()  # no campaign has payable rewards

    queued = drain()
    assert sorted(queued) == sorted(
        [("rewards.tasks.featured_posts_refresh_task", [c.pk, at]) for c in (first, second)]
        + [("rewards.tasks.weekly_stars_refresh_task", [c.pk, at]) for c in (first, second)]
    )
    assert sorted(featured) == sorted(stars) == sorted([first.slug, "second"]) and payouts == {}


def test_a_campaign_whose_feed_pull_fails_does_not_stop_the_other_campaigns_pull(celery_worker, campaign, settings):
    broken, healthy = collecting(campaign), collecting(campaign, "healthy")
    # The feed refuses this campaign's saved cursor (a 400, never retried): its pull fails.
    FeedCursor.objects.create(campaign=broken, cursor="not-a-cursor")
    posts = load_posts()[:6]
    with FakeFeedServer(posts, page_size=4) as server:
        settings.GATE_FEED_BASE_URL, settings.GATE_FEED_TOKEN = server.url, server.token
        queued = feed_pull_open_campaigns.delay().get(timeout=30)
        failed = app.AsyncResult(queued["feed_pull"][broken.slug])
        failed.get(timeout=30, propagate=False)
        pulled = app.AsyncResult(queued["feed_pull"][healthy.slug]).get(timeout=30)
        judged = [app.AsyncResult(task_id).get(timeout=30) for task_id in queued["judge"].values()]

    assert failed.state == "FAILURE" and "cursor" in FeedCursor.objects.get(campaign=broken).last_error
    assert pulled == {"campaign": "healthy", "pages": 2, "items": 6, "rejected": pulled["rejected"]}
    assert Post.objects.filter(campaign=healthy).count() + pulled["rejected"] == 6
    assert not Post.objects.filter(campaign=broken).exists()
    assert judged == [{"changed": 0}, {"changed": 0}]
