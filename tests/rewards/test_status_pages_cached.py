"""The status and public pages under the server-side page cache, and the status page's pager.

A page is rendered once per campaign data version; every service that changes what it shows moves
the version, so what a visitor sees after a settlement, an approval or a moderation is the new data
at once. A page is cached only after its link was checked, under a version that rotating or
deleting the link moves: a rotated, deleted or expired link is a 404 even when its page is cached.
"""

import json
import random
import string
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaign.models import Post
from campaign.services import posts_import_file, posts_moderate
from rewards.models import Reward
from rewards.selectors.links import status_link_token
from rewards.selectors.status import STATUS_POSTS_PER_PAGE
from rewards.services import rewards_approve, settle_campaign
from rewards.services.status_links import status_link_get_or_create, status_links_rotate
from rewards.services.traffic import traffic_refresh
from tests.factories import enrolled_trader
from traders.models import Trader

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
PUBLIC = "/c/star-lead-traders-2/"


@pytest.fixture
def settled(loaded):
    settle_campaign(campaign=loaded, at=DUE)
    traffic_refresh(campaign=loaded, at=DUE)
    return loaded


def url_for(campaign, uid):
    return f"/s/{status_link_token(status_link_get_or_create(campaign=campaign, trader=Trader.objects.get(uid=uid)))}/"


def html_of(client, url, lang="en"):
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200
    return response.content.decode()


def post_ids(html):
    return [part.split('"', 1)[0] for part in html.split('data-post-id="')[1:]]


def posts_of(campaign, uid, n):
    """n posts of random words (no near-duplicates), one a minute apart: post i is the i-th oldest."""
    rnd = random.Random(uid)
    lines = [
        json.dumps({"post_id": f"{uid}-{i:02d}", "author_uid": uid, "created_at": f"2026-02-14T{10 + i // 60:02d}:{i % 60:02d}:00+08:00",
                    "text": "BTC futures long " + " ".join("".join(rnd.choices(string.ascii_lowercase, k=7)) for _ in range(20)),
                    "likes": i, "comments": 0, "shares": 0, "views": 0, "deleted": False})
        for i in range(n)
    ]  # fmt: skip
    assert posts_import_file(campaign=campaign, data="\n".join(lines).encode()).ok


# --- Pager ----------------------------------------------------------------------------------------


def test_the_second_page_shows_the_older_posts_and_the_counts_stay_over_all_posts(client, campaign):
    trader = enrolled_trader(uid=7100)
    posts_of(campaign, trader.uid, 60)
    url = f"/s/{status_link_token(status_link_get_or_create(campaign=campaign, trader=trader))}/"

    first = html_of(client, url)
    assert post_ids(first) == [f"7100-{i:02d}" for i in range(59, 9, -1)]  # the newest 50, newest first
    assert STATUS_POSTS_PER_PAGE == 50 and "My posts (60)" in first and "60 posts count." in first
    assert "Newest first: posts 1–50 of 60." in first and "Page 1 of 2" in first
    assert 'href="?page=2"' in first and 'data-testid="pager-newer"' not in first

    second = html_of(client, url + "?page=2")
    assert post_ids(second) == [f"7100-{i:02d}" for i in range(9, -1, -1)]
    assert "My posts (60)" in second and "60 posts count." in second and "Newest first: posts 51–60 of 60." in second
    assert 'href="?page=1"' in second and 'data-testid="pager-older"' not in second
    # Anything that is not a page number shows the first page; a page past the end, the last.
    assert post_ids(html_of(client, url + "?page=x")) == post_ids(first)
    assert post_ids(html_of(client, url + "?page=99")) == post_ids(second)


def test_the_pager_keeps_the_language_switch(client, campaign):
    trader = enrolled_trader(uid=7101)
    posts_of(campaign, trader.uid, STATUS_POSTS_PER_PAGE + 1)
    url = f"/s/{status_link_token(status_link_get_or_create(campaign=campaign, trader=trader))}/"
    html = html_of(client, url + "?lang=zh-hans")
    assert 'href="?page=2&amp;lang=zh-hans"' in html and "我的活动状态" in html and "第 1 页，共 2 页" in html
    html = html_of(client, url + "?page=2&lang=zh-hans")
    assert 'href="?page=1&amp;lang=zh-hans"' in html and post_ids(html) == ["7101-00"]
    # Without the switch, the pager adds none (the language comes from the cookie or the browser).
    assert 'href="?page=2"' in html_of(client, url, lang="en")


def test_a_trader_with_few_posts_gets_no_pager(client, settled):
    html = html_of(client, url_for(settled, 1001))
    assert post_ids(html) == ["a4", "a3", "a2", "a1"] and 'data-testid="pager"' not in html and "Newest first" not in html


# --- Invalidation ---------------------------------------------------------------------------------


