"""Fuzzing the signed webhook: whatever a sender puts in the body or the headers (huge fields,
deep nesting, huge bodies, bad UTF-8, odd delivery ids), the answer is a clear JSON verdict with
a 2xx or 4xx status, never a server error, nothing half-written stays behind, and the door's
memory for a body at the limit stays a small multiple of the body."""

import hashlib
import hmac
import json
import re
import tracemalloc

import pytest
from django.conf import settings
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from campaign import signing
from campaign.models import Post, WebhookDelivery
from tests.factories import post_item

pytestmark = pytest.mark.django_db
SLUG = "star-lead-traders-2"
LIMIT = 5 * 1024 * 1024
ANSWERS = {202, 400, 401, 404, 409, 413}

value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**25), max_value=10**25), st.floats(allow_nan=False), st.text(max_size=40)),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)
# Long strings without asking hypothesis to draw each character: a size and a character.
long_text = st.builds(lambda n, c: c * n, st.integers(min_value=0, max_value=300_000), st.sampled_from(["a", " ", "币", "😀", "\\", '"', "\x00", "\ud800"]))
post_like = st.fixed_dictionaries(
    {},
    optional={name: st.one_of(value, long_text) for name in ("post_id", "author_uid", "created_at", "text", "likes", "comments", "shares", "views", "deleted")},
)
deep = st.integers(min_value=1, max_value=200_000).map(lambda n: "[" * n + "]" * n)


def envelope(items, slug=SLUG) -> bytes:
    return json.dumps({"campaign": slug, "items": items}).encode()


def spoilt(body: bytes, at: int, bad: bytes) -> bytes:
    """`body` with bytes that are not UTF-8 (or a surrogate spelt in UTF-8) put in at `at`."""
    at %= len(body) + 1
    return body[:at] + bad + body[at:]


