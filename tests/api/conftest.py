"""Fixtures of the API tests: tokens by scope, users with or without the ops permissions,
authenticated clients, and a settled campaign with rewards in every state."""

from datetime import datetime
from itertools import count

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from campaign.services import posts_import_file, signups_import
from core.api.tokens import api_token_create, api_tokens_revoke
from rewards.services import rewards_approve, settle_campaign
from tests.rewards.scenario import REGISTRATIONS, SIGNUPS, STATS, posts_jsonl
from traders.services import registrations_import, trader_stats_import

# The Django permissions the API's views name (README.md, API): a token acts with its user's.
INGEST_PERMS = ("core.add_importrun",)
READ_PERMS = (
    "campaign.view_campaign",
    "rewards.view_reward",
    "rewards.view_reviewitem",
    "rewards.view_adjustment",
    "rewards.view_settlementrun",
    "rewards.view_payoutreport",
    "rewards.add_payoutreport",
)
OPS_PERMS = (*READ_PERMS, "rewards.approve_reward", "rewards.pay_reward", "rewards.add_settlementrun", "rewards.view_statuslink")
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
_names = count(1)


@pytest.fixture(autouse=True)
def _generous_throttles(settings):
    """Throttling has its own test; elsewhere a shared cache (Redis in CI) must not make tests
    depend on what ran in the previous minute."""
    rates = {scope: "100000/min" for scope in django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]}
    settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


def grant(user, perms):
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return User.objects.get(pk=user.pk)  # drop the permission cache


@pytest.fixture
def make_user(db):
    def make(*, perms=(), staff=False):
        user = User.objects.create_user(f"user{next(_names)}", is_staff=staff)  # no password: no slow hashing
        return grant(user, perms)

    return make


@pytest.fixture
def make_token(make_user):
    """make_token("read", perms=..., revoked=...) -> the secret of a new token."""

    def make(*scopes, perms=(), revoked=False, user=None):
        user = user or make_user(perms=perms)
        token, secret = api_token_create(user=user, name=f"test {'+'.join(scopes)}", scopes=scopes, created_by="tests")
        if revoked:
            api_tokens_revoke(token_ids=[token.pk], by="tests")
        return secret

    return make


def token_client(secret, keyword="Bearer"):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {secret}")
    return client


@pytest.fixture
def ops_client(make_token):
    return token_client(make_token("ops", perms=OPS_PERMS))


@pytest.fixture
def ingest_client(make_token):
    return token_client(make_token("ingest", perms=INGEST_PERMS))


@pytest.fixture
def read_client(make_token):
    return token_client(make_token("read", perms=READ_PERMS))


@pytest.fixture
def settled(campaign, make_user):
    """The scenario of tests/rewards settled when due: 1001 and 1002 on the leaderboard, every
    reward calculated, and 1001's rewards approved."""
    registrations_import(data=REGISTRATIONS.encode())
    signups_import(campaign=campaign, data=SIGNUPS.encode())
    trader_stats_import(data=STATS.encode())
    posts_import_file(campaign=campaign, data=posts_jsonl().encode())
    run = settle_campaign(campaign=campaign, at=DUE)
    approver = make_user(perms=["rewards.approve_reward"])
    rewards_approve(reward_ids=list(run.rewards.filter(trader__uid=1001).values_list("pk", flat=True)), user=approver)
    return run

