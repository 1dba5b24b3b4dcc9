"""Fixtures shared by the rewards tests."""

import pytest

from campaign.services import posts_import_file, signups_import
from tests.rewards.scenario import REGISTRATIONS, SIGNUPS, STATS, posts_jsonl
from traders.services import registrations_import, trader_stats_import


@pytest.fixture
def loaded(campaign):
    """The scenario of tests/rewards/scenario.py imported (registrations, sign-ups, stats, posts
    judged), not settled."""
    registrations_import(data=REGISTRATIONS.encode())
    signups_import(campaign=campaign, data=SIGNUPS.encode())
    trader_stats_import(data=STATS.encode())
    assert posts_import_file(campaign=campaign, data=posts_jsonl().encode()).ok
    return campaign
