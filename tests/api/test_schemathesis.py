"""Schemathesis against the live schema: generated requests to every operation, positive and
negative, sent through the Django WSGI application with a token that holds every scope (its user
every permission the API names); then hostile bodies to every operation that takes one: a huge
field (up to 5,000,000 characters), JSON nested too deep, a body over MAX_BODY_BYTES.

No answer may be a server error, and every answer must match what the schema documents (status,
content type, headers, body). Bounded: a few examples per operation and mode, and a time budget.
"""

import os
import time
from collections import Counter

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from campaign.models import Post
from campaign.services import posts_import_file, signups_import
from core.api.tokens import api_token_create
from core.models import ApiToken
from rewards.models import ReviewItem, SettlementRun, StatusLink
from rewards.selectors.links import status_link_token
from rewards.services import rewards_approve, settle_campaign
from tests.api.conftest import DUE, INGEST_PERMS, OPS_PERMS, grant
from tests.rewards.scenario import REGISTRATIONS, SIGNUPS, STATS, posts_jsonl
from traders.models import Trader
from traders.services import registrations_import, trader_stats_import

# A deeper run by hand: SCHEMATHESIS_EXAMPLES=200 SCHEMATHESIS_BUDGET=600 pytest tests/api/test_schemathesis.py -s
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", 15))
BUDGET_SECONDS = int(os.environ.get("SCHEMATHESIS_BUDGET", 120))


@pytest.fixture
def data(transactional_db, campaign, eager_tasks):
    registrations_import(data=REGISTRATIONS.encode())
    signups_import(campaign=campaign, data=SIGNUPS.encode())
    trader_stats_import(data=STATS.encode())
    posts_import_file(campaign=campaign, data=posts_jsonl().encode())
    run = settle_campaign(campaign=campaign, at=DUE)
    link = StatusLink.objects.create(campaign=campaign, trader=Trader.objects.get(uid=1001))
    user = grant(User.objects.create_user("schemathesis"), (*INGEST_PERMS, *OPS_PERMS))
    _, secret = api_token_create(user=user, name="schemathesis", scopes=ApiToken.Scope.values)
    # A review item: 1002's approved leaderboard reward, first place once 1001's posts are gone.
    rewards_approve(reward_ids=list(run.rewards.filter(trader__uid=1002, kind="leaderboard").values_list("pk", flat=True)), user=user)
    Post.objects.filter(author__uid=1001).update(deleted=True, judged_at=None)
    settle_campaign(campaign=campaign, at=DUE)
    item = ReviewItem.objects.get()
    task_id = "5c3e7a1e-2f64-4d0a-8f5b-3a1d9c0e7b42"  # the first run, as if the API had started it
    SettlementRun.objects.filter(pk=run.pk).update(task_id=task_id)
    return secret, {"slug": campaign.slug, "token": status_link_token(link), "id": run.pk, "item_id": item.pk, "task_id": task_id, "uid": 1002}


@pytest.mark.usefixtures("ledger_invariants")
def test_no_server_error_and_every_answer_matches_the_schema(data):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    secret, path_values = data
    headers = {"Authorization": f"Bearer {secret}"}
    deadline = time.monotonic() + BUDGET_SECONDS
    statuses, per_op, failures, unsatisfiable, operations = Counter(), Counter(), [], [], 0

    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            # Positive cases target the real campaign, status link and run, so that they reach the
            # services and selectors; negative cases draw the path parameters as well.
            known = {k: v for k, v in path_values.items() if mode is GenerationMode.POSITIVE and f"{{{k}}}" in operation.path}

            @settings(
                max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
            )  # fmt: skip
            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=known or None))
            def check(case):
                if time.monotonic() > deadline:
                    return
                # The record batches take any array and judge each record (200 with the reasons),
                # so by design they do not refuse a record that breaks the documented format.
                response = case.call_and_validate(headers=headers, excluded_checks=[negative_data_rejection])
                statuses[response.status_code] += 1
                per_op[(case.operation.label, response.status_code)] += 1

            try:
                check()
            except Unsatisfiable:
                # Nothing is schema-invalid about some operations (no constrained input at all).
                unsatisfiable.append(f"{operation.label} ({mode.value})")
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, reported together below
                failures.append(f"{operation.label} ({mode.value}): {str(exc)[:1500]}")

    for (label, status), n in sorted(per_op.items()):
        print(f"  {label} -> {status}: {n}")
    print(f"schemathesis: {operations} operations, {sum(statuses.values())} requests, statuses {dict(sorted(statuses.items()))}, no negative case: {unsatisfiable}")
    assert operations >= 17 and len({label for label, _ in per_op}) == operations, "an operation got no request"
    # Every operation succeeded at least once, but two that need what no generator can guess: the
    # webhook's signature, and ids of existing rewards for a payment (else a documented 409).
    succeeded = {label for label, status in per_op if status < 300}
    assert {label for label, _ in per_op} - succeeded <= {"POST /api/v1/hooks/posts/", "POST /api/v1/rewards/mark-paid/"}
    assert not [code for code in statuses if code >= 500]
    assert not failures, "\n\n".join(failures)
    assert time.monotonic() < deadline, "the time budget ran out before every operation was tried"


