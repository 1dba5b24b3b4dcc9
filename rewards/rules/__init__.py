"""Pure reward rules of RULES.md sections 4 to 6: plain data in, plain data out.

No ORM, clock, settings or I/O here; the settlement service loads rows, calls these functions
and persists what they return. Their parameters default to the rulebook's, which the campaign
owns with the rest of its configuration (`campaign.terms`, pure as well): `DEFAULT_TIERS`,
`STRATEGIES` and `validate_tiers` are re-exported from there.
"""

from campaign.terms import DEFAULT_TIERS, STRATEGIES, validate_tiers
from rewards.rules.content_pool import CreatorScore, PoolSplit, score_creators, split_content_pool
from rewards.rules.first_post import first_post_awards
from rewards.rules.leaderboard import LeaderboardSplit, Ranked, rank_traders, split_leaderboard
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
