"""Anti-farming signals: each at its threshold (pure rules), flags raised idempotently, and only an
explicit exclusion with a note changes a settlement, which the trader's breakdown then shows."""

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import User

from campaign.models import Post
from campaign.services import posts_import_file
from rewards.exceptions import RewardError
from rewards.models import FarmingThresholds, ReviewFlag, Reward
from rewards.rules.farming import (
    BURST,
    ENGAGEMENT,
    ENGAGEMENT_JUMP,
    NEAR_IDENTICAL,
    EngagementObservation,
    PostActivity,
    Thresholds,
    engagement_jump,
    engagement_jumps,
    engagement_outliers,
    farming_signals,
    near_identical_posts,
    posting_bursts,
)
from rewards.selectors.links import status_link_token
from rewards.services import settle_campaign
from rewards.services.farming import DISMISS, EXCLUDE_POST, EXCLUDE_TRADER, review_flags_decide, review_flags_refresh
from rewards.services.status_links import status_link_get_or_create
from tests.factories import enrolled_trader, post_item
from traders.models import Trader

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


# --- Engagement jumps between observations -------------------------------------------------------


def seen(hours, likes=0, *, comments=0, shares=0, views=0, post_id="j1", uid=7):
    return EngagementObservation(post_id, uid, T0 + timedelta(hours=hours), likes, comments, shares, views)


def test_a_jump_of_exactly_the_minimum_increase_is_flagged_and_one_point_less_is_not():
    # Scores 1 -> 501 (+500, x501) and 1 -> 500 (+499), both within the hour.
    [signal] = engagement_jumps([[seen(0), seen(1, likes=500)]])
    assert (signal.kind, signal.uid, signal.post_id, signal.evidence["increase"]) == (ENGAGEMENT_JUMP, 7, "j1", 500)
    assert engagement_jump([seen(0), seen(1, likes=499)]) is None


def test_a_jump_to_exactly_the_multiple_is_flagged_and_one_point_less_is_not():
    # Scores 100 -> 1000 is x10 (+900); 100 -> 999 rises enough but is under x10.
    assert engagement_jump([seen(0, likes=99), seen(1, likes=999)]).evidence["increase"] == 900
    assert engagement_jump([seen(0, likes=99), seen(1, likes=998)]) is None


def test_a_jump_over_exactly_the_window_is_flagged_and_one_second_more_is_not():
    before = seen(0)
    assert engagement_jump([before, seen(6, likes=900)]) is not None
    late = EngagementObservation("j1", 7, T0 + timedelta(hours=6, seconds=1), 900, 0, 0, 0)
    assert engagement_jump([before, late]) is None
    assert engagement_jump([before, late], hours=7) is not None


def test_the_jump_evidence_has_both_observations_the_increase_and_the_rate():
    after = seen(2, likes=900, comments=10, shares=5, views=12345)  # 1 + 900 + 20 + 15 + 123 = 1059
    signal = engagement_jump([after, seen(0, views=99)])  # any order
    assert signal.evidence == {
        "before": {"at": T0.isoformat(), "likes": 0, "comments": 0, "shares": 0, "views": 99, "score": 1},
        "after": {"at": (T0 + timedelta(hours=2)).isoformat(), "likes": 900, "comments": 10, "shares": 5, "views": 12345, "score": 1059},
        "increase": 1058, "hours": "2.0", "per_hour": "529.0", "jumps": 1, "min_increase": 500, "multiple": 10, "within_hours": 6,
    }  # fmt: skip


def test_the_jump_score_has_no_cap_and_only_consecutive_observations_count():
    # 400 -> 5000 would be 400 -> 500 under the post score cap, and never flagged.
    assert engagement_jump([seen(0, likes=399), seen(1, likes=4999)]).evidence["after"]["score"] == 5000
    # 1 -> 300 -> 2900: no single step is +500 and x10, although the ends are.
    assert engagement_jump([seen(0), seen(1, likes=299), seen(2, likes=2899)]) is None


def test_one_signal_per_post_for_its_largest_jump():
    history = [seen(0), seen(1, likes=600), seen(30, likes=600), seen(31, likes=9000)]
    signal = engagement_jump(history)
    assert signal.evidence["jumps"] == 2 and signal.evidence["increase"] == 8400
    assert signal.evidence["before"]["at"] == (T0 + timedelta(hours=30)).isoformat()


def test_jump_signals_follow_the_thresholds_given_with_the_other_signals():
    histories = [[seen(0), seen(1, likes=900)], [seen(0, post_id="j2", uid=8), seen(5, post_id="j2", uid=8, likes=900)]]
    assert [s.post_id for s in farming_signals([], histories=histories)] == ["j1", "j2"]
    assert [s.post_id for s in farming_signals([], Thresholds(jump_hours=2), histories=histories)] == ["j1"]
    assert farming_signals([], Thresholds(jump_min_increase=1000), histories=histories) == []
    assert farming_signals([], Thresholds(jump_multiple=1000), histories=histories) == []


# --- Engagement jumps: history to flags ----------------------------------------------------------

