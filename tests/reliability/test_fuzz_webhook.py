"""Fuzzing the signed webhook: whatever a correctly signed body holds, the answer is a clear
JSON verdict, never a server error, and nothing half-written stays behind."""

import json

import pytest
from django.conf import settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st

from campaign import signing
from campaign.models import Post, WebhookDelivery

pytestmark = pytest.mark.django_db

value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**25), max_value=10**25), st.floats(allow_nan=False), st.text(max_size=40)),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)
post_like = st.fixed_dictionaries(
    {},
    optional={name: value for name in ("post_id", "author_uid", "created_at", "text", "likes", "comments", "shares", "views", "deleted")},
)
bodies = st.one_of(
    st.binary(max_size=200),
    value.map(lambda v: json.dumps(v).encode()),
    st.builds(lambda items, slug: json.dumps({"campaign": slug, "items": items}).encode(), st.lists(st.one_of(post_like, value), max_size=6), st.sampled_from(["star-lead-traders-2", "nope", ""])),
)
counter = iter(range(10**9))


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=bodies)
def test_any_signed_body_gets_a_json_verdict_and_never_a_server_error(client, campaign, body, eager_tasks, django_capture_on_commit_callbacks):
    delivery = f"fuzz-{next(counter)}"
    headers = signing.signed_headers(settings.WEBHOOK_SECRET, body, now=timezone.now(), delivery_id=delivery)
    with django_capture_on_commit_callbacks(execute=True):  # the judging task, as after a real commit
        response = client.post("/hooks/posts/", data=body, content_type="application/json", headers=headers)
    assert response.status_code in {202, 400, 404}, response.content[:300]
    payload = response.json()
    if response.status_code == 202:
        # Every item is either taken or rejected with its reason, and the delivery is recorded.
        assert WebhookDelivery.objects.filter(delivery_id=delivery, processed_at__isnull=False).exists()  # queued, then processed
        items = json.loads(body)["items"]
        assert payload["accepted"] + len(payload["rejected"]) == len(items)
        assert all(r["reason"] for r in payload["rejected"])
    else:
        assert payload["error"] and payload["detail"]
        assert not WebhookDelivery.objects.filter(delivery_id=delivery).exists()
    assert Post.objects.filter(verdict="pending").count() == 0  # nothing half-judged stays behind
