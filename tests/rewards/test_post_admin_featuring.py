"""Featuring a post by hand from the posts' admin goes through `posts_feature`, the service behind
the featured-posts admin: the featured posts are rebuilt and the trader's status page and the public
page (both cached) show it at once, whichever door was used."""

import re
from datetime import datetime

import pytest
from django.contrib.auth.models import User

from campaign.models import Campaign, Post
from rewards.models import FeaturedPost
from rewards.selectors.links import status_link_token
from rewards.services import settle_campaign
from rewards.services.status_links import status_link_get_or_create
from rewards.services.traffic import posts_feature, traffic_refresh
from tests.rewards.scenario import scenario_load
from traders.models import Trader

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")


@pytest.fixture
def settled(campaign):
    scenario_load(campaign)
    settle_campaign(campaign=campaign, at=DUE)
    traffic_refresh(campaign=campaign, at=DUE)
    return campaign


@pytest.fixture
def ops(client):
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456"))
    return client


def management_forms(client, post):
    """The inline formsets' management fields of the post's change form, as the page has them."""
    page = client.get(f"/admin/campaign/post/{post.pk}/change/").content.decode()
    return dict(re.findall(r'name="([\w-]+-(?:TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS)"[^>]*value="(\d+)"', page))


def by_form(client, post, featured):
    value = {True: "true", False: "false", None: "unknown"}[featured]
    data = {**management_forms(client, post), "featured": value, **({"homepage": "on"} if post.homepage else {})}
    response = client.post(f"/admin/campaign/post/{post.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]


def by_action(client, post, featured):
    action = {True: "feature_by_hand", False: "unfeature", None: "back_to_automatic"}[featured]
    response = client.post("/admin/campaign/post/", {"action": action, "_selected_action": [post.pk], "index": "0"})
    assert response.status_code == 302


def by_service(client, post, featured):
    posts_feature(post_ids=[post.pk], featured=featured)


DOORS = {"the change form": by_form, "a list action": by_action, "the service": by_service}


def status_page(client, campaign, uid=1001):
    token = status_link_token(status_link_get_or_create(campaign=campaign, trader=Trader.objects.get(uid=uid)))
    return client.get(f"/s/{token}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def featured_badge(html):
    found = re.search(r'data-testid="featured-badge">(\d+) featured post', html)
    return int(found.group(1)) if found else 0


def public_picks(client, campaign):
    """How many featured posts the public page marks as picked by hand."""
    return client.get(f"/c/{campaign.slug}/", HTTP_ACCEPT_LANGUAGE="en").content.decode().count('<span class="badge featured">')


@pytest.mark.parametrize("door", DOORS)
def test_featuring_a_post_by_hand_rebuilds_the_featured_posts_and_the_pages_whatever_the_door(ops, settled, door):
    Campaign.objects.filter(pk=settled.pk).update(featured_per_day=0)  # no automatic picks: room for one by hand
    traffic_refresh(campaign=settled, at=DUE)
    post = Post.objects.get(post_id="a4")  # trader 1001's
    assert post.featured is None and not FeaturedPost.objects.exists()
    before = status_page(ops, settled)  # now cached
    picks_before = public_picks(ops, settled)

    DOORS[door](ops, post, True)

    post.refresh_from_db()
    assert post.featured is True
    assert FeaturedPost.objects.filter(post=post, source="manual").exists()
    after = status_page(ops, settled)
    assert featured_badge(after) == featured_badge(before) + 1
    assert public_picks(ops, settled) == picks_before + 1


@pytest.mark.parametrize("door", DOORS)
def test_unfeaturing_a_post_by_hand_takes_it_off_the_pages_whatever_the_door(ops, settled, door):
    row = FeaturedPost.objects.filter(post__author__uid=1001).select_related("post").order_by("post__post_id").first()
    assert row is not None and row.post.featured is None
    before = status_page(ops, settled)

    DOORS[door](ops, row.post, False)

    assert not FeaturedPost.objects.filter(post=row.post).exists()
    assert featured_badge(status_page(ops, settled)) == featured_badge(before) - 1
