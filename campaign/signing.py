"""HMAC signatures for webhooks the exchange pushes to us (contract: docs/webhook-contract.md).

The sender signs `f"{timestamp}.{delivery_id}.".encode() + raw_body` with HMAC-SHA256 under the
shared secret and sends three headers: the signature (`sha256=<hex>`), the timestamp (integer
Unix seconds) and the delivery id. Signing the timestamp is what makes the age check meaningful:
an attacker cannot refresh the timestamp of a captured delivery without breaking the signature.
Signing the delivery id is what makes the replay check meaningful: a captured delivery resent
under a new id within the age window no longer verifies, so it cannot roll figures back.

The message is unambiguous: the timestamp is digits only and the delivery id has no ".", so the
first two dots of the signed bytes are always the separators and the body is all the rest.

Replays of the same id inside the age window are NOT caught here, because that needs storage: the
webhook view records each `X-Gate-Delivery` id in a table with a unique constraint and answers a
repeated id with 409 and no effect, so the sender stops retrying.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime

SIGNATURE_HEADER = "X-Gate-Signature"
TIMESTAMP_HEADER = "X-Gate-Timestamp"
DELIVERY_HEADER = "X-Gate-Delivery"
SIGNATURE_PREFIX = "sha256="
DEFAULT_MAX_AGE_SECONDS = 300
DELIVERY_ID_MAX_LENGTH = 200  # WebhookDelivery.delivery_id

# Digits only: int() would also take " 17", "+17" and "1_7", which a signer never sends.
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")
# No "." (the separator of the signed message) and nothing a header could bend: no spaces.
_DELIVERY_ID_RE = re.compile(r"[A-Za-z0-9_:-]{1,%d}" % DELIVERY_ID_MAX_LENGTH)
DELIVERY_ID_RULE = f"1 to {DELIVERY_ID_MAX_LENGTH} characters of A-Z a-z 0-9 _ : -"


class SignatureError(Exception):
    """A delivery that must be refused with HTTP `status`; `code` is stable for logs and clients."""

    status = 401

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class MissingSignatureError(SignatureError):
    def __init__(self, message: str = f"the {SIGNATURE_HEADER} header is missing"):
        super().__init__("missing_signature", message)


class BadSignatureError(SignatureError):
    def __init__(self, message: str = "the signature does not match the timestamp, delivery id and body"):
        super().__init__("bad_signature", message)


class BadTimestampError(SignatureError):
    def __init__(self, message: str):
        super().__init__("bad_timestamp", message)


class StaleTimestampError(SignatureError):
    def __init__(self, message: str):
        super().__init__("stale_timestamp", message)


class BadDeliveryError(SignatureError):
    """The delivery id is missing or not of the allowed characters: a malformed request (400)."""

    status = 400

    def __init__(self, delivery_id: str | None):
        missing = not delivery_id
        super().__init__(
            "missing_delivery" if missing else "bad_delivery",
            f"the {DELIVERY_HEADER} header is required ({DELIVERY_ID_RULE})"
            if missing
            else f"the {DELIVERY_HEADER} header must be {DELIVERY_ID_RULE}, got {delivery_id[:80]!r}",
        )


def _message(timestamp: str, delivery_id: str, body: bytes) -> bytes:
    return f"{timestamp}.{delivery_id}.".encode("ascii") + body


def sign(secret: str, timestamp: str, delivery_id: str, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 of `f"{timestamp}.{delivery_id}."` + body under `secret`.

    Raises ValueError for a timestamp that is not integer Unix seconds or a delivery id outside
    DELIVERY_ID_RULE: the door would refuse them, and they could make the message ambiguous.
    """
    if not isinstance(timestamp, str) or not _TIMESTAMP_RE.fullmatch(timestamp):
        raise ValueError(f"the timestamp must be integer Unix seconds, got {timestamp!r}")
    if not isinstance(delivery_id, str) or not _DELIVERY_ID_RE.fullmatch(delivery_id):
        raise ValueError(f"the delivery id must be {DELIVERY_ID_RULE}, got {delivery_id!r}")
    digest = hmac.new(secret.encode("utf-8"), _message(timestamp, delivery_id, body), hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def signed_headers(secret: str, body: bytes, *, now: datetime, delivery_id: str) -> dict[str, str]:
    """The headers a sender attaches to `body`; used by tests, the demo and any sender we write."""
    timestamp = str(int(now.timestamp()))
    return {
        SIGNATURE_HEADER: sign(secret, timestamp, delivery_id, body),
        TIMESTAMP_HEADER: timestamp,
        DELIVERY_HEADER: delivery_id,
    }


def verify(
    secret: str,
    timestamp: str | None,
    delivery_id: str | None,
    body: bytes,
    signature: str | None,
    *,
    now: datetime,
    max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS,
) -> None:
    """Return if `signature` is the sender's for (timestamp, delivery_id, body) and the timestamp
    is within `max_age_seconds` of `now`, past or future; raise a `SignatureError` subclass
    otherwise (`BadDeliveryError`, status 400, for a missing or malformed delivery id).

    The comparison is constant-time. The age is checked after the signature so that
    `stale_timestamp` always means an authentic but late (or replayed) delivery, never a forgery.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    if not signature or not signature.strip():
        raise MissingSignatureError()
    if timestamp is None or not _TIMESTAMP_RE.fullmatch(timestamp.strip()):
        raise BadTimestampError(
            f"the {TIMESTAMP_HEADER} header must be integer Unix seconds, got {timestamp!r}"
        )
    timestamp = timestamp.strip()
    if not delivery_id or not _DELIVERY_ID_RE.fullmatch(delivery_id):
        raise BadDeliveryError(delivery_id)
    expected = sign(secret, timestamp, delivery_id, body).encode("ascii")
    # Bytes on both sides: compare_digest refuses non-ASCII str, and a header may carry anything.
    given = signature.strip().encode("utf-8", "surrogatepass")
    if not hmac.compare_digest(expected, given):
        raise BadSignatureError()
    age = now.timestamp() - int(timestamp)
    if age > max_age_seconds:
        raise StaleTimestampError(f"the delivery is {int(age)} s old (limit {max_age_seconds} s)")
    if -age > max_age_seconds:
        raise StaleTimestampError(
            f"the delivery is dated {int(-age)} s in the future (limit {max_age_seconds} s)"
        )
