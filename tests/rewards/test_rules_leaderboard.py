"""Top-10 leaderboard rule (RULES.md section 6): exact scores, tie-breaks, split strategies."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewards.rules.leaderboard import (
    DEFAULT_TIERS,
    STRATEGIES,
    Ranked,
    rank_traders,
    split_leaderboard,
    validate_tiers,
)
from rewards.rules.money import from_cents
from rewards.rules.types import QualifiedPost, TraderStats

UTC8 = timezone(timedelta(hours=8))
START = datetime(2026, 2, 12, 18, 0, tzinfo=UTC8)


def trader_posts(uid, scores, first_minute=0):
    """One post per score, the first at `first_minute`, the others an hour apart after it."""
    return [
        QualifiedPost(f"{uid}-{i}", uid, START + timedelta(minutes=first_minute + 60 * i), s)
        for i, s in enumerate(scores)
    ]


def stats(new_copiers=0, pnl="0"):
    return TraderStats(new_copiers=new_copiers, copier_pnl_usdt=Decimal(pnl))


def ranked_rows(*uid_scores):
    """Ranked rows in the given order (rank 1 first) for split tests."""
    return [
        Ranked(
            rank=rank, uid=uid, score=Fraction(score), content_score=0, qualifying_posts=3,
            first_post_at=START, new_copiers=0, copier_pnl_usdt=Decimal("0"),
        )
        for rank, (uid, score) in enumerate(uid_scores, 1)
    ]


def test_score_adds_content_copiers_and_pnl_keeping_every_digit():
    # Content 10 + 20 + 30 = 60; 5 x 4 copiers = 20; 0.01 x 12.345 = 0.12345 -> 80.12345 exactly.
    [row] = rank_traders(trader_posts(1, [10, 20, 30]), {1: stats(4, "12.345")})
    assert row.score == Fraction("80.12345")
    assert (row.content_score, row.qualifying_posts, row.new_copiers) == (60, 3, 4)
    assert row.copier_pnl_usdt == Decimal("12.345")


def test_negative_copier_pnl_counts_as_zero():
    [row] = rank_traders(trader_posts(1, [10, 10, 10]), {1: stats(1, "-250.00")})
    assert row.score == 35  # 30 + 5 x 1 + 0.01 x max(0, -250) = 35


def test_missing_stats_count_as_zero_copiers_and_zero_pnl():
    [row] = rank_traders(trader_posts(1, [1, 2, 3]), {})
    assert (row.score, row.new_copiers, row.copier_pnl_usdt) == (6, 0, Decimal("0"))


def test_traders_with_fewer_than_three_qualifying_posts_are_not_ranked():
    posts = trader_posts(1, [500, 500]) + trader_posts(2, [1, 1, 1])
    assert [row.uid for row in rank_traders(posts, {})] == [2]


def test_ties_go_to_higher_content_then_earlier_first_post_then_lower_uid():
    # Every trader below scores exactly 100.
    posts = (
        trader_posts(10, [35, 30, 30])  # content 95 + 5 x 1 copier
        + trader_posts(20, [40, 30, 30], first_minute=5)  # content 100, first post at +5 min
        + trader_posts(30, [40, 30, 30], first_minute=0)  # content 100, first post at +0 min
        + trader_posts(40, [40, 30, 30], first_minute=5)  # same as uid 20 but a higher uid
        + trader_posts(60, [30, 30, 30])  # content 90 + 0.01 x 1000 pnl
    )
    ranking = rank_traders(posts, {10: stats(1), 60: stats(0, "1000")})
    assert {row.score for row in ranking} == {100}
    # Content 100 first (30 earliest; 20 before 40 by uid), then content 95, then 90.
    assert [(row.rank, row.uid) for row in ranking] == [(1, 30), (2, 20), (3, 40), (4, 10), (5, 60)]


def test_the_smallest_pnl_digit_still_outranks_a_tie():
    # 0.01 x 0.001 = 0.00001: uid 2 scores 30.00001 and passes uid 1 (30) despite the higher uid.
    posts = trader_posts(1, [10, 10, 10]) + trader_posts(2, [10, 10, 10])
    ranking = rank_traders(posts, {2: stats(0, "0.001")})
    assert [row.uid for row in ranking] == [2, 1]
    assert ranking[0].score == Fraction("30.00001")


def test_first_qualifying_post_is_compared_as_an_instant_whatever_its_offset():
    # uid 1's first post is 18:30+08:00 = 10:30Z, earlier than uid 2's 17:00Z: uid 1 wins the
    # tie although "18:30" reads later than "17:00".
    utc = timezone.utc
    posts = [
        QualifiedPost(f"a{i}", 1, datetime(2026, 2, 13, 18, 30, tzinfo=UTC8), 10) for i in range(3)
    ] + [QualifiedPost(f"b{i}", 2, datetime(2026, 2, 13, 17, 0, tzinfo=utc), 10) for i in range(3)]
    ranking = rank_traders(posts, {})
    assert [row.uid for row in ranking] == [1, 2]
    assert ranking[0].first_post_at == datetime(2026, 2, 13, 10, 30, tzinfo=utc)


def test_size_truncates_the_ranking_and_none_keeps_everyone():
    posts = [p for uid in range(1, 16) for p in trader_posts(uid, [uid, 1, 1])]
    assert len(rank_traders(posts, {})) == 15
    top = rank_traders(posts, {}, size=10)
    assert [row.rank for row in top] == list(range(1, 11))
    assert top[0].uid == 15


def test_tiers_pay_the_top_ten_by_rank():
    split = split_leaderboard(ranked_rows(*((uid, 100 - uid) for uid in range(1, 13))))
    assert list(split.amounts.values()) == list(DEFAULT_TIERS)
    assert list(split.amounts) == list(range(1, 11))
    assert len(split.ranked) == 10
    assert (split.allocated, split.unallocated) == (Decimal("20000.00"), Decimal("0.00"))


def test_tiers_with_fewer_than_ten_ranked_leave_the_unused_tiers_unallocated():
    # 4000 + 3000 + 2500 = 9500 paid; 20000 - 9500 = 10500 unallocated.
    split = split_leaderboard(ranked_rows((7, 90), (3, 80), (9, 70)))
    assert split.amounts == {7: Decimal("4000"), 3: Decimal("3000"), 9: Decimal("2500")}
    assert (split.allocated, split.unallocated) == (Decimal("9500.00"), Decimal("10500.00"))


def test_a_larger_pool_than_the_tiers_leaves_the_difference_unallocated():
    rows = ranked_rows(*((uid, 50) for uid in range(1, 11)))
    split = split_leaderboard(rows, pool=Decimal("25000"))
    assert (split.allocated, split.unallocated) == (Decimal("20000.00"), Decimal("5000.00"))


def test_equal_split_of_twenty_thousand_among_three_gives_the_extra_cents_to_the_best_ranks():
    # 20000 / 3 = 6666.666...; floors 3 x 6666.66 = 19999.98; 2 cents left; every remainder is
    # 2/3 of a cent, so the tie goes by rank: ranks 1 and 2 get 6666.67, rank 3 gets 6666.66.
    split = split_leaderboard(ranked_rows((9, 100), (5, 100), (2, 100)), strategy="equal")
    assert split.amounts == {9: Decimal("6666.67"), 5: Decimal("6666.67"), 2: Decimal("6666.66")}
    assert (split.allocated, split.unallocated) == (Decimal("20000.00"), Decimal("0.00"))


def test_equal_split_shares_the_pool_among_the_ten_paid_places_only():
    split = split_leaderboard(ranked_rows(*((uid, 100) for uid in range(1, 13))), strategy="equal")
    assert split.amounts == {uid: Decimal("2000.00") for uid in range(1, 11)}


def test_proportional_split_follows_score_with_a_largest_remainder_cent():
    # Scores 300, 200, 100 (sum 600): 10000, 6666.666..., 3333.333...; floors sum to 19999.99;
    # the cent goes to the larger remainder lost (2/3 against 1/3): uid 2.
    split = split_leaderboard(ranked_rows((1, 300), (2, 200), (3, 100)), strategy="proportional")
    assert split.amounts == {1: Decimal("10000.00"), 2: Decimal("6666.67"), 3: Decimal("3333.33")}


def test_proportional_ties_go_to_the_lower_uid_not_the_better_rank():
    # Equal scores ranked 9, 5, 2 (by content, say): 6666.666... each, 2 cents to uids 2 and 5.
    split = split_leaderboard(ranked_rows((9, 100), (5, 100), (2, 100)), strategy="proportional")
    assert split.amounts == {9: Decimal("6666.66"), 5: Decimal("6666.67"), 2: Decimal("6666.67")}


def test_proportional_ties_go_to_the_higher_score_first():
    # Pool 0.03 over scores 3, 1, 1, 1 (sum 6): 1.5, 0.5, 0.5, 0.5 cents; floors 1 cent; all lost
    # half a cent; 2 cents left go to the score 3 (uid 8), then to the lowest uid among the 1s (4).
    rows = ranked_rows((8, 3), (6, 1), (4, 1), (5, 1))
    split = split_leaderboard(rows, strategy="proportional", pool=Decimal("0.03"))
    assert split.amounts == {8: Decimal("0.02"), 4: Decimal("0.01")}


def test_a_zero_score_gets_no_row_under_proportional():
    split = split_leaderboard(ranked_rows((1, 5), (2, 0)), strategy="proportional")
    assert split.amounts == {1: Decimal("20000.00")}
    all_zero = split_leaderboard(ranked_rows((1, 0)), strategy="proportional")
    assert all_zero.amounts == {} and all_zero.unallocated == Decimal("20000.00")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_an_empty_leaderboard_leaves_the_whole_pool_unallocated(strategy):
    split = split_leaderboard([], strategy=strategy)
    assert split.amounts == {} and split.ranked == () and split.strategy == strategy
    assert (split.allocated, split.unallocated) == (Decimal("0.00"), Decimal("20000.00"))


def test_a_zero_tier_gets_no_row():
    split = split_leaderboard(ranked_rows((1, 9), (2, 8)), tiers=[Decimal("10.00"), Decimal("0")])
    assert split.amounts == {1: Decimal("10.00")}
    assert (split.allocated, split.unallocated) == (Decimal("10.00"), Decimal("0.00"))


def test_an_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="unknown leaderboard strategy"):
        split_leaderboard(ranked_rows((1, 10)), strategy="winner_takes_all")


def test_a_pool_smaller_than_the_tiers_or_ranks_out_of_order_are_refused():
    with pytest.raises(ValueError):
        split_leaderboard(ranked_rows((1, 10)), pool=Decimal("100.00"))
    with pytest.raises(ValueError):
        split_leaderboard(list(reversed(ranked_rows((1, 10), (2, 5)))))


def test_validate_tiers_accepts_the_default_table_and_normalises_to_cents():
    assert validate_tiers(DEFAULT_TIERS)[0] == Decimal("4000.00")
    assert sum(DEFAULT_TIERS) == Decimal("20000")
    assert validate_tiers([Decimal("5"), Decimal("5.000"), 0]) == (
        Decimal("5.00"), Decimal("5.00"), Decimal("0.00"),
    )


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ([], "at least one"),
        ([Decimal("100"), Decimal("200")], "must not increase"),
        ([Decimal("-1")], "must not be negative"),
        ([Decimal("1.005")], "two decimals"),
        ([1.5], "decimal amount"),
        ([Decimal("Infinity")], "finite"),
    ],
)
def test_validate_tiers_refuses_a_bad_table_with_a_clear_message(tiers, message):
    with pytest.raises(ValueError, match=message):
        validate_tiers(tiers)


post_rows = st.lists(
    st.tuples(st.integers(1, 10), st.integers(0, 500), st.integers(0, 30)), max_size=60
)
stats_maps = st.dictionaries(
    st.integers(1, 10),
    st.builds(
        TraderStats,
        new_copiers=st.integers(0, 50),
        copier_pnl_usdt=st.decimals(-1000, 100000, places=3, allow_nan=False),
    ),
)


def build(rows):
    return [
        QualifiedPost(f"p{i}", uid, START + timedelta(minutes=minute), score)
        for i, (uid, score, minute) in enumerate(rows)
    ]


@given(post_rows, stats_maps, st.randoms(use_true_random=False))
def test_ranking_does_not_depend_on_input_order_and_never_shares_a_rank(rows, stats_map, rnd):
    posts = build(rows)
    shuffled = list(posts)
    rnd.shuffle(shuffled)
    ranking = rank_traders(posts, stats_map)
    assert rank_traders(shuffled, stats_map) == ranking
    assert [row.rank for row in ranking] == list(range(1, len(ranking) + 1))
    assert len({row.uid for row in ranking}) == len(ranking)
    keys = [(-r.score, -r.content_score, r.first_post_at, r.uid) for r in ranking]
    assert keys == sorted(keys)
    assert all(row.qualifying_posts >= 3 for row in ranking)


@given(
    post_rows,
    stats_maps,
    st.sampled_from(STRATEGIES),
    st.one_of(st.none(), st.integers(2_000_000, 3_000_000).map(from_cents)),
)
def test_leaderboard_splits_sum_to_the_allocated_total(rows, stats_map, strategy, pool):
    split = split_leaderboard(rank_traders(build(rows), stats_map), strategy=strategy, pool=pool)
    pool = Decimal("20000.00") if pool is None else pool
    assert sum(split.amounts.values(), Decimal(0)) == split.allocated
    assert split.allocated + split.unallocated == pool
    assert all(amount > 0 for amount in split.amounts.values())
    assert set(split.amounts) <= {row.uid for row in split.ranked}
    assert len(split.ranked) <= len(DEFAULT_TIERS)
    if strategy != "tiers" and split.ranked and any(row.score for row in split.ranked):
        assert split.unallocated == 0
