"""The trader status page: reached only by a personal signed link, shows that trader's own data,
answers in a fixed number of queries, and shows nothing at all for any link that is not valid."""

import json
import logging
import random
import string
from datetime import datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaign.page_cache import page_campaign_get
from campaign.services import posts_import_file
from rewards.models import StatusLink
from rewards.selectors.links import STATUS_SALT, status_link_from_token, status_link_token, status_link_url
from rewards.services import settle_campaign
from rewards.services.status_links import status_link_get_or_create, status_links_ensure, status_links_rotate
from rewards.services.traffic import traffic_refresh
from tests.factories import enrolled_trader
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


def link_for(campaign, uid):
    return status_link_get_or_create(campaign=campaign, trader=Trader.objects.get(uid=uid))


def url_for(campaign, uid):
    return f"/s/{status_link_token(link_for(campaign, uid))}/"


def page(client, url, lang="en", **headers):
    return client.get(url, HTTP_ACCEPT_LANGUAGE=lang, **headers)


def post_ids(response):
    html = response.content.decode()
    return sorted(part.split('"', 1)[0] for part in html.split('data-post-id="')[1:])


def test_a_trader_sees_their_steps_posts_rewards_and_rank(client, settled):
    response = page(client, url_for(settled, 1001))
    assert response.status_code == 200
    html = response.content.decode()
    assert "alpha" in html and "UID 1001" in html
    assert html.count('class="step done"') == 3 and "You are enrolled." in html
    assert post_ids(response) == ["a1", "a2", "a3", "a4"]
    assert "score 11" in html and "Meets every rule of the campaign." in html
    # Rewards of the settled scenario (tests/rewards/test_settlement.py) with their states.
    assert "100.00 USDT" in html and "30.00 trial fund" in html and "4,000.00 USDT" in html and "TRIAL_FUND" not in html
    assert html.count('data-testid="reward-') == 3 and "Calculated" in html
    assert "#1" in html and "Leaderboard score 84.005" in html and "Final, settled as of 2026-02-26 00:00." in html
    # Traffic support of the same data: 1001 is the W1 star with 33 points; featured on some days.
    assert "Star trader of week W1" in html and 'data-testid="featured-badge"' in html


def test_another_traders_data_never_appears(client, settled):
    html = page(client, url_for(settled, 1001)).content.decode()
    for other in ("1002", "1003", "1004", "/C calc", "gamma", "delta", 'data-post-id="b1"', "3,000.00"):
        assert other not in html, other
    html = page(client, url_for(settled, 1002)).content.decode()
    assert "1001" not in html and "alpha" not in html and 'data-post-id="a1"' not in html and "4,000.00" not in html
    assert "#2" in html


def test_a_missing_step_says_what_is_missing_and_each_post_why_it_does_not_count(client, settled):
    html = page(client, url_for(settled, 1004)).content.decode()
    assert 'data-testid="step-registration"' in html and "You were registered as a spot lead trader" in html
    # The window closed and the final settlement ran: what was missing, with no advice to finish it.
    assert "The campaign is over and you were not enrolled" in html and "Not completed" in html
    assert "You were not enrolled in the campaign, so it does not count." in html  # d1: not_enrolled
    assert "No rewards: the final settlement gave you none." in html and "You are not in the Top 10." in html


def test_a_trader_below_the_ranking_threshold_is_told_how_many_posts_are_missing(client, settled):
    html = page(client, url_for(settled, 1003)).content.decode()
    assert "You are not in the Top 10." in html and "To be ranked a trader needed 3 qualifying posts written in the window; 1 of yours qualifies." in html


def test_time_left_is_counted_from_now_and_times_are_shown_in_utc8(client, campaign):
    trader = enrolled_trader(uid=5005, nickname="eve")
    url = f"/s/{status_link_token(status_link_get_or_create(campaign=campaign, trader=trader))}/"
    with time_machine.travel(datetime.fromisoformat("2026-02-20T12:00:00+08:00"), tick=False):
        html = page(client, url).content.decode()
    assert "Time left to post: 4\xa0days, 12\xa0hours." in html
    assert "2026-02-12 18:00 – 2026-02-25 00:00 (UTC+8)" in html
    with time_machine.travel(datetime.fromisoformat("2026-02-10T18:00:00+08:00"), tick=False):
        assert "The campaign starts in 2\xa0days." in page(client, url).content.decode()
    with time_machine.travel(datetime.fromisoformat("2026-03-01T00:00:00+08:00"), tick=False):
        html = page(client, url).content.decode()
    assert "The campaign window has closed." in html and "No settlement yet" in html and "We have no post of yours from this campaign." in html
    assert "You published no posts in the campaign window." in html and "No posts yet." not in html


