"""Pure reward rules of RULES.md sections 4 to 6: plain data in, plain data out.

No ORM, clock, settings or I/O here; the settlement service loads rows, calls these functions
and persists what they return.
"""

from rewards.rules.content_pool import CreatorScore, PoolSplit, score_creators, split_content_pool
from rewards.rules.first_post import first_post_awards
from rewards.rules.leaderboard import (
    DEFAULT_TIERS,
    STRATEGIES,
    LeaderboardSplit,
    Ranked,
    rank_traders,
    split_leaderboard,
    validate_tiers,
)
from rewards.rules.money import CENT, format_money, largest_remainder, quantize_money
from rewards.rules.types import QualifiedPost, TraderStats

__all__ = [
    "CENT",
    "DEFAULT_TIERS",
    "STRATEGIES",
    "CreatorScore",
    "LeaderboardSplit",
    "PoolSplit",
    "QualifiedPost",
    "Ranked",
    "TraderStats",
    "first_post_awards",
    "format_money",
    "largest_remainder",
    "quantize_money",
    "rank_traders",
    "score_creators",
    "split_content_pool",
    "split_leaderboard",
    "validate_tiers",
]
