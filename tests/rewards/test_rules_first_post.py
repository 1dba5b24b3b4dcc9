"""First-post bonus rule (RULES.md section 4): each trader's earliest qualifying post."""

from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewards.rules.first_post import FIRST_POST_AMOUNT, FIRST_POST_ASSET, first_post_awards
from rewards.rules.types import QualifiedPost, unique_posts

UTC8 = timezone(timedelta(hours=8))
START = datetime(2026, 2, 12, 18, 0, tzinfo=UTC8)


def post(post_id, uid, minutes, score=1, tz=UTC8):
    return QualifiedPost(post_id, uid, (START + timedelta(minutes=minutes)).astimezone(tz), score)


def test_each_trader_gets_their_earliest_qualifying_post():
    posts = [post("a", 1, 30), post("b", 1, 10), post("c", 2, 50), post("d", 1, 20)]
    awards = first_post_awards(posts)
    assert {uid: p.post_id for uid, p in awards.items()} == {1: "b", 2: "c"}


def test_the_bonus_is_thirty_usdt_of_trial_fund():
    assert FIRST_POST_ASSET == "TRIAL_FUND"
    assert str(FIRST_POST_AMOUNT) == "30.00"


def test_posts_at_the_same_instant_are_ordered_by_post_id_as_a_string():
    # As strings "10" < "9", although as numbers 10 > 9.
    awards = first_post_awards([post("9", 1, 0), post("10", 1, 0)])
    assert awards[1].post_id == "10"


def test_instants_are_compared_whatever_their_offset():
    # 18:00+08:00 is 10:00Z, so it is earlier than 11:00Z although "18:00" reads later.
    early = post("x", 1, 0)
    later_in_utc = post("y", 1, 60, tz=timezone.utc)
    assert first_post_awards([later_in_utc, early])[1] == early


def test_same_instant_in_different_offsets_is_a_tie_broken_by_post_id():
    awards = first_post_awards([post("b", 1, 0, tz=UTC8), post("a", 1, 0, tz=timezone.utc)])
    assert awards[1].post_id == "a"


def test_posts_of_traders_outside_the_enrolled_set_are_ignored():
    posts = [post("a", 1, 0), post("b", 2, 5)]
    assert list(first_post_awards(posts, enrolled={2})) == [2]
    assert first_post_awards(posts, enrolled=set()) == {}


def test_no_posts_means_no_awards():
    assert first_post_awards([]) == {}


def test_a_post_id_given_twice_is_refused():
    with pytest.raises(ValueError):
        first_post_awards([post("a", 1, 0), post("a", 1, 5)])


def test_a_naive_created_at_is_refused():
    with pytest.raises(ValueError):
        QualifiedPost("a", 1, datetime(2026, 2, 13, 12, 0), 1)


class NoOffset(tzinfo):
    """A time zone that knows no offset: a datetime carrying it is naive (Python's definition)."""

    def utcoffset(self, dt):
        return None


def test_a_created_at_whose_zone_gives_no_offset_is_refused_and_zoneinfo_is_aware():
    with pytest.raises(ValueError):
        QualifiedPost("a", 1, datetime(2026, 2, 13, 12, 0, tzinfo=NoOffset()), 1)
    assert QualifiedPost("a", 1, datetime(2026, 2, 13, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai")), 1).created_at.utcoffset() == timedelta(hours=8)


def test_posts_are_checked_once_and_a_checked_tuple_is_handed_on_as_it_is():
    checked = unique_posts([post("a", 1, 0), post("b", 2, 5)])
    assert unique_posts(checked) is checked
    assert first_post_awards(checked) == first_post_awards(list(checked))
    with pytest.raises(ValueError):
        unique_posts((*checked, post("a", 3, 9)))  # a new tuple is checked again


posts_strategy = st.lists(
    st.tuples(st.integers(1, 6), st.integers(0, 50)), max_size=40
).map(lambda rows: [post(f"p{i}", uid, minutes) for i, (uid, minutes) in enumerate(rows)])


@given(posts_strategy, st.randoms(use_true_random=False))
def test_awards_do_not_depend_on_input_order(posts, rnd):
    shuffled = list(posts)
    rnd.shuffle(shuffled)
    awards = first_post_awards(posts)
    assert first_post_awards(shuffled) == awards
    assert list(first_post_awards(shuffled)) == sorted(awards)
    for uid, winner in awards.items():
        assert all(winner.order_key <= p.order_key for p in posts if p.uid == uid)
    assert set(awards) == {p.uid for p in posts}
