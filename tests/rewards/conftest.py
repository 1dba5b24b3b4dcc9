"""Fixtures shared by the rewards tests."""

import pytest

from tests.rewards.scenario import scenario_load


@pytest.fixture
def loaded(campaign):
    """The scenario of tests/rewards/scenario.py imported (registrations, sign-ups, stats, posts
    judged), not settled."""
    scenario_load(campaign)
    return campaign