def test_a_settlement_shows_at_once_on_both_pages(client, loaded):
    status_url = url_for(loaded, 1001)
    assert "No settlement yet" in html_of(client, status_url)
    assert "The leaderboard appears after the first settlement." in html_of(client, PUBLIC)
    assert "No settlement yet" in html_of(client, status_url)  # cached, still right

    settle_campaign(campaign=loaded, at=DUE)
    html = html_of(client, status_url)
    assert "#1" in html and "Leaderboard score 84.005" in html and "4,000.00 USDT" in html
    board = html_of(client, PUBLIC).split('data-testid="leaderboard"', 1)[1].split("</section>", 1)[0]
    assert "alpha" in board and "84.005" in board


def test_an_approval_shows_at_once(client, settled):
    url = url_for(settled, 1001)
    assert "Calculated" in html_of(client, url) and "Approved" not in html_of(client, url)
    ops = User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456")
    done, _ = rewards_approve(reward_ids=Reward.objects.filter(trader__uid=1001).values_list("pk", flat=True), user=ops)
    assert done
    assert "Approved" in html_of(client, url)


def test_a_moderation_shows_at_once(client, settled):
    url = url_for(settled, 1001)
    assert "Rejected by the campaign team." not in html_of(client, url)
    post = Post.objects.get(campaign=settled, post_id="a2")
    posts_moderate(campaign=settled, post_ids=[post.pk], action="rejected", note="copied", user="ops")
    assert "Rejected by the campaign team." in html_of(client, url)


def test_a_rotated_link_is_a_404_even_when_its_page_is_cached(client, settled):
    link = status_link_get_or_create(campaign=settled, trader=Trader.objects.get(uid=1001))
    old = f"/s/{status_link_token(link)}/"
    assert "UID 1001" in html_of(client, old)
    status_links_rotate(link_ids=[link.pk], by="ops")
    response = client.get(old, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404 and "UID 1001" not in response.content.decode()
    assert "UID 1001" in html_of(client, url_for(settled, 1001))


def test_an_expired_link_is_a_404_even_when_its_page_is_cached(client, settled, settings):
    import time_machine
    from django.utils import timezone

    url = url_for(settled, 1001)
    assert "UID 1001" in html_of(client, url)
    later = timezone.now() + timedelta(days=settings.STATUS_LINK_MAX_AGE_DAYS, seconds=1)
    with time_machine.travel(later, tick=False):
        assert client.get(url, HTTP_ACCEPT_LANGUAGE="en").status_code == 404


def test_two_traders_and_two_languages_never_see_each_others_cached_page(client, settled):
    one, two = url_for(settled, 1001), url_for(settled, 1002)
    for _ in range(2):  # the second round is served from the cache
        en_one, en_two, zh_one = html_of(client, one), html_of(client, two), html_of(client, one, lang="zh-CN")
        assert "UID 1001" in en_one and "1002" not in en_one and "My campaign status" in en_one
        assert "UID 1002" in en_two and "UID 1001" not in en_two and "alpha" not in en_two
        assert "UID 1001" in zh_one and "我的活动状态" in zh_one and "My campaign status" not in zh_one
    zh_public, en_public = html_of(client, PUBLIC, lang="zh-CN"), html_of(client, PUBLIC, lang="en")
    assert "规则" in zh_public and "The rules in short" in en_public and "The rules in short" not in zh_public


# --- What a cached page costs, and what it still says -----------------------------------------------


def test_a_cached_page_costs_no_query_and_keeps_its_private_headers(client, settled):
    url = url_for(settled, 1001)
    first = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    # The link was checked when the page was cached, under a version that rotating it moves.
    assert len(queries) == 0
    assert again.content == first.content
    assert again["Cache-Control"] == "private, no-store" and again["Referrer-Policy"] == "no-referrer"
    assert "noindex" in again["X-Robots-Tag"] and again["Content-Language"] == "en"

    switched = client.get(url + "?lang=zh-hans")
    with CaptureQueriesContext(connection) as queries:
        switched_again = client.get(url + "?lang=zh-hans")
    assert len(queries) == 0 and switched_again.content == switched.content
    assert switched_again.cookies["django_language"].value == "zh-hans"

    html_of(client, PUBLIC)
    with CaptureQueriesContext(connection) as queries:
        public = client.get(PUBLIC, HTTP_ACCEPT_LANGUAGE="en")
    assert len(queries) == 0 and "public" in public["Cache-Control"] and "Accept-Language" in public["Vary"]


def test_the_countdown_moves_with_the_phase_even_when_cached(client, campaign):
    import time_machine

    trader = enrolled_trader(uid=7102)
    url = f"/s/{status_link_token(status_link_get_or_create(campaign=campaign, trader=trader))}/"
    with time_machine.travel(datetime.fromisoformat("2026-02-24T23:59:30+08:00"), tick=False):
        assert "Time left to post:" in html_of(client, url)
    with time_machine.travel(datetime.fromisoformat("2026-02-25T00:00:10+08:00"), tick=False):
        assert "The campaign window has closed." in html_of(client, url)
