"""Biweekly content pool (RULES.md section 5).

For one content period: each creator's score is the sum of their 5 best qualifying post scores;
creators below 10 get nothing; the pool (500.00) is shared in proportion to score with a cap
(100.00) per creator, the excess going to the uncapped creators in proportion to their scores
until nobody exceeds the cap. What nobody can take stays unallocated. Shares are exact
``Fraction`` values until one rounding step: floor to the cent, then largest remainder.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from campaign.terms import DEFAULT_POOL_AMOUNT, DEFAULT_POOL_CAP, DEFAULT_POOL_MIN_SCORE, DEFAULT_POOL_TOP_POSTS
from rewards.rules.money import (
    from_cents,
    largest_remainder,
    require_whole_cents,
    to_cents,
    to_fraction,
)
from rewards.rules.types import QualifiedPost, unique_posts


@dataclass(frozen=True)
class CreatorScore:
    """A creator's score for one period and the posts that make it up (best first)."""

    uid: int
    score: int
    post_ids: tuple[str, ...]


@dataclass(frozen=True)
class PoolSplit:
    """The result of :func:`split_content_pool`; every mapping is ordered by uid.

    - ``shares``: the payable amounts, two decimals, no 0.00 rows; they sum to ``allocated``.
    - ``creator_scores``: every creator's score, those below the minimum included.
    - ``eligible``: uids at or above the minimum score, ascending.
    - ``exact``: each eligible creator's exact share after capping, before rounding.
    - ``allocated``: the exact allocated total floored to 0.01; ``allocated + unallocated == pool``.
    - ``capped``: uids whose share was cut down to the cap, ascending.
    - ``creators``: each creator's score with the post ids counted in it.
    """

    shares: dict[int, Decimal]
    creator_scores: dict[int, int]
    eligible: tuple[int, ...]
    exact: dict[int, Fraction]
    allocated: Decimal
    unallocated: Decimal
    capped: tuple[int, ...]
    creators: dict[int, CreatorScore]


def score_creators(
    posts: Iterable[QualifiedPost], *, top_posts: int = DEFAULT_POOL_TOP_POSTS
) -> dict[int, CreatorScore]:
    """Return each creator's score: the sum of their ``top_posts`` highest post scores.

    ``posts`` are the qualifying posts created in one period. Among equal post scores the
    earlier post (``created_at``, then ``post_id``) is listed first, which only decides which ids
    are reported, never the score. Independent of input order; a repeated ``post_id`` raises.
    """
    if isinstance(top_posts, bool) or not isinstance(top_posts, int) or top_posts < 1:
        raise ValueError(f"top_posts must be a positive int, got {top_posts!r}")
    by_uid: dict[int, list[QualifiedPost]] = defaultdict(list)
    for post in unique_posts(posts):
        by_uid[post.uid].append(post)
    creators = {}
    for uid in sorted(by_uid):
        best = sorted(by_uid[uid], key=lambda p: (-p.score, p.order_key))[:top_posts]
        creators[uid] = CreatorScore(
            uid=uid, score=sum(p.score for p in best), post_ids=tuple(p.post_id for p in best)
        )
    return creators


def cap_shares(
    scores: dict[int, int], *, pool: Fraction, cap: Fraction | None
) -> tuple[dict[int, Fraction], frozenset[int]]:
    """Share ``pool`` in proportion to ``scores`` with a per-creator ``cap``, exactly.

    Each round shares what is left among the uncapped creators in proportion to their scores;
    every creator whose share exceeds the cap gets the cap and leaves the round. Capping all
    of them at once gives the same result as one at a time: a share only grows as others are
    capped, so a creator above the cap in one round stays above it in every later round.
    Stops when nobody exceeds the cap; if everyone is capped the rest is simply not shared.
    Returns the exact shares (sum <= pool, each <= cap) and the set of capped uids.
    """
    exact: dict[int, Fraction] = {}
    capped: set[int] = set()
    active = dict(scores)
    remaining = pool
    while active:
        active_total = sum(active.values())
        if active_total == 0:
            # Only reachable with a minimum score of 0: zero scores earn a zero share.
            exact.update({uid: Fraction(0) for uid in active})
            break
        shares = {uid: remaining * score / active_total for uid, score in active.items()}
        over = [uid for uid, share in shares.items() if cap is not None and share > cap]
        if not over:
            exact.update(shares)
            break
        for uid in over:
            exact[uid] = cap
            capped.add(uid)
            del active[uid]
        remaining -= cap * len(over)
    return exact, frozenset(capped)


def split_content_pool(
    posts: Iterable[QualifiedPost],
    *,
    pool: Decimal = DEFAULT_POOL_AMOUNT,
    cap: Decimal | None = DEFAULT_POOL_CAP,
    min_score: int = DEFAULT_POOL_MIN_SCORE,
    top_posts: int = DEFAULT_POOL_TOP_POSTS,
) -> PoolSplit:
    """Split one period's content pool among its creators (RULES.md section 5, exactly).

    ``posts``: the qualifying posts created in the period (the caller filters by period).
    ``cap=None`` means no cap. ``pool`` and ``cap`` must be whole cents and non-negative.

    Invariants: ``sum(shares) == allocated``; ``allocated + unallocated == pool``; no share
    exceeds ``cap``; a creator below ``min_score`` has no share; with scores s1 > s2 the first
    creator's share is at least the second's; the result does not depend on input order.

    Rounding: each exact share is floored to 0.01; ``allocated`` is the exact allocated total
    floored to 0.01; the cents in between go one each to the largest remainders lost, ties to
    the higher score, then the lower uid, never above the cap (``money.largest_remainder``).
    A creator whose rounded share is 0.00 gets no row in ``shares``.
    """
    pool_cents = require_whole_cents(pool, name="pool")
    if pool_cents < 0:
        raise ValueError(f"pool must not be negative, got {pool}")
    if cap is not None and require_whole_cents(cap, name="cap") < 0:
        raise ValueError(f"cap must not be negative, got {cap}")
    if isinstance(min_score, bool) or not isinstance(min_score, int):
        raise ValueError(f"min_score must be an int, got {min_score!r}")

    creators = score_creators(posts, top_posts=top_posts)
    creator_scores = {uid: creator.score for uid, creator in creators.items()}
    eligible = {uid: score for uid, score in creator_scores.items() if score >= min_score}

    exact, capped = cap_shares(
        eligible, pool=to_fraction(pool), cap=None if cap is None else to_fraction(cap)
    )
    allocated_cents = to_cents(sum(exact.values(), Fraction(0)))
    rounded = largest_remainder(
        exact,
        total=from_cents(allocated_cents),
        priority=lambda uid: (-eligible[uid], uid),
        cap=cap,
    )
    return PoolSplit(
        shares={uid: amount for uid, amount in sorted(rounded.items()) if amount > 0},
        creator_scores=creator_scores,
        eligible=tuple(sorted(eligible)),
        exact=dict(sorted(exact.items())),
        allocated=from_cents(allocated_cents),
        unallocated=from_cents(pool_cents - allocated_cents),
        capped=tuple(sorted(capped)),
        creators=creators,
    )
