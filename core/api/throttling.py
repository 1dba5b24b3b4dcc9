"""Rate limits per scope (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]), counted per token."""

from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from core.models import ApiToken


class ApiScopeThrottle(ScopedRateThrottle):
    """ScopedRateThrottle keyed by token (two tokens of one user get a budget each), else by user,
    else by client address; reads the rates at request time so settings overrides take effect."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"token{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
