"""API tokens: stored hashed, shown once, revocable, scoped, stamped when used, throttled."""

import hashlib
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from core.api.tokens import api_token_authenticate, api_token_create
from core.models import ApiToken
from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db


def test_only_the_hash_of_the_secret_is_stored(make_user):
    token, secret = api_token_create(user=make_user(), name="crm", scopes=["read"])
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert row["key_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(row["prefix"] + ".") and len(secret) > 50
    assert not any(secret in str(value) for value in row.values())


def test_an_unknown_scope_is_refused(make_user):
    with pytest.raises(ValueError, match="unknown scope"):
        api_token_create(user=make_user(), name="x", scopes=["admin"])


@pytest.mark.parametrize("keyword", ["Token", "Bearer", "bearer"])
def test_both_header_keywords_authenticate(make_token, keyword):
    assert token_client(make_token("read", perms=["rewards.view_reward"]), keyword=keyword).get("/api/v1/rewards/").status_code == 200


@pytest.mark.parametrize(
    "header, detail",
    [
        ("Bearer", "expected 'Authorization: Token <secret>' or 'Bearer <secret>'"),
        ("Bearer a b", "expected 'Authorization: Token <secret>' or 'Bearer <secret>'"),
        ("Bearer gsq_00000000.nope", "invalid token"),
        ("Token no-dot-here", "invalid token"),
    ],
)
def test_a_malformed_or_unknown_token_is_a_401(header, detail):
    response = APIClient().get("/api/v1/rewards/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401 and response.json() == {"error": "authentication_failed", "detail": detail}


def test_a_right_prefix_with_a_wrong_secret_is_refused(make_token):
    secret = make_token("read")
    forged = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    assert token_client(forged).get("/api/v1/rewards/").status_code == 401


def test_an_expired_token_and_an_inactive_user_are_refused(make_user):
    token, expired = api_token_create(user=make_user(), name="old", scopes=["read"], expires_at=timezone.now() - timedelta(seconds=1))
    assert token_client(expired).get("/api/v1/rewards/").json()["detail"] == "this token has expired"
    user = make_user()
    _, secret = api_token_create(user=user, name="gone", scopes=["read"])
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert token_client(secret).get("/api/v1/rewards/").json()["detail"] == "the token's user is inactive"


def test_last_used_is_stamped_at_most_once_a_minute(make_user):
    token, secret = api_token_create(user=make_user(), name="x", scopes=["read"])
    first = api_token_authenticate(secret).last_used_at
    assert first is not None
    assert api_token_authenticate(secret).last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    assert api_token_authenticate(secret).last_used_at > first - timedelta(minutes=2)


def test_a_token_acts_with_its_users_django_permissions(make_user, make_token, settled):
    reward = settled.rewards.filter(trader__uid=1002, preview=False).first()
    response = token_client(make_token("ops")).post("/api/v1/rewards/approve/", {"reward_ids": [reward.pk]}, format="json")
    assert response.status_code == 403 and "rewards.approve_reward" in response.json()["detail"]


def test_ops_create_a_token_in_the_admin_and_see_the_secret_once(client, make_user):
    admin = User.objects.create_superuser("root", "root@example.com", None)
    client.force_login(admin)
    owner = make_user(perms=["rewards.view_reward"])
    response = client.post(
        "/admin/core/apitoken/add/", {"name": "finance sheet", "user": owner.pk, "scopes": ["read"], "expires_at": ""}, follow=True
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    (message,) = [str(m) for m in response.context["messages"] if "<code>" in str(m)]
    secret = message.split("<code>")[1].split("</code>")[0]
    assert hashlib.sha256(secret.encode()).hexdigest() == token.key_hash
    assert (token.user, token.scopes, token.created_by) == (owner, ["read"], "root")
    assert token_client(secret).get("/api/v1/rewards/").status_code == 200
    # The change page never shows it again.
    assert secret not in client.get(f"/admin/core/apitoken/{token.pk}/change/").content.decode()

    client.post("/admin/core/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == "root"
    assert token_client(secret).get("/api/v1/rewards/").json()["detail"] == "this token has been revoked"
    assert client.get(f"/admin/core/apitoken/{token.pk}/delete/").status_code == 403


def test_requests_over_the_scope_rate_are_throttled(make_user, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "read": "2/min"}}
    token, secret = api_token_create(user=make_user(perms=["rewards.view_reward"]), name="x", scopes=["read"])
    cache.delete(f"throttle_read_token{token.pk}")  # the cache may be shared (Redis) and pks reused
    client = token_client(secret)
    assert [client.get("/api/v1/rewards/").status_code for _ in range(2)] == [200, 200]
    response = client.get("/api/v1/rewards/")
    assert response.status_code == 429 and response.json()["error"] == "throttled" and int(response["Retry-After"]) > 0
    # A second token of the same user has its own budget.
    _, other = api_token_create(user=token.user, name="y", scopes=["read"])
    cache.delete(f"throttle_read_token{token.pk + 1}")
    assert token_client(other).get("/api/v1/rewards/").status_code == 200
