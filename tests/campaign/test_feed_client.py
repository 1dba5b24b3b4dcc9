"""FeedClient against the real FakeFeedServer over a local socket; no database, no mocks.

Sleeps are recorded through the client's injectable `sleep`, so retry tests take no wall time.
"""

import json
from collections import Counter
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests

from campaign.fake_feed import FIXTURE_PATH, FakeFeedServer, load_posts
from campaign.feed_client import (
    FeedAuthError,
    FeedClient,
    FeedError,
    FeedPage,
    FeedRequestError,
    FeedResponseError,
    FeedUnavailableError,
)

TOKEN = "test-token"
START = datetime(2026, 2, 13, 10, 0, tzinfo=timezone(timedelta(hours=8)))
POST_FIELDS = {
    "post_id", "author_uid", "created_at", "text",
    "likes", "comments", "shares", "views", "deleted",
}


def make_posts(count):
    return [
        {
            "post_id": f"p-{n:03d}",
            "author_uid": 10000001 + n % 12,
            "created_at": (START + timedelta(hours=n)).isoformat(),
            "text": f"$BTC long number {n}, stop loss below the range low.",
            "likes": n,
            "comments": 0,
            "shares": 0,
            "views": 100 * n,
            "deleted": False,
        }
        for n in range(count)
    ]


