"""Biweekly content pool rule (RULES.md section 5): scores, cap, redistribution, cents."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from itertools import count

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewards.rules.content_pool import score_creators, split_content_pool
from rewards.rules.money import from_cents
from rewards.rules.types import QualifiedPost

START = datetime(2026, 2, 12, 10, 0, tzinfo=timezone.utc)
_ids = count()


def posts_scoring(uid, score):
    """Posts of one creator whose creator score is `score` (post scores cap at 500)."""
    scores = [500] * (score // 500) + ([score % 500] if score % 500 else [])
    assert len(scores) <= 5
    return [
        QualifiedPost(f"p{next(_ids)}", uid, START + timedelta(minutes=i), s)
        for i, s in enumerate(scores)
    ]


def posts_for(scores_by_uid):
    return [p for uid, score in scores_by_uid.items() for p in posts_scoring(uid, score)]


def money(*pairs):
    return {uid: Decimal(amount) for uid, amount in pairs}


def test_no_posts_leaves_the_whole_pool_unallocated():
    split = split_content_pool([])
    assert split.shares == {} and split.eligible == () and split.creator_scores == {}
    assert split.allocated == Decimal("0.00") and split.unallocated == Decimal("500.00")


def test_creators_below_the_minimum_get_nothing_but_their_score_is_reported():
    split = split_content_pool(posts_for({1: 9, 2: 3}))
    assert split.creator_scores == {1: 9, 2: 3}
    assert split.eligible == () and split.shares == {}
    assert split.unallocated == Decimal("500.00")


def test_a_score_of_exactly_the_minimum_is_eligible():
    split = split_content_pool(posts_for({1: 9, 2: 10}))
    assert split.eligible == (2,)
    assert split.shares == money((2, "100.00"))


def test_a_single_creator_gets_the_cap_and_the_rest_stays_unallocated():
    split = split_content_pool(posts_for({7: 40}))
    assert split.shares == money((7, "100.00"))
    assert split.capped == (7,)
    assert (split.allocated, split.unallocated) == (Decimal("100.00"), Decimal("400.00"))


def test_creator_score_counts_only_the_five_best_posts():
    scores = [5, 50, 1, 30, 40, 10, 20]
    posts = [
        QualifiedPost(f"q{i}", 3, START + timedelta(hours=i), s) for i, s in enumerate(scores)
    ]
    creator = score_creators(posts)[3]
    # 50 + 40 + 30 + 20 + 10 = 150; the 5 and the 1 do not count.
    assert creator.score == 150
    assert creator.post_ids == ("q1", "q4", "q3", "q6", "q5")


def test_equal_post_scores_list_the_earlier_post_first():
    posts = [
        QualifiedPost("late", 3, START + timedelta(hours=2), 10),
        QualifiedPost("early", 3, START, 10),
    ]
    assert score_creators(posts, top_posts=1)[3].post_ids == ("early",)


def test_the_cap_is_redistributed_round_after_round_until_nobody_exceeds_it():
    # Scores 1000, 100, 50, 30, 20 (sum 1200), pool 500, cap 100.
    # Round 1: uid 1 gets 500*1000/1200 = 416.67 > 100: capped. 400 left for 200 points.
    # Round 2: uid 2 gets 400*100/200 = 200 > 100: capped; uid 3 gets 100 (not above). 300 left.
    # Round 3: 300 over 100 points: uid 3 gets 150: capped. Round 4: 200 over 50: uid 4 gets
    # 120: capped. Round 5: 100 over 20: uid 5 gets exactly 100, reaching the cap unexceeded.
    split = split_content_pool(posts_for({1: 1000, 2: 100, 3: 50, 4: 30, 5: 20}))
    assert split.shares == money(*((uid, "100.00") for uid in range(1, 6)))
    assert split.capped == (1, 2, 3, 4)
    assert (split.allocated, split.unallocated) == (Decimal("500.00"), Decimal("0.00"))


def test_redistribution_ends_with_an_exact_split_and_a_largest_remainder_cent():
    # Scores 1000, 150, 60, 30, 20, 10, 10 (sum 1280).
    # Round 1: uid 1: 500*1000/1280 = 390.63 > 100, capped; 400 left for 280 points.
    # Round 2: uid 2: 400*150/280 = 214.29 > 100, capped; 300 left for 130 points.
    # Round 3: uid 3: 300*60/130 = 138.46 > 100, capped; 200 left for 70 points.
    # Round 4: uid 4: 200*30/70 = 600/7 = 85.714..., uid 5: 400/7 = 57.142...,
    # uids 6 and 7: 200/7 = 28.571... each; nobody above 100, done.
    # Floors: 300 + 85.71 + 57.14 + 28.57 + 28.57 = 499.99. Remainders lost (cents): uid 4 0.43,
    # uid 5 0.29, uids 6, 7 0.14: the one cent left goes to uid 4.
    split = split_content_pool(posts_for({1: 1000, 2: 150, 3: 60, 4: 30, 5: 20, 6: 10, 7: 10}))
    assert split.exact[4] == Fraction(600, 7)
    assert split.capped == (1, 2, 3)
    assert split.shares == money(
        (1, "100.00"), (2, "100.00"), (3, "100.00"), (4, "85.72"), (5, "57.14"),
        (6, "28.57"), (7, "28.57"),
    )
    assert split.allocated == Decimal("500.00")


def test_leftover_cents_tie_goes_to_the_higher_score_before_the_lower_uid():
    # Scores uid1 25, uid2 50, uids 3-5 55, uid6 60 (sum 300); shares 500*s/300:
    # uid6 100 (at the cap, not above), uids 3-5 91.666..., uid2 83.333..., uid1 41.666...
    # Floors: 100 + 3 x 91.66 + 83.33 + 41.66 = 499.97: 3 cents left. Uids 1, 3, 4, 5 all lost
    # 2/3 of a cent; the higher score (55) wins over the lower uid (1), so 3, 4, 5 get them.
    split = split_content_pool(posts_for({1: 25, 2: 50, 3: 55, 4: 55, 5: 55, 6: 60}))
    assert split.shares == money(
        (1, "41.66"), (2, "83.33"), (3, "91.67"), (4, "91.67"), (5, "91.67"), (6, "100.00")
    )
    assert split.capped == ()


def test_leftover_cents_tie_among_equal_scores_goes_to_the_lower_uid():
    # Seven creators with score 10: 500/7 = 71.428571... each; floors 7 x 71.42 = 499.94;
    # 6 cents left, equal remainders and scores, so uids 11 to 16 get one, uid 17 does not.
    split = split_content_pool(posts_for({uid: 10 for uid in range(11, 18)}))
    assert split.shares == money(*((uid, "71.43") for uid in range(11, 17)), (17, "71.42"))


def test_a_creator_whose_rounded_share_is_zero_gets_no_row():
    # Pool 0.05 among ten scores of 10: 0.005 each, floors 0.00; allocated = floor(0.05) = 0.05;
    # the 5 cents go to the 5 lowest uids; the other five round to 0.00 and get no row.
    split = split_content_pool(posts_for({uid: 10 for uid in range(1, 11)}), pool=Decimal("0.05"))
    assert split.shares == money(*((uid, "0.01") for uid in range(1, 6)))
    assert split.eligible == tuple(range(1, 11))
    assert split.allocated == Decimal("0.05") and split.unallocated == Decimal("0.00")


def test_without_a_cap_the_split_is_purely_proportional():
    split = split_content_pool(posts_for({1: 300, 2: 100}), cap=None)
    assert split.shares == money((1, "375.00"), (2, "125.00"))


@pytest.mark.parametrize(
    "kwargs", [{"pool": Decimal("500.005")}, {"cap": Decimal("-1")}, {"top_posts": 0}]
)
def test_an_impossible_configuration_is_refused(kwargs):
    with pytest.raises(ValueError):
        split_content_pool(posts_for({1: 20}), **kwargs)


post_rows = st.lists(st.tuples(st.integers(1, 12), st.integers(0, 500)), max_size=50)
configs = st.fixed_dictionaries(
    {
        "pool": st.integers(0, 100_000).map(from_cents),
        "cap": st.one_of(st.none(), st.integers(0, 20_000).map(from_cents)),
        "min_score": st.integers(0, 30),
    }
)


def build(rows):
    return [
        QualifiedPost(f"p{i}", uid, START + timedelta(seconds=i), score)
        for i, (uid, score) in enumerate(rows)
    ]


@given(post_rows, configs)
def test_split_sums_exactly_and_nobody_exceeds_the_cap(rows, config):
    split = split_content_pool(build(rows), **config)
    assert sum(split.shares.values(), Decimal(0)) == split.allocated
    assert split.allocated + split.unallocated == config["pool"]
    assert split.unallocated >= 0
    assert all(amount > 0 for amount in split.shares.values())
    assert set(split.shares) <= set(split.eligible)
    assert all(split.creator_scores[uid] >= config["min_score"] for uid in split.eligible)
    if config["cap"] is not None:
        assert all(amount <= config["cap"] for amount in split.shares.values())


@given(post_rows, configs)
def test_exact_shares_are_proportional_among_the_uncapped_and_only_full_caps_leave_money(
    rows, config
):
    split = split_content_pool(build(rows), **config)
    scores = split.creator_scores
    uncapped = [uid for uid in split.eligible if uid not in split.capped]
    for a in uncapped:
        for b in uncapped:
            assert split.exact[a] * scores[b] == split.exact[b] * scores[a]
    if config["cap"] is not None:
        assert all(split.exact[uid] == Fraction(config["cap"]) for uid in split.capped)
    if any(scores[uid] > 0 for uid in uncapped):
        # Someone could still take money, so none of it may stay unallocated.
        assert sum(split.exact.values()) == Fraction(config["pool"])


@given(post_rows, configs, st.randoms(use_true_random=False))
def test_split_does_not_depend_on_input_order(rows, config, rnd):
    posts = build(rows)
    shuffled = list(posts)
    rnd.shuffle(shuffled)
    assert split_content_pool(shuffled, **config) == split_content_pool(posts, **config)


@given(post_rows, configs)
def test_a_higher_score_never_gets_a_smaller_share(rows, config):
    split = split_content_pool(build(rows), **config)
    for a in split.eligible:
        for b in split.eligible:
            if split.creator_scores[a] > split.creator_scores[b]:
                assert split.shares.get(a, 0) >= split.shares.get(b, 0)
