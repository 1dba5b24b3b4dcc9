"""The public campaign page: short rules, Top 10 by nickname and score, weekly stars, featured and
homepage posts; the same for everyone, so it may be cached; no UID ever shown."""

from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaign.models import Post
from campaign.page_cache import campaign_pages_changed
from rewards.services import settle_campaign
from rewards.services.traffic import traffic_refresh
from tests.rewards.scenario import scenario_load

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
URL = "/c/star-lead-traders-2/"


@pytest.fixture
def settled(campaign):
    scenario_load(campaign)
    settle_campaign(campaign=campaign, at=DUE)
    traffic_refresh(campaign=campaign, at=DUE)
    return campaign


def get(client, url=URL, lang="en"):
    return client.get(url, HTTP_ACCEPT_LANGUAGE=lang)


def test_the_site_root_opens_the_preloaded_campaign_page(client, campaign):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == URL
    assert get(client).status_code == 200


def test_the_page_shows_the_rules_the_top_10_stars_and_featured_posts(client, settled):
    html = get(client).content.decode()
    assert "The rules in short" in html and "30.00 trial fund" in html and "20,000.00 USDT" in html
    board = html.split('data-testid="leaderboard"', 1)[1].split("</section>", 1)[0]
    # Nicknames and scores in rank order; 1002's nickname is a spreadsheet formula, shown escaped.
    assert board.index("alpha") < board.index("=cmd|&#x27; /C calc&#x27;!A0") and "84.005" in board and ">36<" in board
    assert "Final, settled as of 2026-02-26 00:00." in board
    stars = html.split('data-testid="stars"', 1)[1].split("</section>", 1)[0]
    assert "Week W1" in stars and "alpha" in stars
    assert html.count('data-testid="featured-post"') >= 3
    assert "No homepage picks yet." in html


def test_no_uid_leaves_the_page(client, settled):
    html = get(client).content.decode()
    for uid in ("1001", "1002", "1003", "1004"):
        assert uid not in html


def test_an_unfeatured_or_deleted_post_disappears_at_once_and_homepage_picks_show(client, settled):
    # Raw field writes, as the admin's Post form makes them (PostAdmin.save_model tells the page cache).
    Post.objects.filter(post_id="a1").update(homepage=True)
    campaign_pages_changed(campaign_id=settled.pk)
    html = get(client).content.decode()
    assert html.count('data-testid="homepage-post"') == 1
    featured_before = html.count('data-testid="featured-post"')
    Post.objects.filter(post_id="c1").update(featured=False)  # c1 was the only post of 02-20, featured
    campaign_pages_changed(campaign_id=settled.pk)
    assert get(client).content.decode().count('data-testid="featured-post"') == featured_before - 1


def test_without_a_settlement_the_page_says_the_board_comes_later(client, campaign):
    html = get(client).content.decode()
    assert "The leaderboard appears after the first settlement." in html
    assert "Star traders are announced when each week ends." in html


def test_the_page_is_cacheable_per_language(client, settled):
    response = get(client)
    assert "public" in response["Cache-Control"] and "max-age=300" in response["Cache-Control"]
    assert "Accept-Language" in response["Vary"] and "Cookie" in response["Vary"]
    switched = client.get(URL + "?lang=zh-hans")
    assert "private" in switched["Cache-Control"] and switched.cookies["django_language"].value == "zh-hans"


def test_the_page_speaks_chinese(client, settled):
    html = get(client, lang="zh-CN").content.decode()
    assert "Gate 广场明星带单交易员二期招募" in html and "规则" in html
    assert "The rules in short" not in html


def test_an_unknown_campaign_is_a_404(client, campaign):
    assert get(client, "/c/no-such-campaign/").status_code == 404


def test_the_page_answers_in_a_fixed_number_of_queries(client, settled, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        get(client)  # the first visit also looks the campaign up for the cache keys
    campaign_pages_changed(campaign_id=settled.pk)
    with CaptureQueriesContext(connection) as before:
        get(client)
    Post.objects.update(homepage=True)
    campaign_pages_changed(campaign_id=settled.pk)
    with CaptureQueriesContext(connection) as after:
        get(client)
    assert len(before) == len(after)
    with CaptureQueriesContext(connection) as cached:
        assert 'data-testid="homepage-post"' in get(client).content.decode()
    assert len(cached) == 0  # the key's campaign and the page itself both come from the cache
