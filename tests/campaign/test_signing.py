"""Webhook HMAC signing and verification (campaign/signing.py); pure, no database."""

import hashlib
import hmac
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from campaign import signing
from campaign.signing import (
    BadDeliveryError,
    BadSignatureError,
    BadTimestampError,
    MissingSignatureError,
    SignatureError,
    StaleTimestampError,
    sign,
    signed_headers,
    verify,
)

SECRET = "whsec-test-1"
BODY = b'{"post_id": "18230103", "likes": 64}'
NOW = datetime(2026, 2, 20, 12, 0, tzinfo=timezone.utc)
TS = str(int(NOW.timestamp()))
ID = "d-1"


def test_a_signature_is_the_hex_hmac_sha256_of_timestamp_dot_delivery_id_dot_body():
    # Spelled out with hmac directly, so a sender in another language can follow the recipe.
    expected = hmac.new(SECRET.encode(), f"{TS}.{ID}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, TS, ID, BODY) == "sha256=" + expected


def test_a_valid_signature_passes():
    verify(SECRET, TS, ID, BODY, sign(SECRET, TS, ID, BODY), now=NOW)


def test_signed_headers_verify_with_the_same_secret():
    headers = signed_headers(SECRET, BODY, now=NOW, delivery_id="d-1")
    assert headers[signing.DELIVERY_HEADER] == "d-1"
    verify(
        SECRET, headers[signing.TIMESTAMP_HEADER], "d-1", BODY, headers[signing.SIGNATURE_HEADER], now=NOW
    )


def test_a_tampered_body_is_a_bad_signature():
    signature = sign(SECRET, TS, ID, BODY)
    with pytest.raises(BadSignatureError) as caught:
        verify(SECRET, TS, ID, BODY.replace(b"64", b"6400"), signature, now=NOW)
    assert caught.value.code == "bad_signature"


def test_a_signature_made_with_another_secret_is_a_bad_signature():
    with pytest.raises(BadSignatureError):
        verify(SECRET, TS, ID, BODY, sign("someone-else", TS, ID, BODY), now=NOW)


def test_a_refreshed_timestamp_on_an_old_signature_is_a_bad_signature():
    old = str(int(NOW.timestamp()) - 3600)
    with pytest.raises(BadSignatureError):
        verify(SECRET, TS, ID, BODY, sign(SECRET, old, ID, BODY), now=NOW)


def test_a_signature_without_the_prefix_is_a_bad_signature():
    bare = sign(SECRET, TS, ID, BODY).removeprefix("sha256=")
    with pytest.raises(BadSignatureError):
        verify(SECRET, TS, ID, BODY, bare, now=NOW)


def test_a_non_ascii_signature_is_a_bad_signature_not_a_crash():
    with pytest.raises(BadSignatureError):
        verify(SECRET, TS, ID, BODY, "sha256=签名", now=NOW)


def test_a_delivery_older_than_five_minutes_is_stale():
    sent = NOW - timedelta(seconds=301)
    ts = str(int(sent.timestamp()))
    with pytest.raises(StaleTimestampError) as caught:
        verify(SECRET, ts, ID, BODY, sign(SECRET, ts, ID, BODY), now=NOW)
    assert caught.value.code == "stale_timestamp"


def test_a_delivery_exactly_five_minutes_old_still_passes():
    ts = str(int((NOW - timedelta(seconds=300)).timestamp()))
    verify(SECRET, ts, ID, BODY, sign(SECRET, ts, ID, BODY), now=NOW)


def test_a_delivery_dated_more_than_five_minutes_in_the_future_is_stale():
    ts = str(int((NOW + timedelta(seconds=301)).timestamp()))
    with pytest.raises(StaleTimestampError, match="future"):
        verify(SECRET, ts, ID, BODY, sign(SECRET, ts, ID, BODY), now=NOW)


def test_a_small_clock_skew_into_the_future_is_tolerated():
    ts = str(int((NOW + timedelta(seconds=30)).timestamp()))
    verify(SECRET, ts, ID, BODY, sign(SECRET, ts, ID, BODY), now=NOW)


def test_the_age_limit_can_be_tightened():
    ts = str(int((NOW - timedelta(seconds=61)).timestamp()))
    with pytest.raises(StaleTimestampError):
        verify(SECRET, ts, ID, BODY, sign(SECRET, ts, ID, BODY), now=NOW, max_age_seconds=60)


@pytest.mark.parametrize(
    "timestamp",
    ["abc", "", None, "1771588800.5", "-1771588800", "+1771588800", "2026-02-20T12:00:00Z"],
)
def test_a_timestamp_that_is_not_integer_unix_seconds_is_refused(timestamp):
    signature = "sha256=" + hmac.new(SECRET.encode(), f"{timestamp}.{ID}.".encode() + BODY, hashlib.sha256).hexdigest()
    with pytest.raises(BadTimestampError) as caught:
        verify(SECRET, timestamp, ID, BODY, signature, now=NOW)
    assert caught.value.code == "bad_timestamp"


@pytest.mark.parametrize("signature", [None, "", "   "])
def test_a_missing_signature_is_reported_as_missing(signature):
    with pytest.raises(MissingSignatureError) as caught:
        verify(SECRET, TS, ID, BODY, signature, now=NOW)
    assert caught.value.code == "missing_signature"


def test_every_refusal_is_a_signature_error_with_a_message():
    with pytest.raises(SignatureError) as caught:
        verify(SECRET, TS, ID, BODY, "sha256=00", now=NOW)
    assert caught.value.message


def test_a_naive_now_is_a_programming_error():
    with pytest.raises(ValueError):
        verify(SECRET, TS, ID, BODY, sign(SECRET, TS, ID, BODY), now=NOW.replace(tzinfo=None))


def test_a_captured_delivery_resent_under_another_id_is_a_bad_signature():
    """The replay of issue 15: same body, timestamp and signature, a new X-Gate-Delivery."""
    captured = sign(SECRET, TS, "d-1", BODY)
    with pytest.raises(BadSignatureError):
        verify(SECRET, TS, "d-2", BODY, captured, now=NOW)


@pytest.mark.parametrize("delivery_id, code", [(None, "missing_delivery"), ("", "missing_delivery")])
def test_a_missing_delivery_id_is_a_bad_request_not_an_authentication_failure(delivery_id, code):
    with pytest.raises(BadDeliveryError) as caught:
        verify(SECRET, TS, delivery_id, BODY, sign(SECRET, TS, ID, BODY), now=NOW)
    assert (caught.value.status, caught.value.code) == (400, code)


@pytest.mark.parametrize("delivery_id", ["d.1", "1.x", " d-1", "d-1 ", "d 1", "d/1", "d\n1", "é-1", "d-1\x00", "x" * 201, "{", "签"])
def test_a_delivery_id_outside_its_characters_is_refused_before_any_signature_is_computed(delivery_id):
    # A "." in the id could move the boundary between id and body: "a.b" + "{...}" and "a" + "b.{...}".
    with pytest.raises(BadDeliveryError) as caught:
        verify(SECRET, TS, delivery_id, BODY, "sha256=" + "0" * 64, now=NOW)
    assert (caught.value.status, caught.value.code) == (400, "bad_delivery")
    with pytest.raises(ValueError):
        sign(SECRET, TS, delivery_id, BODY)


def test_the_longest_delivery_id_and_every_allowed_character_pass():
    for delivery_id in ("x" * 200, "AZaz09_:-", "3f2b8c1e-7d4a-4b6f-9e21-0c5d8a7b6e43", "gate:post:18230103"):
        verify(SECRET, TS, delivery_id, BODY, sign(SECRET, TS, delivery_id, BODY), now=NOW)


def test_a_sender_cannot_sign_a_timestamp_the_door_would_refuse():
    with pytest.raises(ValueError):
        sign(SECRET, "1771588800.5", ID, BODY)


def _worked_example():
    """The fixed inputs and the signature of the worked example in docs/webhook-contract.md."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "webhook-contract.md").read_text(encoding="utf-8")
    section = doc.split("## Worked example", 1)[1]
    return {name: re.search(rf"^{name}\s+(\S.*)$", section, re.M).group(1) for name in ("secret", "timestamp", "delivery", "body", "signature")}


def test_the_worked_example_of_the_contract_is_what_sign_computes():
    example = _worked_example()
    body = example["body"].encode("utf-8")
    assert len(body) == 256  # as the page says
    assert sign(example["secret"], example["timestamp"], example["delivery"], body) == example["signature"]
    signed_at = datetime.fromtimestamp(int(example["timestamp"]), tz=timezone.utc)
    verify(example["secret"], example["timestamp"], example["delivery"], body, example["signature"], now=signed_at)
    headers = signed_headers(example["secret"], body, now=signed_at, delivery_id=example["delivery"])
    assert headers[signing.SIGNATURE_HEADER] == example["signature"]
