"""Pure rules of RULES.md section 8: pool budgets, first_post_limit, and what a settlement does
about approved, paid and void rewards (review items). No database."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewards.rules.budget import Pool, PoolBudget, approval_excess
from rewards.rules.first_post import first_post_awards
from rewards.rules.review import ReviewAction, review_action
from rewards.rules.types import QualifiedPost

START = datetime(2026, 2, 12, 10, 0, tzinfo=timezone.utc)
D = Decimal


@pytest.mark.parametrize(
    "pool, committed, n, amount, over",
    [
        (Pool("content_pool", "P1", "USDT", D("500.00")), D("400.00"), 4, D("100.00"), D("0.00")),
        (Pool("content_pool", "P1", "USDT", D("500.00")), D("400.00"), 4, D("100.01"), D("0.01")),
        (Pool("leaderboard", "ALL", "USDT", D("20000.00")), D("20000.00"), 10, D("2500.00"), D("2500.00")),
        (Pool("first_post", "ALL", "TRIAL_FUND", None), D("9000.00"), 300, D("30.00"), D("0.00")),
        (Pool("first_post", "ALL", "TRIAL_FUND", D("60.00"), 2), D("60.00"), 2, D("30.00"), D("30.00")),
        # A bonus amount lowered since: the money would fit, the count does not.
        (Pool("first_post", "ALL", "TRIAL_FUND", D("40.00"), 2), D("20.00"), 2, D("10.00"), D("10.00")),
    ],
)
def test_approval_excess_is_the_amount_over_the_pool_or_the_reward_too_many(pool, committed, n, amount, over):
    assert approval_excess(pool=pool, committed=committed, committed_rewards=n, amount=amount) == over


def test_the_budget_view_derives_approvable_and_excess():
    view = PoolBudget(pool=Pool("leaderboard", "ALL", "USDT", D("20000.00")), approved=D("15000.00"), paid=D("5000.00"), calculated=D("2500.00"))
    assert (view.committed, view.approvable, view.excess) == (D("20000.00"), D("0.00"), D("2500.00"))
    fits = PoolBudget(pool=Pool("content_pool", "P1", "USDT", D("500.00")), approved=D("100.00"), paid=D("0.00"), calculated=D("300.00"))
    assert (fits.approvable, fits.excess) == (D("400.00"), D("0.00"))
    unlimited = PoolBudget(pool=Pool("first_post", "ALL", "TRIAL_FUND", None), approved=D("30.00"), paid=D("0.00"), calculated=D("90.00"))
    assert (unlimited.approvable, unlimited.excess, unlimited.as_json()["pool"]) == (None, D("0.00"), None)


posts_strategy = st.lists(
    st.tuples(st.integers(1, 8), st.integers(0, 10_000), st.text("abc123", min_size=1, max_size=4)), min_size=0, max_size=40, unique_by=lambda t: t[2]
)


@given(posts_strategy, st.integers(0, 10), st.randoms(use_true_random=False))
def test_first_post_limit_keeps_the_earliest_first_posts_whatever_the_input_order(rows, limit, rnd):
    posts = [QualifiedPost(post_id=pid, uid=uid, created_at=START + timedelta(minutes=m), score=1) for uid, m, pid in rows]
    unlimited = first_post_awards(posts)
    limited = first_post_awards(posts, limit=limit)
    shuffled = list(posts)
    rnd.shuffle(shuffled)
    assert first_post_awards(shuffled, limit=limit) == limited
    assert len(limited) == min(limit, len(unlimited))
    # Each winner keeps its own first post, and nobody left out has an earlier first post.
    assert all(unlimited[uid] == post for uid, post in limited.items())
    if limited:
        latest = max(post.order_key for post in limited.values())
        assert all(post.order_key > latest for uid, post in unlimited.items() if uid not in limited)


def test_no_limit_and_a_zero_limit():
    posts = [QualifiedPost("a", 1, START, 1), QualifiedPost("b", 2, START, 1)]
    assert set(first_post_awards(posts, limit=None)) == {1, 2}
    assert first_post_awards(posts, limit=0) == {}
    with pytest.raises(ValueError):
        first_post_awards(posts, limit=-1)


@pytest.mark.parametrize(
    "held, computed, open_computed, last_kept, void, action",
    [
        (D("3000.00"), D("3000.00"), None, None, False, ReviewAction.NONE),
        (D("3000.00"), D("4000.00"), None, None, False, ReviewAction.OPEN),
        (D("3000.00"), D("4000.00"), D("4000.00"), None, False, ReviewAction.NONE),  # the open item says it already
        (D("3000.00"), D("3500.00"), D("4000.00"), None, False, ReviewAction.UPDATE),
        (D("3000.00"), D("3000.00"), D("4000.00"), None, False, ReviewAction.WITHDRAW),
        (D("3000.00"), D("4000.00"), None, D("4000.00"), False, ReviewAction.NONE),  # ops kept this amount
        (D("3000.00"), D("3500.00"), None, D("4000.00"), False, ReviewAction.OPEN),  # the computation moved on
        (D("30.00"), D("0.00"), None, None, True, ReviewAction.NONE),  # nothing is owed on a void reward
        (D("0.00"), D("30.00"), None, None, True, ReviewAction.OPEN),  # a void reward computed again
        (D("30.00"), D("0.00"), D("0.00"), None, True, ReviewAction.WITHDRAW),
    ],
)
def test_review_action(held, computed, open_computed, last_kept, void, action):
    assert review_action(held=held, computed=computed, open_computed=open_computed, last_kept=last_kept, void=void) == action


@given(st.lists(st.integers(0, 5), min_size=1, max_size=20))
def test_a_sequence_of_settlements_keeps_one_item_whose_amount_is_the_latest_computation(amounts):
    """Replaying settlements through review_action: at most one item is open at a time, and while
    one is open its amount is the latest computation, which differs from what the trader holds."""
    held, open_amount = D("2.00"), None
    for cents in amounts:
        computed = D(cents)
        action = review_action(held=held, computed=computed, open_computed=open_amount, last_kept=None, void=False)
        if action in (ReviewAction.OPEN, ReviewAction.UPDATE):
            open_amount = computed
        elif action == ReviewAction.WITHDRAW:
            open_amount = None
        assert open_amount is None or open_amount == computed != held
        assert open_amount is not None or computed == held
