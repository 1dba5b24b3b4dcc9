"""API tokens: creating, revoking and checking them. The secret is never stored.

A secret looks like `gsq_1a2b3c4d.<43 URL-safe characters>`: the part before the dot is the
prefix kept in clear to find the row, the whole secret is hashed with SHA-256. 256 random bits make
a slow password hash pointless; what matters is that a copy of the table grants nothing.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.models import ApiToken

PREFIX_TAG = "gsq_"
# last_used_at is a hint for ops, not an audit log: one write a minute per token is plenty.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class TokenError(Exception):
    """Credentials that must be refused; the message is safe to show the caller."""


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _split(secret: str) -> str | None:
    prefix, dot, rest = secret.partition(".")
    if not dot or not rest or not prefix.startswith(PREFIX_TAG) or len(prefix) > 16:
        return None
    return prefix


@transaction.atomic
def api_token_create(*, user, name: str, scopes, created_by: str = "", expires_at=None) -> tuple[ApiToken, str]:
    """Create a token acting as `user` with `scopes`; return it and its secret, shown only now.

    Scopes outside ApiToken.Scope are refused with ValueError. The prefix is random, so a clash is
    retried rather than reported (the unique constraint is the final guard).
    """
    scopes = sorted(set(scopes))
    unknown = set(scopes) - set(ApiToken.Scope.values)
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(sorted(unknown))}")
    for _attempt in range(5):
        prefix = PREFIX_TAG + secrets.token_hex(4)
        if not ApiToken.objects.filter(prefix=prefix).exists():
            break
    secret = f"{prefix}.{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user, name=name, scopes=scopes, prefix=prefix, key_hash=token_hash(secret), created_by=created_by, expires_at=expires_at
    )
    return token, secret


def api_tokens_revoke(*, token_ids, by: str) -> int:
    """Revoke the tokens that are not revoked yet; return how many. Idempotent."""
    return ApiToken.objects.filter(pk__in=list(token_ids), revoked_at__isnull=True).update(revoked_at=timezone.now(), revoked_by=by[:150])


def api_token_authenticate(secret: str) -> ApiToken:
    """The live token whose secret this is, its user loaded; TokenError otherwise.

    The hash comparison is constant-time. A successful use stamps `last_used_at` at most once per
    LAST_USED_RESOLUTION, with a conditional UPDATE so concurrent requests do not all write.
    """
    prefix = _split(secret)
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first() if prefix else None
    if token is None or not hmac.compare_digest(token.key_hash, token_hash(secret)):
        raise TokenError("invalid token")
    now = timezone.now()
    if token.revoked_at is not None:
        raise TokenError("this token has been revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenError("this token has expired")
    if not token.user.is_active:
        raise TokenError("the token's user is inactive")
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    if ApiToken.objects.filter(stale, pk=token.pk).update(last_used_at=now):
        token.last_used_at = now
    return token
