"""`Authorization: Token <secret>` (or `Bearer <secret>`) for API tokens."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from core.api.tokens import TokenError, api_token_authenticate
from core.models import ApiToken

KEYWORDS = ("token", "bearer")


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """Authenticates as the token's user; `request.auth` is the ApiToken (its scopes decide)."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() not in KEYWORDS:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("expected 'Authorization: Token <secret>' or 'Bearer <secret>'")
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("invalid token") from None
        try:
            token = api_token_authenticate(secret)
        except TokenError as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        return token.user, token

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) to a request without credentials.
        return 'Bearer realm="api"'


def actor(request) -> str:
    """Who did it, for ImportRun.created_by, triggered_by and the audit trails (max 150)."""
    name = request.user.get_username() if request.user and request.user.is_authenticated else "anonymous"
    if isinstance(request.auth, ApiToken):
        return f"{name} (API token {request.auth.prefix})"[:150]
    return f"{name} (API session)"[:150]


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token created by ops in the admin: `Authorization: Bearer <secret>` "
            "(or `Token <secret>`). Its scopes (`ingest`, `read`, `ops`) decide what it may do; "
            "it acts with its user's Django permissions.",
        }