bodies = st.one_of(
    st.binary(max_size=200),
    value.map(lambda v: json.dumps(v).encode()),
    st.builds(envelope, st.lists(st.one_of(post_like, value), max_size=6), st.sampled_from([SLUG, "nope", "", "a\x00", "\ud800"])),
    # deep nesting: bare, as an item, and inside an otherwise good post
    deep.map(str.encode),
    deep.map(lambda d: f'{{"campaign": "{SLUG}", "items": [{d}]}}'.encode()),
    st.builds(lambda n: envelope([{**post_item("deep", 1), "extra": json.loads("[" * n + "]" * n)}]), st.integers(min_value=1, max_value=60)),
    # bad UTF-8 anywhere in a good delivery
    st.builds(spoilt, st.builds(envelope, st.lists(post_like, max_size=2)), st.integers(min_value=0), st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xef\xbb\xbf"])),
)
delivery_ids = st.one_of(
    st.from_regex(r"[A-Za-z0-9_:-]{1,200}", fullmatch=True),
    st.text(max_size=260),  # odd characters, dots, spaces, too long, empty
    st.sampled_from(["", ".", "a.b", "x" * 201, "a\nb", "签名", "d-1\x00"]),
)
counter = iter(range(10**9))


def signed(body: bytes, delivery_id: str) -> dict:
    """Headers signed as a sender would, whatever the delivery id (signed_headers refuses odd ones)."""
    timestamp = str(int(timezone.now().timestamp()))
    message = f"{timestamp}.{delivery_id}.".encode("utf-8", "surrogatepass") + body
    signature = "sha256=" + hmac.new(settings.WEBHOOK_SECRET.encode(), message, hashlib.sha256).hexdigest()
    return {signing.TIMESTAMP_HEADER: timestamp, signing.DELIVERY_HEADER: delivery_id, signing.SIGNATURE_HEADER: signature}


def assert_a_json_verdict(response, body, delivery):
    assert response.status_code in ANSWERS, response.content[:300]
    assert response["Content-Type"] == "application/json"
    payload = response.json()
    if response.status_code == 202:
        # Every item is either taken or rejected with its reason, and the delivery is recorded.
        assert WebhookDelivery.objects.filter(delivery_id=delivery).exists()
        items = json.loads(body)["items"]
        assert payload["accepted"] + len(payload["rejected"]) == len(items)
        assert all(r["reason"] for r in payload["rejected"])
    else:
        assert payload["error"] and payload["detail"]
        assert not WebhookDelivery.objects.filter(delivery_id=delivery).exists()
    return payload


@hsettings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(body=bodies)
def test_any_signed_body_gets_a_json_verdict_and_never_a_server_error(client, campaign, body, eager_tasks, django_capture_on_commit_callbacks):
    delivery = f"fuzz-{next(counter)}"
    headers = signing.signed_headers(settings.WEBHOOK_SECRET, body, now=timezone.now(), delivery_id=delivery)
    with django_capture_on_commit_callbacks(execute=True):  # the worker and the judging task, as after a real commit
        response = client.post("/hooks/posts/", data=body, content_type="application/json", headers=headers)
    assert response.status_code in ({413} if len(body) > LIMIT else {202, 400, 404}), response.content[:300]
    assert_a_json_verdict(response, body, delivery)
    if response.status_code == 202:
        assert WebhookDelivery.objects.get(delivery_id=delivery).processed_at is not None  # queued, then processed
    assert Post.objects.filter(verdict="pending").count() == 0  # nothing half-judged stays behind


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(delivery=delivery_ids)
def test_any_delivery_id_gets_a_json_verdict_and_only_a_well_formed_one_is_kept(client, campaign, delivery, django_capture_on_commit_callbacks):
    body = envelope([post_item(f"id-{next(counter)}", 1)])
    with django_capture_on_commit_callbacks():  # the door only
        response = client.post("/hooks/posts/", data=body, content_type="application/json", headers=signed(body, delivery))
    well_formed = re.fullmatch(r"[A-Za-z0-9_:-]{1,200}", delivery) is not None  # docs/webhook-contract.md
    expected = {202, 409} if well_formed else {400}
    assert response.status_code in expected, (delivery, response.content[:300])
    payload = response.json()
    assert payload.get("error") in (None, "replayed_delivery", "missing_delivery", "bad_delivery") and (payload.get("detail") or payload.get("status"))


@hsettings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(size=st.sampled_from([LIMIT - 1, LIMIT, LIMIT + 1, 6_000_000, 12_000_000]), signed_body=st.booleans())
def test_a_huge_body_is_taken_up_to_the_limit_and_a_json_413_past_it(client, campaign, size, signed_body, django_capture_on_commit_callbacks):
    delivery = f"huge-{next(counter)}"
    document = envelope([post_item(delivery, 1)])
    body = document + b" " * (size - len(document))
    headers = signed(body, delivery) if signed_body else {}
    with django_capture_on_commit_callbacks():  # the door only
        response = client.post("/hooks/posts/", data=body, content_type="application/json", headers=headers)
    payload = assert_a_json_verdict(response, body, delivery)
    if size > LIMIT:
        assert response.status_code == 413 and payload["detail"] == f"the body is {size:,} bytes; the limit is 5,242,880 bytes"
    else:
        assert response.status_code == (202 if signed_body else 401)


def _door_peak(client, body, delivery, captured):
    """Peak Python memory (tracemalloc) of the door taking `body`, in bytes."""
    headers = signed(body, delivery)
    tracemalloc.start()
    try:
        with captured():
            response = client.post("/hooks/posts/", data=body, content_type="application/json", headers=headers)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_a_json_verdict(response, body, delivery)
    return response, peak


def _at_the_limit(shape: str) -> bytes:
    """A delivery of exactly LIMIT bytes whose bulk is of one shape."""
    if shape == "one-huge-ascii-text":
        items = [post_item("big", 1, text="a" * (LIMIT - 400))]
    elif shape == "one-huge-chinese-text":
        items = [post_item("big", 1, text="币" * ((LIMIT - 400) // 3))]
    elif shape == "2000-posts":
        items = [post_item(f"{n:07d}", 1, text="x" * ((LIMIT - 600_000) // 2000)) for n in range(2000)]
    elif shape == "2000-posts-nested-to-the-limit":
        extra = json.loads("[" * 28 + "]" * 28)
        items = [{**post_item(f"{n:07d}", 1, text="x" * ((LIMIT - 700_000) // 2000)), "extra": extra} for n in range(2000)]
    elif shape == "one-post-with-a-million-empty-arrays":
        items = [{**post_item("wide", 1), "extra": [[]] * ((LIMIT - 600) // 3)}]
    elif shape == "millions-of-zeros-as-items":
        items = [0] * ((LIMIT - 100) // 2)
    else:
        raise AssertionError(shape)
    document = json.dumps({"campaign": SLUG, "items": items}, ensure_ascii=False, separators=(",", ":")).encode()
    assert LIMIT - 600_000 < len(document) <= LIMIT, (shape, len(document))
    return document + b" " * (LIMIT - len(document))


@pytest.mark.parametrize(
    "shape, status, bound",
    [
        ("one-huge-ascii-text", 202, 16),
        ("one-huge-chinese-text", 202, 16),
        ("2000-posts", 202, 16),
        ("2000-posts-nested-to-the-limit", 202, 16),
        # Python objects are larger than their JSON (a list is 56 bytes, `[],` 3): the worst shape.
        ("one-post-with-a-million-empty-arrays", 202, 64),
        ("millions-of-zeros-as-items", 400, 16),  # too_many_items: was 1 GB and minutes, 202 with a 136 MB answer
    ],
)
def test_the_doors_memory_for_a_body_at_the_limit_is_bounded_whatever_its_shape(client, campaign, shape, status, bound, django_capture_on_commit_callbacks):
    """A bounded multiple of the body, whatever its shape. Measured (tracemalloc, Python 3.11):
    posts 4 to 8 times the body on SQLite, 9 to 11 on PostgreSQL (psycopg's copy of the stored
    body); a million empty arrays 26 and 44 times. The body is decoded only once the signature
    holds, so only a holder of the secret can send the worst shapes."""
    body = _at_the_limit(shape)
    response, peak = _door_peak(client, body, f"mem-{next(counter)}", django_capture_on_commit_callbacks)
    assert response.status_code == status, response.content[:300]
    assert peak < bound * LIMIT, f"{shape}: {peak / 2**20:.0f} MiB for a {LIMIT / 2**20:.0f} MiB body"


def test_a_post_of_5_000_000_characters_is_refused_at_the_door_with_its_reason_and_the_rest_taken(client, campaign, django_capture_on_commit_callbacks):
    """Issue 15: such a post was stored and judged (19 s, 4.1 GB). The door refuses it with its
    reason (the campaign's text maximum, RULES.md section 9), takes the other post, and its
    memory stays a small multiple of the body."""
    body = envelope([post_item("huge-text", 1, text="a" * 5_000_000), post_item("fine", 1)])
    assert len(body) <= LIMIT
    response, peak = _door_peak(client, body, "huge-text-1", django_capture_on_commit_callbacks)
    assert response.status_code == 202 and peak < 16 * LIMIT
    assert response.json()["accepted"] == 1
    assert response.json()["rejected"] == [{"item": 1, "reason": "text is 5,000,000 characters; the campaign's maximum is 50,000"}]
