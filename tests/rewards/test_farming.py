"""Anti-farming signals: each at its threshold (pure rules), flags raised idempotently, and only an
explicit exclusion with a note changes a settlement, which the trader's breakdown then shows."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from campaign.models import Post
from campaign.services import posts_import_file, signups_import
from rewards.exceptions import RewardError
from rewards.models import FarmingThresholds, ReviewFlag, Reward
from rewards.rules.farming import BURST, ENGAGEMENT, NEAR_IDENTICAL, PostActivity, engagement_outliers, near_identical_posts, posting_bursts
from rewards.selectors import status_link_token
from rewards.services import settle_campaign
from rewards.services.farming import DISMISS, EXCLUDE_POST, EXCLUDE_TRADER, review_flags_decide, review_flags_refresh
from rewards.services.status_links import status_link_get_or_create
from tests.rewards.scenario import REGISTRATIONS, SIGNUPS, STATS, posts_jsonl
from traders.models import Trader
from traders.services import registrations_import, trader_stats_import

T0 = datetime.fromisoformat("2026-02-14T10:00:00+08:00")
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")


def burst(n, *, every_minutes, uid=1, start=0):
    return [PostActivity(f"p{start + i}", uid, T0 + timedelta(minutes=i * every_minutes), 5) for i in range(n)]


# --- Pure rules ----------------------------------------------------------------------------------


def test_five_posts_in_thirty_minutes_are_no_burst_and_six_are():
    assert posting_bursts(burst(5, every_minutes=7)) == []
    [signal] = posting_bursts(burst(6, every_minutes=5))  # 0..25 minutes
    assert (signal.kind, signal.uid, signal.post_id) == (BURST, 1, "p0")
    assert signal.evidence["posts"] == ["p0", "p1", "p2", "p3", "p4", "p5"] and signal.evidence["count"] == 6


def test_six_posts_spread_over_exactly_thirty_minutes_are_no_burst():
    assert posting_bursts(burst(6, every_minutes=6)) == []  # the last is 30 minutes after the first
    assert len(posting_bursts(burst(6, every_minutes=6), max_posts=4, minutes=30)) == 1


def test_bursts_are_per_trader_and_do_not_depend_on_input_order():
    posts = burst(3, every_minutes=1, uid=1) + burst(3, every_minutes=1, uid=2, start=10) + burst(6, every_minutes=1, uid=3, start=20)
    signals = posting_bursts(posts)
    assert [(s.uid, s.post_id) for s in signals] == [(3, "p20")]
    assert posting_bursts(list(reversed(posts))) == signals


def test_near_identical_needs_the_threshold_of_own_copies():
    own = [PostActivity("a", 1, T0, 5), PostActivity("b", 1, T0 + timedelta(hours=1), 5, own_duplicate_of="a")]
    assert near_identical_posts(own, min_copies=2) == []
    own.append(PostActivity("c", 1, T0 + timedelta(hours=2), 5, own_duplicate_of="a"))
    [signal] = near_identical_posts(own, min_copies=2)
    assert (signal.kind, signal.uid, signal.post_id) == (NEAR_IDENTICAL, 1, None)
    assert signal.evidence["pairs"] == [["b", "a"], ["c", "a"]]


def test_engagement_exactly_k_times_the_median_is_not_flagged_and_one_more_is():
    def posts(top):
        return [PostActivity("a", 1, T0, 4), PostActivity("b", 1, T0 + timedelta(hours=1), 4), PostActivity("c", 1, T0 + timedelta(hours=2), top)]

    assert engagement_outliers(posts(40), multiple=10) == []
    [signal] = engagement_outliers(posts(41), multiple=10)
    assert (signal.kind, signal.post_id, signal.evidence["median"]) == (ENGAGEMENT, "c", "4")


def test_engagement_needs_enough_posts_to_know_the_usual():
    two = [PostActivity("a", 1, T0, 1), PostActivity("b", 1, T0 + timedelta(hours=1), 500)]
    assert engagement_outliers(two, multiple=10, min_posts=3) == []
    assert engagement_outliers(two, multiple=10, min_posts=2) == []  # the median is 250.5
    # an even count takes the exact middle: (1 + 500) / 2
    assert engagement_outliers(two, multiple=1, min_posts=2)[0].evidence["median"] == "501/2"


# --- Service and settlement ----------------------------------------------------------------------


@pytest.fixture
def loaded(campaign):
    registrations_import(data=REGISTRATIONS.encode())
    signups_import(campaign=campaign, data=SIGNUPS.encode())
    trader_stats_import(data=STATS.encode())
    assert posts_import_file(campaign=campaign, data=posts_jsonl().encode()).ok
    return campaign


@pytest.fixture
def ops(db):
    return User.objects.create_superuser("ops", "ops@example.com", "pw")


def amounts(campaign):
    return {(uid, kind): amount for uid, kind, amount in Reward.objects.filter(campaign=campaign).values_list("trader__uid", "kind", "amount")}


@pytest.mark.django_db
def test_flags_are_raised_once_and_refreshing_twice_changes_nothing(loaded):
    FarmingThresholds.objects.create(campaign=loaded, engagement_multiple=2, engagement_min_posts=3)
    first = review_flags_refresh(campaign=loaded)
    flags = sorted(ReviewFlag.objects.values_list("kind", "trader__uid", "post__post_id"))
    # 1002's b1 scores 30 against a median of 5; 1001's posts (11, 11, 10, 1) have none above 21.
    assert flags == [("engagement", 1002, "b1")] and first["created"] == 1
    assert review_flags_refresh(campaign=loaded) == {"created": 0, "updated": 0, "deleted": 0}
    assert ReviewFlag.objects.count() == 1


@pytest.mark.django_db
def test_a_decided_flag_survives_a_refresh_even_when_its_signal_is_gone(loaded, ops):
    thresholds = FarmingThresholds.objects.create(campaign=loaded, engagement_multiple=2)
    review_flags_refresh(campaign=loaded)
    review_flags_decide(flag_ids=ReviewFlag.objects.values_list("pk", flat=True), action=DISMISS, note="organic", user=ops)
    thresholds.engagement_multiple = 100
    thresholds.save()
    review_flags_refresh(campaign=loaded)
    assert list(ReviewFlag.objects.values_list("status", "note")) == [("dismissed", "organic")]


@pytest.mark.django_db
def test_an_open_or_dismissed_flag_never_changes_money(loaded, ops):
    settle_campaign(campaign=loaded, at=DUE)
    before = amounts(loaded)
    FarmingThresholds.objects.create(campaign=loaded, engagement_multiple=2)
    review_flags_refresh(campaign=loaded)
    settle_campaign(campaign=loaded, at=DUE)
    assert amounts(loaded) == before
    review_flags_decide(flag_ids=ReviewFlag.objects.values_list("pk", flat=True), action=DISMISS, note="organic", user=ops)
    settle_campaign(campaign=loaded, at=DUE)
    assert amounts(loaded) == before


@pytest.mark.django_db
def test_a_decision_needs_a_note(loaded, ops):
    FarmingThresholds.objects.create(campaign=loaded, engagement_multiple=2)
    review_flags_refresh(campaign=loaded)
    with pytest.raises(RewardError):
        review_flags_decide(flag_ids=ReviewFlag.objects.values_list("pk", flat=True), action=EXCLUDE_POST, note="  ", user=ops)
    assert ReviewFlag.objects.get().status == "open"


@pytest.mark.django_db
def test_excluding_a_post_changes_the_settlement_and_shows_in_the_breakdown(loaded, ops, client):
    settle_campaign(campaign=loaded, at=DUE)
    flag = ReviewFlag.objects.create(campaign=loaded, trader=Trader.objects.get(uid=1001), post=Post.objects.get(post_id="a1"), kind="engagement", evidence={})
    review_flags_decide(flag_ids=[flag.pk], action=EXCLUDE_POST, note="bot likes from one subnet", user=ops)
    settle_campaign(campaign=loaded, at=DUE)
    # Without a1 (score 11): 1001 has 11 + 10 + 1 = 22 content points, still the first-post bonus
    # (now for a2), and a leaderboard score of 22 + 50 + 1.005 = 73.005.
    reward = Reward.objects.get(campaign=loaded, trader__uid=1001, kind="leaderboard")
    assert reward.detail["content_score"] == 22 and reward.detail["score"] == "73.005"
    assert Reward.objects.get(campaign=loaded, trader__uid=1001, kind="first_post").detail["post_id"] == "a2"
    pool = Reward.objects.get(campaign=loaded, trader__uid=1001, kind="content_pool")
    assert [p["post_id"] for p in pool.detail["posts"]] == ["a2", "a3", "a4"]

    link = status_link_get_or_create(campaign=loaded, trader=Trader.objects.get(uid=1001))
    html = client.get(f"/s/{status_link_token(link)}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="post-excluded"' in html
    assert "excluded from settlement by the campaign team: bot likes from one subnet" in html
    assert html.count('data-breakdown-post="a1"') >= 2  # not counted, in the pool's and the leaderboard's breakdowns


@pytest.mark.django_db
def test_excluding_a_trader_removes_every_reward_of_theirs_at_the_next_settlement(loaded, ops, client):
    settle_campaign(campaign=loaded, at=DUE)
    assert amounts(loaded)[(1002, "leaderboard")] == Decimal("3000.00")
    flag = ReviewFlag.objects.create(campaign=loaded, trader=Trader.objects.get(uid=1002), kind="near_identical", evidence={})
    with pytest.raises(RewardError):
        review_flags_decide(flag_ids=[flag.pk], action=EXCLUDE_POST, note="farm", user=ops)
    review_flags_decide(flag_ids=[flag.pk], action=EXCLUDE_TRADER, note="post farm", user=ops)
    settle_campaign(campaign=loaded, at=DUE)
    assert not [key for key in amounts(loaded) if key[0] == 1002]
    assert amounts(loaded)[(1001, "leaderboard")] == Decimal("4000.00")

    link = status_link_get_or_create(campaign=loaded, trader=Trader.objects.get(uid=1002))
    html = client.get(f"/s/{status_link_token(link)}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="excluded"' in html and "The campaign team excluded you from settlement: post farm" in html


@pytest.mark.django_db
def test_ops_exclude_a_flagged_post_in_the_admin_with_a_note(loaded, ops, client):
    client.force_login(ops)
    flag = ReviewFlag.objects.create(campaign=loaded, trader=Trader.objects.get(uid=1001), post=Post.objects.get(post_id="a1"), kind="engagement", evidence={"score": 11, "median": "1", "multiple": 10, "posts": 4})
    url = "/admin/rewards/reviewflag/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"action": "exclude_post", "_selected_action": [flag.pk]})
    assert response.status_code == 200 and b"Note" in response.content  # the note form comes first
    client.post(url, {"action": "exclude_post", "_selected_action": [flag.pk], "apply": "1", "note": "bought likes"})
    flag.refresh_from_db()
    assert (flag.status, flag.excludes, flag.note, flag.decided_by) == ("excluded", "post", "bought likes", "ops")