J0 = datetime.fromisoformat("2026-02-14T13:00:00+08:00")


def jump_item(likes, **counts):
    return post_item("jp", 7, likes=likes, **counts)


def ingest_at(campaign, at, item):
    with time_machine.travel(at, tick=False):
        assert posts_import_file(campaign=campaign, data=(json.dumps(item) + "\n").encode()).ok


@pytest.fixture
def jumped(campaign):
    enrolled_trader(uid=7)
    ingest_at(campaign, J0, jump_item(3))
    ingest_at(campaign, J0 + timedelta(hours=2), jump_item(900, comments=10, shares=5, views=12345))
    return campaign


@pytest.mark.django_db
def test_an_implausible_jump_raises_one_flag_with_its_evidence(jumped):
    assert review_flags_refresh(campaign=jumped) == {"created": 1, "updated": 0, "deleted": 0}
    flag = ReviewFlag.objects.get()
    assert (flag.kind, flag.trader.uid, flag.post.post_id, flag.status) == ("engagement_jump", 7, "jp", "open")
    ev = flag.evidence
    assert (ev["before"]["score"], ev["before"]["likes"], ev["after"]["score"], ev["after"]["views"]) == (4, 3, 1059, 12345)
    assert datetime.fromisoformat(ev["before"]["at"]) == J0 and datetime.fromisoformat(ev["after"]["at"]) == J0 + timedelta(hours=2)
    assert (ev["increase"], ev["hours"], ev["per_hour"]) == (1055, "2.0", "527.5")
    assert review_flags_refresh(campaign=jumped) == {"created": 0, "updated": 0, "deleted": 0}
    assert ReviewFlag.objects.count() == 1


@pytest.mark.django_db
def test_the_jump_thresholds_come_from_the_campaign_configuration(jumped):
    thresholds = FarmingThresholds.objects.create(campaign=jumped, jump_hours=1)
    assert review_flags_refresh(campaign=jumped)["created"] == 0
    thresholds.jump_hours = 2
    thresholds.save()
    assert review_flags_refresh(campaign=jumped)["created"] == 1
    thresholds.jump_min_increase = 1056
    thresholds.save()
    assert review_flags_refresh(campaign=jumped) == {"created": 0, "updated": 0, "deleted": 1}
    assert not ReviewFlag.objects.exists()


@pytest.mark.django_db
def test_an_open_jump_flag_follows_a_bigger_jump(jumped):
    review_flags_refresh(campaign=jumped)
    ingest_at(jumped, J0 + timedelta(hours=3), jump_item(20000, comments=10, shares=5, views=12345))
    assert review_flags_refresh(campaign=jumped) == {"created": 0, "updated": 1, "deleted": 0}
    assert ReviewFlag.objects.get().evidence["jumps"] == 2 and ReviewFlag.objects.get().evidence["after"]["likes"] == 20000


@pytest.mark.django_db
def test_a_decided_jump_flag_is_left_as_ops_decided_it(jumped, ops):
    review_flags_refresh(campaign=jumped)
    evidence = ReviewFlag.objects.get().evidence
    review_flags_decide(flag_ids=ReviewFlag.objects.values_list("pk", flat=True), action=DISMISS, note="a real viral post", user=ops)
    ingest_at(jumped, J0 + timedelta(hours=3), jump_item(20000))
    assert review_flags_refresh(campaign=jumped) == {"created": 0, "updated": 0, "deleted": 0}
    FarmingThresholds.objects.create(campaign=jumped, jump_min_increase=10**9)
    assert review_flags_refresh(campaign=jumped) == {"created": 0, "updated": 0, "deleted": 0}
    flag = ReviewFlag.objects.get()
    assert (flag.status, flag.note, flag.evidence) == ("dismissed", "a real viral post", evidence)


@pytest.mark.django_db
def test_ops_read_the_jump_evidence_and_edit_its_thresholds_in_the_admin(jumped, ops, client):
    review_flags_refresh(campaign=jumped)
    client.force_login(ops)
    html = client.get("/admin/rewards/reviewflag/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # Times in Asia/Shanghai, counts as likes/comments/shares/views.
    assert "score 4 → 1059 (+1055) in 2.0 h, 527.5 points/h" in html
    assert "3/0/0/0 at 2026-02-14 13:00:00 UTC+8 → 900/10/5/12345 at 2026-02-14 15:00:00 UTC+8" in html
    form = client.get("/admin/rewards/farmingthresholds/add/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for name in ("jump_min_increase", "jump_multiple", "jump_hours"):
        assert f'name="{name}"' in form
    response = client.post("/admin/rewards/farmingthresholds/add/", {
        "campaign": jumped.pk, "burst_posts": 5, "burst_minutes": 30, "duplicate_posts": 2, "engagement_multiple": 10,
        "engagement_min_posts": 3, "jump_min_increase": 800, "jump_multiple": 20, "jump_hours": 3,
    })  # fmt: skip
    assert response.status_code == 302
    assert FarmingThresholds.objects.values_list("jump_min_increase", "jump_multiple", "jump_hours").get() == (800, 20, 3)
