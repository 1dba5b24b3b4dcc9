"""Who may call what: every endpoint against every kind of caller, as one table.

Columns: anonymous; a token with scope ingest, read, ops (its user holds the ops permissions),
ops whose user lacks them; a revoked ops token; a staff session with the ops permissions; a staff
session without them. 2xx means the request went through; 401 no (valid) credentials; 403 the
scope or the Django permission is missing.
"""

import json
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient
from rest_framework.views import APIView

from rewards.models import Reward, StatusLink
from rewards.selectors import status_link_token
from tests.api.conftest import OPS_PERMS, token_client
from traders.api.permissions import DenyAll
from traders.models import Trader

pytestmark = pytest.mark.django_db

PRINCIPALS = ("anonymous", "ingest", "read", "ops", "ops_without_perms", "revoked", "staff", "staff_without_perms")
SLUG = "star-lead-traders-2"
REGISTRATION = {"uid": 7001, "nickname": "m", "market": "futures", "status": "approved", "applied_at": "2026-02-01T10:00:00+08:00", "approved_at": None}
STATS = {"uid": 7001, "as_of": "2026-02-20T00:00:00Z", "new_copiers": 3, "copier_pnl_usdt": "12.50"}
SIGNUP = {"uid": 7001, "submitted_at": "2026-02-13T10:00:00+08:00", "square_handle": "m", "contact": ""}
POST = {"post_id": "m1", "author_uid": 7001, "created_at": "2026-02-14T10:00:00+08:00", "text": "hello", "likes": 1, "comments": 0, "shares": 0, "views": 0, "deleted": False}