@pytest.fixture
def feed():
    with FakeFeedServer(make_posts(10), page_size=3, token=TOKEN) as server:
        yield server


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def make_client(sleeps):
    clients = []

    def make(server, **options):
        options = {"page_size": 3, "sleep": sleeps.append, "jitter": False, **options}
        client = FeedClient(server.url, options.pop("token", TOKEN), **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def ids(items):
    return [item["post_id"] for item in items]


def test_the_client_follows_next_cursor_until_the_feed_is_caught_up(feed, make_client):
    pages = list(make_client(feed).iter_pages(since=None, cursor=None))

    assert [len(page.items) for page in pages] == [3, 3, 3, 1]
    assert ids(item for page in pages for item in page.items) == ids(make_posts(10))
    assert pages[-1].next_cursor is None
    assert [page.cursor for page in pages[1:]] == [page.next_cursor for page in pages[:-1]]
    assert [query.get("cursor") for query in feed.requests] == [page.cursor for page in pages]
    assert all(query["limit"] == "3" for query in feed.requests)


def test_the_server_caps_the_limit_at_its_page_size(make_client):
    with FakeFeedServer(make_posts(12), page_size=5, token=TOKEN) as server:
        pages = list(make_client(server, page_size=200).iter_pages())

    assert [len(page.items) for page in pages] == [5, 5, 2]
    assert server.requests[0]["limit"] == "200"


def test_the_next_page_is_requested_only_after_the_caller_has_the_current_one(feed, make_client):
    pages = make_client(feed).iter_pages()

    next(pages)
    assert len(feed.requests) == 1
    next(pages)
    assert len(feed.requests) == 2


def test_since_is_sent_once_and_its_filter_holds_on_every_later_page(feed, make_client):
    since = START + timedelta(hours=4)

    pages = list(make_client(feed).iter_pages(since=since))

    assert ids(item for page in pages for item in page.items) == ids(make_posts(10)[4:])
    assert feed.requests[0]["since"] == since.isoformat()
    assert all("since" not in query for query in feed.requests[1:])


def test_a_naive_since_is_refused_before_any_request(feed, make_client):
    with pytest.raises(ValueError):
        make_client(feed).fetch_page(since=datetime(2026, 2, 13, 10, 0), cursor=None)
    assert feed.requests == []


def test_two_server_errors_are_retried_with_exponential_backoff(feed, make_client, sleeps):
    feed.fail_next(500, count=2)

    page = make_client(feed).fetch_page(since=None, cursor=None)

    assert ids(page.items) == ["p-000", "p-001", "p-002"]
    assert sleeps == [0.5, 1.0]
    assert len(feed.requests) == 3


def test_every_retry_is_logged_with_the_url_and_never_the_token(feed, make_client, caplog):
    feed.fail_next(500, count=2)

    with caplog.at_level("WARNING", logger="campaign.feed_client"):
        make_client(feed).fetch_page()

    assert len(caplog.records) == 2
    assert all(f"{feed.url}/posts" in record.getMessage() for record in caplog.records)
    assert TOKEN not in caplog.text


def test_a_429_waits_exactly_as_long_as_retry_after_says(feed, make_client, sleeps):
    feed.fail_next(500, count=2)
    feed.fail_next(429, retry_after=1)

    page = make_client(feed).fetch_page(since=None, cursor=None)

    assert len(page.items) == 3
    assert sleeps == [0.5, 1.0, 1.0]


def test_a_429_with_an_http_date_waits_until_that_date(feed, make_client, sleeps):
    now = datetime(2026, 2, 20, 4, 0, 0, tzinfo=timezone.utc)
    feed.fail_next(429, retry_after=format_datetime(now + timedelta(seconds=12), usegmt=True))

    make_client(feed, clock=lambda: now).fetch_page()

    assert sleeps == [12.0]


def test_a_429_retry_after_is_capped_at_backoff_max(feed, make_client, sleeps):
    feed.fail_next(429, retry_after=3600)

    make_client(feed, backoff_max=30.0).fetch_page()

    assert sleeps == [30.0]


def test_a_429_without_retry_after_falls_back_to_the_backoff(feed, make_client, sleeps):
    feed.fail_next(429, count=2)

    make_client(feed).fetch_page()

    assert sleeps == [0.5, 1.0]


def test_the_backoff_never_exceeds_backoff_max(feed, make_client, sleeps):
    feed.fail_next(503, count=4)

    make_client(feed, backoff_max=1.5).fetch_page()

    assert sleeps == [0.5, 1.0, 1.5, 1.5]


def test_jitter_keeps_every_delay_under_its_exponential_bound(feed, make_client, sleeps):
    feed.fail_next(502, count=4)

    make_client(feed, jitter=True).fetch_page()

    assert len(sleeps) == 4
    assert all(0 <= delay <= 0.5 * 2**n for n, delay in enumerate(sleeps))


def test_a_wrong_token_is_refused_once_and_never_retried(feed, make_client, sleeps):
    with pytest.raises(FeedAuthError) as caught:
        make_client(feed, token="stolen").fetch_page()

    assert caught.value.status == 401
    assert len(feed.requests) == 1
    assert sleeps == []


def test_a_client_error_other_than_429_is_not_retried(feed, make_client, sleeps):
    with pytest.raises(FeedRequestError) as caught:
        make_client(feed).fetch_page(cursor="not-a-cursor")

    assert caught.value.status == 400
    assert sleeps == []


def test_the_client_gives_up_after_max_retries_and_names_the_url(feed, make_client, sleeps):
    feed.fail_next(503, count=10)

    with pytest.raises(FeedUnavailableError) as caught:
        make_client(feed, max_retries=3).fetch_page()

    assert len(feed.requests) == 4
    assert sleeps == [0.5, 1.0, 2.0]
    assert f"{feed.url}/posts?limit=3" in str(caught.value)
    assert isinstance(caught.value, FeedError)


def test_a_refused_connection_is_retried_then_reported(sleeps):
    with FakeFeedServer([], token=TOKEN) as server:
        url = server.url  # nothing listens there once the server has stopped

    client = FeedClient(url, TOKEN, max_retries=2, sleep=sleeps.append, jitter=False)
    with pytest.raises(FeedUnavailableError, match="ConnectionError"):
        client.fetch_page()

    assert sleeps == [0.5, 1.0]


def test_a_read_timeout_is_retried(feed, make_client, sleeps):
    feed.stall_next(1.0)

    page = make_client(feed, timeout=(1.0, 0.2)).fetch_page()

    assert len(page.items) == 3
    assert sleeps == [0.5]


@pytest.mark.parametrize(
    "body",
    [
        "<html>502 Bad Gateway</html>",
        '{"data": []}',
        '{"items": {}, "next_cursor": null}',
        '{"items": [], "next_cursor": 42}',
        '{"items": [], "next_cursor": ""}',
        "[]",
    ],
)
def test_a_body_that_breaks_the_contract_is_a_feed_error_naming_the_url(
    feed, make_client, sleeps, body
):
    feed.fail_next(200, body=body)

    with pytest.raises(FeedResponseError) as caught:
        make_client(feed).fetch_page()

    assert f"{feed.url}/posts" in str(caught.value)
    assert sleeps == []


def test_a_cursor_that_does_not_advance_is_refused_rather_than_looped_on(feed, make_client):
    cursor = make_client(feed).fetch_page().next_cursor
    feed.fail_next(200, body=json.dumps({"items": [], "next_cursor": cursor}))

    with pytest.raises(FeedResponseError, match="did not advance"):
        list(make_client(feed).iter_pages(cursor=cursor))


def test_a_crash_mid_way_resumes_at_the_saved_cursor_with_nothing_lost_or_doubled(
    feed, make_client
):
    stored_items, state = [], {}

    with pytest.raises(RuntimeError, match="worker killed"):
        for number, page in enumerate(make_client(feed).iter_pages(), start=1):
            # Stands for the one transaction that stores the posts and the cursor together.
            stored_items.extend(page.items)
            state["cursor"] = page.resume_cursor
            if number == 2:
                raise RuntimeError("worker killed")

    for page in make_client(feed).iter_pages(cursor=state["cursor"]):
        stored_items.extend(page.items)
        state["cursor"] = page.resume_cursor

    assert Counter(ids(stored_items)) == Counter(ids(make_posts(10)))
    assert len(feed.requests) == 4


def test_an_update_to_a_post_read_before_the_crash_appears_again_after_resume(feed, make_client):
    state = {}
    pages = make_client(feed).iter_pages()
    for _ in range(2):
        state["cursor"] = next(pages).resume_cursor
    pages.close()
    updated = {**make_posts(10)[1], "likes": 999, "deleted": True}
    feed.add_posts([updated])

    pages = make_client(feed).iter_pages(cursor=state["cursor"])
    resumed = [item for page in pages for item in page.items]

    assert ids(resumed) == ["p-006", "p-007", "p-008", "p-009", "p-001"]
    assert resumed[-1] == updated


def test_polling_again_after_catching_up_picks_up_new_posts_and_updates(feed, make_client):
    last = None
    for page in make_client(feed).iter_pages():
        last = page
    feed.add_posts([make_posts(11)[10], {**make_posts(10)[0], "views": 5000}])

    pages = make_client(feed).iter_pages(cursor=last.resume_cursor)
    items = [item for page in pages for item in page.items]

    # The caught-up page is read once more; the importer's upsert makes that a no-op.
    assert ids(items) == ["p-009", "p-010", "p-000"]
    assert items[-1]["views"] == 5000


def test_a_page_that_is_caught_up_resumes_from_its_own_cursor():
    assert FeedPage(items=[], next_cursor=None, cursor="abc").resume_cursor == "abc"
    assert FeedPage(items=[], next_cursor="def", cursor="abc").resume_cursor == "def"


def test_the_fake_feed_serves_the_fixture_by_default(make_client):
    with FakeFeedServer(token=TOKEN) as server:
        pages = make_client(server, page_size=50).iter_pages()
        items = [item for page in pages for item in page.items]

    assert items == load_posts(FIXTURE_PATH)


def test_the_fake_feed_answers_401_without_the_bearer_token(feed):
    response = requests.get(f"{feed.url}/posts", timeout=5)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_the_fixture_posts_carry_exactly_the_rules_fields():
    posts = load_posts(FIXTURE_PATH)

    assert 35 <= len(posts) <= 45
    assert len({post["post_id"] for post in posts}) == len(posts)
    for post in posts:
        assert set(post) == POST_FIELDS
        assert isinstance(post["post_id"], str)
        assert 10000001 <= post["author_uid"] <= 10000012
        assert datetime.fromisoformat(post["created_at"]).utcoffset() is not None
        assert all(type(post[key]) is int for key in ("likes", "comments", "shares", "views"))
        assert type(post["deleted"]) is bool
