"""Redis dies in the middle of a feed pull run by a real worker, and comes back: the pull's
progress is in PostgreSQL (the saved cursor), so the next pull resumes there and no post is
lost or stored twice."""

import shutil
import signal
import socket
import subprocess
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from campaign.fake_feed import FakeFeedServer, load_posts
from campaign.models import FeedCursor, Post
from campaign.tasks import feed_pull_task
from config.celery import app
from tests.factories import CampaignFactory
from tests.reliability.workers import start_worker, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(port):
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 20, "redis-server to listen")
    return server


def test_a_redis_outage_during_a_feed_pull_loses_and_doubles_nothing(transactional_db, tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is needed for this test")
    now = timezone.now()
    campaign = CampaignFactory(slug="outage", starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1))
    posts = load_posts()
    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    redis = start_redis(port)
    log = open(tmp_path / "worker.log", "w")
    queue = f"outage-{uuid.uuid4().hex[:8]}"
    with FakeFeedServer(posts, page_size=4) as feed:
        feed.stall_next(0.5, count=len(posts))  # every page is slow, so the outage lands mid-pull
        worker = start_worker(queue, log, redis_url=redis_url, GATE_FEED_BASE_URL=feed.url, GATE_FEED_TOKEN=feed.token)
        try:
            with app.connection_for_write(redis_url) as conn:
                feed_pull_task.apply_async(args=(campaign.pk,), queue=queue, connection=conn)  # what the beat queues
            wait_for(lambda: FeedCursor.objects.filter(campaign=campaign, pages__gte=2).exists(), 60, "two pages to be saved")
            redis.send_signal(signal.SIGKILL)  # the broker is gone, with every message it held
            redis.wait(timeout=10)
            wait_for(lambda: not FeedCursor.objects.filter(campaign=campaign, lease_until__isnull=False).exists(), 60, "the pull in flight to finish or stop")
            redis = start_redis(port)
            feed.add_posts([{**posts[0], "likes": posts[0]["likes"] + 7}])  # news while Redis was down
            # Beat's next tick: the worker reconnects and the new pull resumes at the saved cursor.
            with app.connection_for_write(redis_url) as conn:
                feed_pull_task.apply_async(args=(campaign.pk,), queue=queue, connection=conn)  # what the beat queues
            wait_for(lambda: Post.objects.filter(campaign=campaign, post_id=posts[0]["post_id"], likes=posts[0]["likes"] + 7).exists(), 90, "the resumed pull")
        finally:
            worker.terminate()
            worker.wait(timeout=30)
            redis.terminate()
            log.close()
    stored = list(Post.objects.filter(campaign=campaign).values_list("post_id", flat=True))
    assert len(stored) == len(set(stored)) == len({p["post_id"] for p in posts})
    assert FeedCursor.objects.get(campaign=campaign).items >= len(posts)
