"""HMAC signatures for webhooks the exchange pushes to us.

The sender signs `f"{timestamp}.".encode() + raw_body` with HMAC-SHA256 under the shared secret and
sends three headers: the signature (`sha256=<hex>`), the timestamp (integer Unix seconds) and a
delivery id. Signing the timestamp with the body is what makes the age check meaningful: an
attacker cannot refresh the timestamp of a captured delivery without breaking the signature.

Replays inside the age window are NOT caught here, because that needs storage: the webhook view
records each `X-Gate-Delivery` id in a table with a unique constraint and answers a repeated id
with 200 and no effect, so the sender stops retrying.
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

# Digits only: int() would also take " 17", "+17" and "1_7", which a signer never sends.
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")


class SignatureError(Exception):
    """A delivery that must be refused (HTTP 401 or 400); `code` is stable for logs and clients."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class MissingSignatureError(SignatureError):
    def __init__(self, message: str = f"the {SIGNATURE_HEADER} header is missing"):
        super().__init__("missing_signature", message)


class BadSignatureError(SignatureError):
    def __init__(self, message: str = "the signature does not match the body"):
        super().__init__("bad_signature", message)


class BadTimestampError(SignatureError):
    def __init__(self, message: str):
        super().__init__("bad_timestamp", message)


class StaleTimestampError(SignatureError):
    def __init__(self, message: str):
        super().__init__("stale_timestamp", message)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 of `f"{timestamp}."` + body under `secret`."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256
    ).hexdigest()
    return SIGNATURE_PREFIX + digest


def signed_headers(secret: str, body: bytes, *, now: datetime, delivery_id: str) -> dict[str, str]:
    """The headers a sender attaches to `body`; used by tests, the demo and any sender we write."""
    timestamp = str(int(now.timestamp()))
    return {
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        TIMESTAMP_HEADER: timestamp,
        DELIVERY_HEADER: delivery_id,
    }


def verify(
    secret: str,
    timestamp: str | None,
    body: bytes,
    signature: str | None,
    *,
    now: datetime,
    max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS,
) -> None:
    """Return if `signature` is the sender's for (timestamp, body) and the timestamp is within
    `max_age_seconds` of `now`, past or future; raise a `SignatureError` subclass otherwise.

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
    expected = sign(secret, timestamp, body).encode("ascii")
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