def test_the_page_speaks_chinese_from_accept_language_and_from_the_switch(client, settled):
    url = url_for(settled, 1001)
    html = page(client, url, lang="zh-CN,zh;q=0.9").content.decode()
    assert "我的活动状态" in html and "Gate 广场明星带单交易员二期招募" in html and 'lang="zh-hans"' in html
    response = page(client, url + "?lang=en", lang="zh-CN")
    assert "My campaign status" in response.content.decode() and response.cookies["django_language"].value == "en"
    assert "我的活动状态" in page(client, url + "?lang=zh-hans").content.decode()


def test_the_page_is_private_and_never_sends_its_url_as_a_referrer(client, settled):
    for url in (url_for(settled, 1001), "/s/not-a-token/"):
        response = page(client, url)
        assert response["Cache-Control"] == "private, no-store"
        assert response["Referrer-Policy"] == "no-referrer"
        assert "noindex" in response["X-Robots-Tag"]


def assert_no_data(response, *secrets):
    assert response.status_code == 404
    html = response.content.decode()
    assert "This link is not valid" in html
    for secret in ("1001", "alpha", "data-post-id", "USDT", *secrets):
        assert secret not in html


def test_forged_mangled_rotated_expired_and_foreign_links_show_nothing(client, settled):
    link = link_for(settled, 1001)
    good = status_link_token(link)
    payload = {"u": 1001, "c": settled.slug, "v": link.version}
    forged = [
        signing.dumps(payload, key="not-our-secret-key-0123456789", salt=STATUS_SALT),
        signing.dumps(payload, salt="another.salt"),  # a signature of ours made for another purpose
        signing.dumps({**payload, "v": link.version + 1}, key="x" * 50, salt=STATUS_SALT),
    ]
    mangled = [good[:-1] + ("A" if good[-1] != "A" else "B"), good.replace(":", ".", 1), good[5:], "x" * 1000, "%00", "令牌:abc:def"]
    wrong_shape = [signing.dumps(s, salt=STATUS_SALT) for s in ([1001], {"u": "1001", "c": settled.slug, "v": 1}, {"u": 1001, "c": "other", "v": 1}, {"u": 9, "c": settled.slug, "v": 1})]
    for token in [*forged, *mangled, *wrong_shape]:
        assert_no_data(page(client, f"/s/{token}/"))

    status_links_rotate(link_ids=[link.pk], by="ops")
    assert_no_data(page(client, f"/s/{good}/"))
    assert page(client, url_for(settled, 1001)).status_code == 200  # the new link works

    fresh = url_for(settled, 1001)
    with time_machine.travel(datetime.now() + timedelta(days=91)):
        assert_no_data(page(client, fresh))
    with time_machine.travel(datetime.now() + timedelta(days=89)):
        assert page(client, fresh).status_code == 200


def test_a_refused_link_is_not_written_to_the_log(client, settled, caplog):
    token = status_link_token(link_for(settled, 1001))[:-2] + "zz"
    with caplog.at_level(logging.DEBUG):
        assert page(client, f"/s/{token}/").status_code == 404
        assert page(client, f"/s/{status_link_token(link_for(settled, 1001))}/").status_code == 200
    assert token[:20] not in caplog.text and "/s/" not in caplog.text


