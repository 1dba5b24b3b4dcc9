"""Fixtures shared by the rewards tests."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.rewards.scenario import scenario_load


@pytest.fixture
def loaded(campaign):
    """The scenario of tests/rewards/scenario.py imported (registrations, sign-ups, stats, posts
    judged), not settled."""
    scenario_load(campaign)
    return campaign


@pytest.fixture
def root():
    """A test client logged in as a superuser, for the admin pages."""
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw-root-123456"))
    return client