# --- Hostile bodies -------------------------------------------------------------------------------

HUGE_SIZES = (10_000, 200_000, 5_000_000)


def _string_paths(value, path=()):
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _string_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _string_paths(item, (*path, index))


def _replaced(value, path, new):
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copy


def _nested(depth: int):
    """[[[...{"uid": 1}...]]]: an array nested `depth` deep around an object."""
    value = {"uid": 1}
    for _ in range(depth - 1):
        value = [value]
    return value


def _documented(case, response) -> bool:
    return str(response.status_code) in case.operation.definition.raw["responses"]


@pytest.mark.usefixtures("ledger_invariants")
def test_huge_fields_deep_nesting_and_huge_bodies_never_get_a_server_error(data):
    """Every operation that takes a body, with: one string of a valid body made huge (a batch
    answers 200 and refuses that record with its reason; the others a documented 400), the body
    nested deeper than the parser takes (400 parse_error), and a body over MAX_BODY_BYTES (413
    too_large). Every answer documented, JSON, never a 5xx."""
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    secret, path_values = data
    headers = {"Authorization": f"Bearer {secret}"}
    limit = django_settings.MAX_BODY_BYTES
    seen, failures = Counter(), []
    operations = [result.ok() for result in schema.get_all_operations()]
    with_body = [op for op in operations if op.method.upper() == "POST"]
    assert len(with_body) >= 10

    for operation in with_body:
        known = {k: v for k, v in path_values.items() if f"{{{k}}}" in operation.path}

        @settings(max_examples=4, deadline=None, database=None, derandomize=True, phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=known or None), pick=st.integers(0, 50), size=st.sampled_from(HUGE_SIZES))
        def huge_field(case, pick, size):
            paths = list(_string_paths(case.body)) if isinstance(case.body, (dict, list)) else []
            if paths:
                case.body = _replaced(case.body, paths[pick % len(paths)], "x" * size)
            # A huge field may break the documented format (a maxLength): either answer is fine.
            response = case.call_and_validate(headers=headers, excluded_checks=[negative_data_rejection, positive_data_acceptance])
            seen[(operation.label, "huge field", response.status_code)] += 1

        try:
            huge_field()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, reported together below
            failures.append(f"{operation.label} (huge field): {str(exc)[:1500]}")

        for name, body, status, code in [
            ("nested 300 deep", _nested(300), 400, "parse_error"),
            ("nested 500 deep", _nested(500), 400, "parse_error"),
            ("over the body limit", [{"uid": 1, "nickname": "x" * limit}], 413, "too_large"),
        ]:
            case = operation.Case(body=body, media_type="application/json", path_parameters=known or None)
            response = case.call(headers=headers)
            seen[(operation.label, name, response.status_code)] += 1
            problems = []
            if response.status_code >= 500 or not _documented(case, response):
                problems.append(f"status {response.status_code} (documented: {sorted(case.operation.definition.raw['responses'])})")
            content_type = (response.headers.get("content-type") or [""])[0]  # lowercase keys, list values
            if not content_type.startswith("application/json"):
                problems.append(f"content type {content_type!r}")
            elif operation.path != "/api/v1/hooks/posts/" and (response.status_code, response.json().get("error")) != (status, code):
                # The webhook checks its signature first (401): the token opens no webhook.
                problems.append(f"answered {response.status_code} {response.text[:200]}")
            if problems:
                failures.append(f"{operation.label} ({name}): {'; '.join(problems)}")

    for key, n in sorted(seen.items()):
        print(f"  {key[0]} [{key[1]}] -> {key[2]}: {n}")
    assert not [key for key in seen if key[2] >= 500]
    assert not failures, "\n\n".join(failures)