# fmt: off
#            method  path template                                     body                    anon ingest read ops  ops-np revoked staff staff-np
MATRIX = [
    ("POST", "/api/v1/registrations/",                         [REGISTRATION],                   (401, 200, 403, 403, 403, 401, 200, 200)),
    ("POST", "/api/v1/trader-stats/",                          [STATS],                          (401, 200, 403, 403, 403, 401, 200, 200)),
    ("POST", "/api/v1/campaigns/{slug}/signups/",              [SIGNUP],                         (401, 200, 403, 403, 403, 401, 200, 200)),
    ("POST", "/api/v1/campaigns/{slug}/posts/",                [POST],                           (401, 200, 403, 403, 403, 401, 200, 200)),
    # Signed by the shared secret only: no token or session opens it.
    ("POST", "/api/v1/hooks/posts/",                           {"campaign": SLUG, "items": []},  (401, 401, 401, 401, 401, 401, 401, 401)),
    ("GET",  "/api/v1/campaigns/{slug}/leaderboard/",          None,                             (200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET",  "/api/v1/status/{token}/",                        None,                             (200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET",  "/api/v1/rewards/",                               None,                             (401, 403, 200, 200, 200, 401, 200, 200)),
    ("POST", "/api/v1/rewards/approve/",                       {"reward_ids": "{reward}"},       (401, 403, 403, 200, 403, 401, 200, 403)),
    ("POST", "/api/v1/rewards/mark-paid/",                     {"reward_ids": "{reward}", "reference": "MATRIX-1"},
                                                                                                 (401, 403, 403, 200, 403, 401, 200, 403)),
    ("POST", "/api/v1/campaigns/{slug}/settlements/",          {},                               (401, 403, 403, 202, 403, 401, 202, 403)),
    ("GET",  "/api/v1/settlements/{task_id}/",                 None,                             (401, 403, 200, 200, 200, 401, 200, 200)),
    ("GET",  "/api/v1/settlement-runs/",                       None,                             (401, 403, 200, 200, 200, 401, 200, 200)),
    ("GET",  "/api/v1/settlement-runs/{id}/",                  None,                             (401, 403, 200, 200, 200, 401, 200, 200)),
    ("GET",  "/api/v1/campaigns/{slug}/payout-report.csv",     None,                             (401, 403, 200, 200, 200, 401, 200, 200)),
    ("GET",  "/api/v1/campaigns/{slug}/payout-report.xlsx",    None,                             (401, 403, 200, 200, 200, 401, 200, 200)),
    ("GET",  "/api/v1/payout-reports/",                        None,                             (401, 403, 200, 200, 200, 401, 200, 200)),
    ("GET",  "/api/v1/review-items/",                          None,                             (401, 403, 200, 200, 200, 401, 200, 200)),
    ("GET",  "/api/v1/review-items/{item_id}/",                None,                             (401, 403, 404, 404, 404, 401, 404, 404)),
    ("POST", "/api/v1/review-items/accept/",                   {"item_ids": [1], "note": "matrix"},
                                                                                                 (401, 403, 403, 200, 403, 401, 200, 403)),
    ("POST", "/api/v1/review-items/keep/",                     {"item_ids": [1], "note": "matrix"},
                                                                                                 (401, 403, 403, 200, 403, 401, 200, 403)),
    ("GET",  "/api/v1/adjustments/",                           None,                             (401, 403, 200, 200, 200, 401, 200, 200)),
    ("GET",  "/api/v1/campaigns/{slug}/budgets/",              None,                             (401, 403, 200, 200, 200, 401, 200, 200)),
    ("GET",  "/api/v1/campaigns/{slug}/adjustments.csv",       None,                             (401, 403, 200, 200, 200, 401, 200, 200)),
    ("GET",  "/api/v1/campaigns/{slug}/adjustments.xlsx",      None,                             (401, 403, 200, 200, 200, 401, 200, 200)),
    ("GET",  "/api/schema/",                                   None,                             (200, 200, 200, 200, 200, 200, 200, 200)),
    ("GET",  "/api/docs/",                                     None,                             (200, 200, 200, 200, 200, 200, 200, 200)),
]
# fmt: on
CASES = [
    pytest.param(method, path, body, principal, expected[i], id=f"{principal}-{method}-{path}")
    for method, path, body, expected in MATRIX
    for i, principal in enumerate(PRINCIPALS)
]


@pytest.fixture
def client_for(make_user, make_token):
    def build(principal):
        if principal == "anonymous":
            return APIClient()
        if principal in ("staff", "staff_without_perms"):
            client = APIClient()
            client.force_login(make_user(staff=True, perms=OPS_PERMS if principal == "staff" else ()))
            return client
        scope = {"ingest": "ingest", "read": "read"}.get(principal, "ops")
        perms = OPS_PERMS if principal in ("ops", "revoked") else ()
        return token_client(make_token(scope, perms=perms, revoked=principal == "revoked"))

    return build


def fill(value, values):
    if isinstance(value, str):
        if value == "{reward}":
            return [values["reward"]]
        return value.format(**values)
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    return value


@pytest.mark.parametrize("method, path, body, principal, expected", CASES)
def test_the_permission_matrix(settled, client_for, method, path, body, principal, expected):
    link = StatusLink.objects.create(campaign=settled.campaign, trader=Trader.objects.get(uid=1001))
    values = {
        "slug": SLUG,
        "token": status_link_token(link),
        "task_id": uuid.uuid4(),
        "id": settled.pk,
        "item_id": 999999,  # `settled` has no review item: a reader gets as far as the 404
        # 1002's rewards are calculated: approvable; mark-paid refuses them by state but answers 200.
        "reward": Reward.objects.filter(trader__uid=1002, preview=False).values_list("pk", flat=True).first(),
    }
    client = client_for(principal)
    url = path.format(**values)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data=json.dumps(fill(body, values)), content_type="application/json")
    assert response.status_code == expected, response.content[:300]


def test_the_matrix_covers_every_operation_of_the_schema(client):
    schema = client.get("/api/schema/?format=json").json()
    documented = {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}
    tested = {(method, path) for method, path, _, _ in MATRIX if path.startswith("/api/v1/")}
    assert documented == tested


def _api_views(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _api_views(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)


def test_every_api_view_names_its_permission_classes():
    views = [(route, view) for route, view in _api_views(get_resolver().url_patterns) if route.startswith("api/v1/")]
    assert len(views) >= 17
    for route, view in views:
        if not issubclass(view, APIView):
            assert route == "api/v1/hooks/posts/", f"{route} is not a DRF view"
            continue
        assert "permission_classes" in {name for klass in view.__mro__[:-3] for name in vars(klass)}, route
        assert DenyAll not in view.permission_classes, route


def test_a_session_post_without_the_csrf_token_is_refused(make_user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(make_user(staff=True))
    response = client.post("/api/v1/registrations/", data=json.dumps([REGISTRATION]), content_type="application/json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
