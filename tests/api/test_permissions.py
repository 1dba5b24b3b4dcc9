"""Who may call what. Two views of one rule: a token grants its scopes, and its user's Django
permissions (the ones the admin checks for the same data or action) still apply.

- The matrix: every endpoint against every kind of caller. Columns: anonymous; a token with scope
  ingest, read, ops (its user holds every permission the API names); read and ops tokens whose
  user holds none; a revoked ops token; a staff session with every permission; one with none.
  2xx: the request went through; 401: no (valid) credentials; 403: the scope or the permission is
  missing.
- Per endpoint, from the URLconf: each permission a view names is needed (a token whose user
  lacks it is a 403 naming it), and with them the request goes through; a new endpoint that names
  no permission, or has no example request here, fails.
"""

import json
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient
from rest_framework.views import APIView

from campaign.models import Post
from core.api.permissions import DenyAll, PublicRead, required_perms, required_scopes
from rewards.models import ReviewItem, Reward, SettlementRun, StatusLink
from rewards.selectors.links import status_link_token
from rewards.services import rewards_approve, settle_campaign
from tests.api.conftest import DUE, INGEST_PERMS, OPS_PERMS, token_client
from traders.models import Trader

pytestmark = pytest.mark.django_db

ALL_PERMS = (*INGEST_PERMS, *OPS_PERMS)
PRINCIPALS = ("anonymous", "ingest", "read", "ops", "read_without_perms", "ops_without_perms", "revoked", "staff", "staff_without_perms")
SLUG = "star-lead-traders-2"
TASK_ID = "0b6f3a52-5d1e-4c1a-9a57-6c0e3f1d2b7a"  # the settled run's, as if the API had started it
REGISTRATION = {"uid": 7001, "nickname": "m", "market": "futures", "status": "approved", "applied_at": "2026-02-01T10:00:00+08:00", "approved_at": None}
STATS = {"uid": 7001, "as_of": "2026-02-20T00:00:00Z", "new_copiers": 3, "copier_pnl_usdt": "12.50"}
SIGNUP = {"uid": 7001, "submitted_at": "2026-02-13T10:00:00+08:00", "square_handle": "m", "contact": ""}
POST = {"post_id": "m1", "author_uid": 7001, "created_at": "2026-02-14T10:00:00+08:00", "text": "hello", "likes": 1, "comments": 0, "shares": 0, "views": 0, "deleted": False}
INGEST = (401, 200, 403, 403, 403, 403, 401, 200, 403)
READ = (401, 403, 200, 200, 403, 403, 401, 200, 403)
OPS = (401, 403, 403, 200, 403, 403, 401, 200, 403)
OPS_202 = tuple(202 if code == 200 else code for code in OPS)
PUBLIC = (200,) * len(PRINCIPALS)