def test_the_page_answers_in_the_same_few_queries_whatever_the_number_of_posts(client, campaign, django_assert_max_num_queries):
    def posts_of(uid, n):
        """n posts of random words, so that none is a near-duplicate of another."""
        rnd = random.Random(uid)
        lines = [
            json.dumps({"post_id": f"{uid}-{i}", "author_uid": uid, "created_at": f"2026-02-{13 + i % 10}T10:{i % 60:02d}:00+08:00",
                        "text": "BTC futures long " + " ".join("".join(rnd.choices(string.ascii_lowercase, k=7)) for _ in range(20)),
                        "likes": i, "comments": 0, "shares": 0, "views": 0, "deleted": False})
            for i in range(n)
        ]  # fmt: skip
        assert posts_import_file(campaign=campaign, data="\n".join(lines).encode()).ok

    few, many = enrolled_trader(uid=7001), enrolled_trader(uid=7002)
    posts_of(few.uid, 1)
    posts_of(many.uid, 60)
    settle_campaign(campaign=campaign, at=DUE)
    traffic_refresh(campaign=campaign, at=DUE)
    counts = []
    page_campaign_get(campaign.slug)  # the campaign the cache keys need, looked up once for both
    for trader in (few, many):
        url = f"/s/{status_link_token(status_link_get_or_create(campaign=campaign, trader=trader))}/"
        with django_assert_max_num_queries(8), CaptureQueriesContext(connection) as queries:
            response = page(client, url)
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    # The newest 50 on the first page; the count is over all 60 (tests/rewards/test_status_pages_cached.py).
    assert len(post_ids(response)) == 50 and "My posts (60)" in response.content.decode()


def test_status_link_from_token_reads_one_row(settled, django_assert_num_queries):
    token = status_link_token(link_for(settled, 1001))
    with django_assert_num_queries(1):
        link = status_link_from_token(token=token)
        assert (link.trader.uid, link.campaign.slug, link.trader.registration.status) == (1001, settled.slug, "approved")


# --- Admin ------------------------------------------------------------------------------------


@pytest.fixture
def ops(client):
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456"))
    return client


def test_ops_create_find_copy_and_rotate_links_in_the_admin(ops, settled):
    assert ops.post("/admin/rewards/statuslink/ensure/").status_code == 302
    assert set(StatusLink.objects.values_list("trader__uid", flat=True)) == {1001, 1002, 1003, 1004}
    assert status_links_ensure(campaign=settled) == 0  # idempotent

    html = ops.get("/admin/rewards/statuslink/", {"q": "alpha"}).content.decode()
    assert "http://testserver/s/" in html and "1002" not in html.split('id="result_list"', 1)[1]
    link = StatusLink.objects.get(trader__uid=1001)
    copied = html.split('value="http://testserver', 1)[1].split('"', 1)[0]
    assert ops.get(copied).status_code == 200

    ops.post("/admin/rewards/statuslink/", {"action": "rotate", "_selected_action": [link.pk]})
    link.refresh_from_db()
    assert (link.version, link.rotated_by) == (2, "ops") and link.rotated_at is not None
    assert ops.get(copied).status_code == 404
    assert status_link_url(link).startswith("http://testserver/s/")
    assert ops.get("/admin/rewards/statuslink/", {"q": "1001"}).status_code == 200


def test_rotating_links_needs_the_change_permission(client, settled):
    from django.contrib.auth.models import Permission

    status_links_ensure(campaign=settled)
    link = StatusLink.objects.get(trader__uid=1001)
    viewer = User.objects.create_user("viewer", password="pw-viewer-123456", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_statuslink"))
    client.force_login(viewer)
    html = client.get("/admin/rewards/statuslink/").content.decode()
    assert 'value="rotate"' not in html
    client.post("/admin/rewards/statuslink/", {"action": "rotate", "_selected_action": [link.pk]})
    link.refresh_from_db()
    assert link.version == 1 and link.rotated_at is None


def test_ops_add_a_link_for_one_trader(ops, campaign):
    trader = enrolled_trader(uid=6006)
    response = ops.post("/admin/rewards/statuslink/add/", {"campaign": campaign.pk, "trader": trader.pk})
    assert response.status_code == 302
    assert StatusLink.objects.get(trader=trader).version == 1
    link = StatusLink.objects.get(trader=trader)
    assert ops.get(f"/admin/rewards/statuslink/{link.pk}/change/").status_code == 200


def test_a_rotation_only_touches_the_selected_links(settled):
    a, b = link_for(settled, 1001), link_for(settled, 1002)
    assert status_links_rotate(link_ids=[a.pk], by="ops") == 1
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.version, b.version) == (2, 1)
