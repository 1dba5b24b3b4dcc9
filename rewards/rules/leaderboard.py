"""Top-10 leaderboard (RULES.md section 6).

Ranking: enrolled traders with at least 3 qualifying posts in the window, by
``content + 5 x new_copiers + 0.01 x max(0, copier_pnl_usdt)``, kept as an exact ``Fraction``
("scores keep every digit"); ties to the higher content score, then the earlier first
qualifying post instant, then the lower uid. Ranks run 1, 2, 3, ... and are never shared.

Splitting the pool among the paid places (``len(tiers)``, 10 by default):

- ``tiers``: rank i gets ``tiers[i-1]``. With fewer ranked traders than places the unused tiers
  stay unallocated (RULES.md says so for this strategy).
- ``proportional``: the pool is shared in proportion to score among the traders in the paid
  places; ``equal``: it is shared equally among them. RULES.md does not say what happens to
  unused places under these two; we read "share" literally: the WHOLE pool is shared among the
  traders actually ranked (3 ranked traders share all 20,000.00), and only an empty leaderboard
  (or, under ``proportional``, all scores 0) leaves money unallocated.

Rounding for ``proportional`` and ``equal`` is ``money.largest_remainder``: floor each exact share
to 0.01, then one cent each to the largest remainders lost; ties to the higher score, then the
lower uid (``proportional``), or to the better rank (``equal``, where every remainder ties, so
the extra cents go to ranks 1, 2, ...). A 0.00 amount gets no row.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

# The configuration (defaults, strategies, the tier table's rule) is the campaign's.
from campaign.terms import (
    DEFAULT_COPIER_WEIGHT,
    DEFAULT_LEADERBOARD_MIN_POSTS,
    DEFAULT_PNL_WEIGHT,
    DEFAULT_TIERS,
    STRATEGIES,
    STRATEGY_PROPORTIONAL,
    STRATEGY_TIERS,
    validate_tiers,
)
from rewards.rules.money import (
    from_cents,
    largest_remainder,
    require_whole_cents,
    to_cents,
    to_fraction,
)
from rewards.rules.types import NO_STATS, QualifiedPost, TraderStats, unique_posts


@dataclass(frozen=True)
class Ranked:
    """One row of the leaderboard. ``score`` is exact: ``0.01 x 12.345`` stays ``0.12345``."""

    rank: int
    uid: int
    score: Fraction
    content_score: int
    qualifying_posts: int
    first_post_at: datetime
    new_copiers: int
    copier_pnl_usdt: Decimal


@dataclass(frozen=True)
class LeaderboardSplit:
    """The result of :func:`split_leaderboard`; ``amounts`` is ordered by rank.

    ``ranked`` holds the traders in the paid places (the first ``len(tiers)`` ranks);
    ``sum(amounts) == allocated`` and ``allocated + unallocated == pool``.
    """

    amounts: dict[int, Decimal]
    ranked: tuple[Ranked, ...]
    allocated: Decimal
    unallocated: Decimal
    strategy: str


def rank_traders(
    posts: Iterable[QualifiedPost],
    stats: Mapping[int, TraderStats],
    *,
    min_posts: int = DEFAULT_LEADERBOARD_MIN_POSTS,
    copier_weight: Decimal = DEFAULT_COPIER_WEIGHT,
    pnl_weight: Decimal = DEFAULT_PNL_WEIGHT,
    size: int | None = None,
) -> list[Ranked]:
    """Rank the traders of the window (RULES.md section 6).

    ``posts``: the qualifying posts of enrolled traders in the window (the caller filters).
    ``stats``: each trader's chosen snapshot; a missing uid counts as 0 copiers and 0 pnl.
    Traders with at least ``min_posts`` posts are ranked by
    ``content + copier_weight x new_copiers + pnl_weight x max(0, copier_pnl_usdt)``, computed
    as a ``Fraction`` with no rounding at all.

    Invariants: order is score desc, content score desc, earlier first qualifying post
    (instant), lower uid; since uids are distinct no two rows tie, so ranks are 1..n, never
    shared, and the result does not depend on input order. ``size`` keeps the first ``size``
    rows (``None``: all, for the dashboard). A repeated ``post_id`` raises ``ValueError``.
    """
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise ValueError(f"size must be None or a non-negative int, got {size!r}")
    if isinstance(min_posts, bool) or not isinstance(min_posts, int) or min_posts < 0:
        raise ValueError(f"min_posts must be a non-negative int, got {min_posts!r}")
    copier_weight_exact = to_fraction(copier_weight)
    pnl_weight_exact = to_fraction(pnl_weight)

    by_uid: dict[int, list[QualifiedPost]] = defaultdict(list)
    for post in unique_posts(posts):
        by_uid[post.uid].append(post)

    rows = []
    for uid, trader_posts in by_uid.items():
        if len(trader_posts) < min_posts:
            continue
        trader_stats = stats.get(uid, NO_STATS)
        content = sum(post.score for post in trader_posts)
        score = (
            Fraction(content)
            + copier_weight_exact * trader_stats.new_copiers
            + pnl_weight_exact * max(Fraction(0), to_fraction(trader_stats.copier_pnl_usdt))
        )
        # The earliest post by (instant, post_id), so that which aware datetime is kept does
        # not depend on input order when two posts share an instant in different offsets.
        first = min(trader_posts, key=lambda post: post.order_key)
        rows.append((score, content, first.created_at, uid, len(trader_posts), trader_stats))

    rows.sort(key=lambda row: (-row[0], -row[1], row[2], row[3]))
    if size is not None:
        rows = rows[:size]
    return [
        Ranked(
            rank=position,
            uid=uid,
            score=score,
            content_score=content,
            qualifying_posts=count,
            first_post_at=first_at,
            new_copiers=trader_stats.new_copiers,
            copier_pnl_usdt=trader_stats.copier_pnl_usdt,
        )
        for position, (score, content, first_at, uid, count, trader_stats) in enumerate(rows, 1)
    ]


def split_leaderboard(
    ranked: Sequence[Ranked],
    *,
    strategy: str = STRATEGY_TIERS,
    tiers: Sequence[Decimal] = DEFAULT_TIERS,
    pool: Decimal | None = None,
) -> LeaderboardSplit:
    """Pay the leaderboard pool to the paid places (see the module docstring for the reading).

    ``ranked`` is the full ranking in rank order (ranks 1..n, as :func:`rank_traders` returns);
    the first ``len(tiers)`` rows are paid. ``pool`` defaults to ``sum(tiers)``; under ``tiers`` it
    must cover the tiers, and whatever the tiers do not use is unallocated.

    Invariants: ``sum(amounts) == allocated``, ``allocated + unallocated == pool``, no 0.00 rows,
    amounts are whole cents. Rounding: none for ``tiers`` (amounts are validated to the cent);
    largest remainder for ``proportional`` (ties: higher score, then lower uid) and ``equal``
    (ties: better rank). Raises ``ValueError`` for an unknown strategy, a bad tier table, a bad
    pool or ranks that are not 1..n in order.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown leaderboard strategy {strategy!r}; expected one of {STRATEGIES}")
    tier_amounts = validate_tiers(tiers)
    tiers_cents = sum(to_cents(amount) for amount in tier_amounts)
    pool_cents = tiers_cents if pool is None else require_whole_cents(pool, name="pool")
    if pool_cents < 0:
        raise ValueError(f"pool must not be negative, got {pool}")
    if strategy == STRATEGY_TIERS and pool_cents < tiers_cents:
        raise ValueError(f"pool {pool} is smaller than the tiers' sum {from_cents(tiers_cents)}")
    ranks = [row.rank for row in ranked]
    if ranks != list(range(1, len(ranks) + 1)):
        raise ValueError("ranked must be in rank order with ranks 1, 2, 3, ...")

    paid = tuple(ranked[: len(tier_amounts)])
    if strategy == STRATEGY_TIERS:
        amounts = {row.uid: tier_amounts[row.rank - 1] for row in paid}
    elif strategy == STRATEGY_PROPORTIONAL:
        amounts = _split_proportional(paid, pool_cents)
    else:
        amounts = _split_equal(paid, pool_cents)

    amounts = {uid: amount for uid, amount in amounts.items() if amount > 0}
    allocated_cents = sum(to_cents(amount) for amount in amounts.values())
    return LeaderboardSplit(
        amounts=amounts,
        ranked=paid,
        allocated=from_cents(allocated_cents),
        unallocated=from_cents(pool_cents - allocated_cents),
        strategy=strategy,
    )


def _split_proportional(paid: tuple[Ranked, ...], pool_cents: int) -> dict[int, Decimal]:
    total_score = sum((row.score for row in paid), Fraction(0))
    if total_score == 0:
        # Nobody has a positive score (or nobody is ranked): the pool stays unallocated.
        return {}
    pool = Fraction(pool_cents, 100)
    exact = {row.uid: pool * row.score / total_score for row in paid}
    scores = {row.uid: row.score for row in paid}
    return largest_remainder(
        exact,
        total=from_cents(to_cents(sum(exact.values(), Fraction(0)))),
        priority=lambda uid: (-scores[uid], uid),
    )


def _split_equal(paid: tuple[Ranked, ...], pool_cents: int) -> dict[int, Decimal]:
    if not paid:
        return {}
    exact = {row.uid: Fraction(pool_cents, 100 * len(paid)) for row in paid}
    ranks = {row.uid: row.rank for row in paid}
    return largest_remainder(
        exact,
        total=from_cents(to_cents(sum(exact.values(), Fraction(0)))),
        priority=lambda uid: (ranks[uid],),
    )