# fmt: off
#            method  path template                                     body                              who gets what
MATRIX = [
    ("POST", "/api/v1/registrations/",                         [REGISTRATION],                   INGEST),
    ("POST", "/api/v1/trader-stats/",                          [STATS],                          INGEST),
    ("POST", "/api/v1/campaigns/{slug}/signups/",              [SIGNUP],                         INGEST),
    ("POST", "/api/v1/campaigns/{slug}/posts/",                [POST],                           INGEST),
    # Signed by the shared secret only: no token or session opens it.
    ("POST", "/api/v1/hooks/posts/",                           {"campaign": SLUG, "items": []},  (401,) * len(PRINCIPALS)),
    ("GET",  "/api/v1/campaigns/{slug}/leaderboard/",          None,                             PUBLIC),
    ("GET",  "/api/v1/status/{token}/",                        None,                             PUBLIC),
    ("GET",  "/api/v1/rewards/",                               None,                             READ),
    ("POST", "/api/v1/rewards/approve/",                       {"reward_ids": "{reward}"},       OPS),
    # 1002's rewards are calculated: mark-paid refuses them by state but answers 200.
    ("POST", "/api/v1/rewards/mark-paid/",                     {"reward_ids": "{reward}", "reference": "MATRIX-1"}, OPS),
    ("POST", "/api/v1/campaigns/{slug}/settlements/",          {},                               OPS_202),
    ("GET",  "/api/v1/campaigns/{slug}/status-links/{uid}/",   None,                             OPS),
    ("GET",  "/api/v1/settlements/{task_id}/",                 None,                             READ),
    ("GET",  "/api/v1/settlement-runs/",                       None,                             READ),
    ("GET",  "/api/v1/settlement-runs/{id}/",                  None,                             READ),
    ("GET",  "/api/v1/campaigns/{slug}/payout-report.csv",     None,                             READ),
    ("GET",  "/api/v1/campaigns/{slug}/payout-report.xlsx",    None,                             READ),
    ("GET",  "/api/v1/payout-reports/",                        None,                             READ),
    ("GET",  "/api/v1/review-items/",                          None,                             READ),
    # `settled` has no review item: whoever may read gets as far as the 404.
    ("GET",  "/api/v1/review-items/{item_id}/",                None,                             tuple(404 if code == 200 else code for code in READ)),
    ("POST", "/api/v1/review-items/accept/",                   {"item_ids": [1], "note": "matrix"}, OPS),
    ("POST", "/api/v1/review-items/keep/",                     {"item_ids": [1], "note": "matrix"}, OPS),
    ("GET",  "/api/v1/adjustments/",                           None,                             READ),
    ("GET",  "/api/v1/campaigns/{slug}/budgets/",              None,                             READ),
    ("GET",  "/api/v1/campaigns/{slug}/adjustments.csv",       None,                             READ),
    ("GET",  "/api/v1/campaigns/{slug}/adjustments.xlsx",      None,                             READ),
    ("GET",  "/api/schema/",                                   None,                             PUBLIC),
    ("GET",  "/api/docs/",                                     None,                             PUBLIC),
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
            client.force_login(make_user(staff=True, perms=ALL_PERMS if principal == "staff" else ()))
            return client
        scope = {"ingest": "ingest", "read": "read", "read_without_perms": "read"}.get(principal, "ops")
        perms = () if principal.endswith("_without_perms") else ALL_PERMS
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


def send(client, method, url, body=None):
    if method == "GET":
        return client.get(url)
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def api_started(settled):
    """The settled run, as if a settlement started through the API had run it under TASK_ID."""
    SettlementRun.objects.filter(pk=settled.pk).update(task_id=TASK_ID)
    return settled


@pytest.mark.parametrize("method, path, body, principal, expected", CASES)
def test_the_permission_matrix(api_started, client_for, method, path, body, principal, expected):
    settled = api_started
    link = StatusLink.objects.create(campaign=settled.campaign, trader=Trader.objects.get(uid=1001))
    values = {
        "slug": SLUG,
        "token": status_link_token(link),
        "task_id": TASK_ID,
        "id": settled.pk,
        "item_id": 999999,
        "uid": 1002,
        "reward": Reward.objects.filter(trader__uid=1002, preview=False).values_list("pk", flat=True).first(),
    }
    response = send(client_for(principal), method, path.format(**values), fill(body, values))
    assert response.status_code == expected, response.content[:300]


def test_the_matrix_covers_every_operation_of_the_schema(client):
    schema = client.get("/api/schema/?format=json").json()
    documented = {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}
    tested = {(method, path) for method, path, _, _ in MATRIX if path.startswith("/api/v1/")}
    assert documented == tested


# --- Per endpoint, from the URLconf --------------------------------------------------------------


def _api_views(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _api_views(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.name, getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)


def openapi_path(route: str) -> str:
    """A URLconf route as the schema spells it: /api/v1/settlement-runs/{id}/ (drf-spectacular says id for pk)."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route).replace("{pk}", "{id}")


def api_endpoints() -> list[tuple[str, str, str, type]]:
    """(route, url name, method, view class) of every operation under /api/v1/, from the URLconf."""
    found = []
    for route, name, view in _api_views(get_resolver().url_patterns):
        if route.startswith("api/v1/") and name != "api-not-found":
            found += [(route, name, method.upper(), view) for method in ("get", "post", "put", "patch", "delete") if hasattr(view, method)]
    return found


# Not behind a token: the public reads (PublicRead), and the webhook, whose credential is its
# HMAC signature (tests/campaign).
PUBLIC_ENDPOINTS = {"api-leaderboard-get", "api-trader-status-get", "api-posts-webhook"}

# One request per operation that its permissions let through: url kwargs and body. A new
# endpoint fails test_every_endpoint_has_an_example until it has one here.
EXAMPLES = {
    ("api-registrations-upsert", "POST"): ({}, [REGISTRATION]),
    ("api-trader-stats-upsert", "POST"): ({}, [STATS]),
    ("api-signups-upsert", "POST"): ({"slug": SLUG}, [SIGNUP]),
    ("api-posts-upsert", "POST"): ({"slug": SLUG}, [POST]),
    ("api-rewards-list", "GET"): ({}, None),
    ("api-rewards-approve", "POST"): ({}, {"reward_ids": "{reward}"}),
    ("api-rewards-mark-paid", "POST"): ({}, {"reward_ids": "{reward}", "reference": "PERMS-1"}),
    ("api-review-items-list", "GET"): ({}, None),
    ("api-review-item-get", "GET"): ({"item_id": "{item_id}"}, None),
    ("api-review-items-accept", "POST"): ({}, {"item_ids": ["{item_id}"], "note": "perms"}),
    ("api-review-items-keep", "POST"): ({}, {"item_ids": ["{item_id}"], "note": "perms"}),
    ("api-adjustments-list", "GET"): ({}, None),
    ("api-budgets-get", "GET"): ({"slug": SLUG}, None),
    ("api-settlement-start", "POST"): ({"slug": SLUG}, {}),
    ("api-settlement-get", "GET"): ({"task_id": TASK_ID}, None),
    ("api-settlement-runs-list", "GET"): ({}, None),
    ("api-settlement-run-get", "GET"): ({"pk": "{run}"}, None),
    ("api-payout-report-csv", "GET"): ({"slug": SLUG}, None),
    ("api-payout-report-xlsx", "GET"): ({"slug": SLUG}, None),
    ("api-adjustments-report-csv", "GET"): ({"slug": SLUG}, None),
    ("api-adjustments-report-xlsx", "GET"): ({"slug": SLUG}, None),
    ("api-payout-reports-list", "GET"): ({}, None),
    ("api-status-link-get", "GET"): ({"slug": SLUG, "uid": 1002}, None),
}

PROTECTED = [(route, name, method, view) for route, name, method, view in api_endpoints() if name not in PUBLIC_ENDPOINTS]
PER_PERMISSION = [
    pytest.param(name, method, view, perm, id=f"{method}-{route}-without-{perm}")
    for route, name, method, view in PROTECTED
    for perm in required_perms(view.permission_classes) or ["(none named)"]
]


@pytest.fixture
def review_item(api_started, make_user):
    """An open review item of 1002's approved leaderboard reward, first place once 1001's posts are
    gone (1001's approved rewards get items too)."""
    rewards_approve(reward_ids=list(api_started.rewards.filter(trader__uid=1002, kind="leaderboard").values_list("pk", flat=True)), user=make_user(perms=OPS_PERMS))
    Post.objects.filter(author__uid=1001).update(deleted=True, judged_at=None)
    settle_campaign(campaign=api_started.campaign, at=DUE)
    return ReviewItem.objects.get(reward__trader__uid=1002)


def example_request(name, method, run, item):
    values = {"item_id": item.pk, "run": run.pk, "reward": Reward.objects.filter(trader__uid=1002, preview=False, state="calculated").values_list("pk", flat=True).first()}
    kwargs, body = EXAMPLES[(name, method)]
    return reverse(name, kwargs={k: fill(v, values) for k, v in kwargs.items()}), fill(body, values)


def test_every_endpoint_has_an_example_and_names_its_scope_and_permissions():
    endpoints = api_endpoints()
    assert len(endpoints) >= 24
    assert {(name, method) for _, name, method, _ in PROTECTED} == set(EXAMPLES)
    for route, name, _method, view in endpoints:
        if name in PUBLIC_ENDPOINTS:
            assert not issubclass(view, APIView) or view.permission_classes == [PublicRead], route
            continue
        assert required_scopes(view.permission_classes), f"{route} names no scope"
        assert required_perms(view.permission_classes), f"{route} names no Django permission"


@pytest.mark.parametrize("name, method, view, perm", PER_PERMISSION)
def test_a_token_whose_user_lacks_a_permission_of_the_endpoint_is_refused(review_item, make_token, name, method, view, perm):
    perms = required_perms(view.permission_classes)
    assert perm in perms, "the endpoint names no Django permission"
    url, body = example_request(name, method, review_item.settlement_run, review_item)
    scope = required_scopes(view.permission_classes)[0]
    refused = send(token_client(make_token(scope, perms=[p for p in perms if p != perm])), method, url, body)
    assert refused.status_code == 403 and refused.json() == {"error": "permission_denied", "detail": refused.json()["detail"]}
    assert perm in refused.json()["detail"]


@pytest.mark.parametrize("name, method, view", [pytest.param(name, method, view, id=f"{method}-{route}") for route, name, method, view in PROTECTED])
def test_a_token_whose_user_holds_the_permissions_of_the_endpoint_goes_through(review_item, make_token, name, method, view):
    url, body = example_request(name, method, review_item.settlement_run, review_item)
    scope = required_scopes(view.permission_classes)[0]
    response = send(token_client(make_token(scope, perms=required_perms(view.permission_classes))), method, url, body)
    assert 200 <= response.status_code < 300, response.content[:300]


@pytest.mark.parametrize("name, method, view", [pytest.param(name, method, view, id=f"{method}-{route}") for route, name, method, view in PROTECTED])
def test_a_staff_session_needs_the_same_permissions(review_item, make_user, name, method, view):
    url, body = example_request(name, method, review_item.settlement_run, review_item)
    perms = required_perms(view.permission_classes)
    client = APIClient()
    client.force_login(make_user(staff=True, perms=perms[1:]))
    assert send(client, method, url, body).status_code == 403
    client.force_login(make_user(staff=True, perms=perms))
    assert 200 <= send(client, method, url, body).status_code < 300


def test_every_api_view_names_its_permission_classes():
    views = [(route, view) for route, _, view in _api_views(get_resolver().url_patterns) if route.startswith("api/v1/")]
    assert len(views) >= 17
    for route, view in views:
        if not issubclass(view, APIView):
            assert route == "api/v1/hooks/posts/", f"{route} is not a DRF view"
            continue
        assert "permission_classes" in {name for klass in view.__mro__[:-3] for name in vars(klass)}, route
        assert DenyAll not in view.permission_classes, route


def test_the_schema_names_the_scope_and_permissions_of_each_operation(client):
    schema = client.get("/api/schema/?format=json").json()
    for route, name, method, view in PROTECTED:
        path = openapi_path(route)
        forbidden = schema["paths"][path][method.lower()]["responses"]["403"]["description"]
        assert forbidden.startswith("The token lacks the scope, or its user the permission"), path
        for needed in (*required_scopes(view.permission_classes), *required_perms(view.permission_classes)):
            assert f"`{needed}`" in forbidden, (path, needed)


def test_the_readme_lists_every_endpoint_with_its_scope_and_permissions():
    readme = (Path(django_settings.BASE_DIR) / "README.md").read_text()
    rows = {}
    for line in readme.splitlines():
        line = line.strip()
        cells = [cell.strip() for cell in line.strip("|").split("|")] if line.startswith("|") else []
        if len(cells) == 3 and cells[1].startswith("`") and "/api/v1/" in cells[1]:
            for endpoint in re.findall(r"`([A-Z]+ /api/v1/[^`]*)`", cells[1]):
                rows[endpoint] = (set(re.findall(r"`(\w+)`", cells[0])), set(re.findall(r"`([\w.]+\.[\w]+)`", cells[2])))
    for route, name, method, view in PROTECTED:
        endpoint = f"{method} {openapi_path(route)}"
        assert endpoint in rows, f"README.md's API table lacks {endpoint}"
        assert rows[endpoint] == (set(required_scopes(view.permission_classes)), set(required_perms(view.permission_classes))), endpoint


def test_a_session_post_without_the_csrf_token_is_refused(make_user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(make_user(staff=True, perms=INGEST_PERMS))
    response = client.post("/api/v1/registrations/", data=json.dumps([REGISTRATION]), content_type="application/json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
