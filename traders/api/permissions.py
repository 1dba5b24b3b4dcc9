"""Who may call what: token scopes, staff sessions, and the acting user's Django permissions.

A token grants its scopes. A staff session (the admin's login) holds every scope, since staff
already see all of it in the admin. Either way the Django permissions a class names are checked
on the acting user (the token's owner, or the logged-in user), so a token can never do more than
its user could do in the admin.
"""

from rest_framework.permissions import AllowAny, BasePermission

from traders.models import ApiToken

ALL_SCOPES = frozenset(ApiToken.Scope.values)


def request_scopes(request) -> frozenset[str]:
    if isinstance(request.auth, ApiToken):
        return frozenset(request.auth.scopes or ())
    user = request.user
    if user is not None and user.is_authenticated and user.is_active and user.is_staff:
        return ALL_SCOPES
    return frozenset()


class ScopePermission(BasePermission):
    """Grants when the caller holds ANY of `scopes` and ALL of the Django `perms`."""

    scopes: tuple[str, ...] = ()
    perms: tuple[str, ...] = ()

    def has_permission(self, request, view):
        if not request_scopes(request) & set(self.scopes):
            self.message = f"this needs the scope {' or '.join(self.scopes)}"
            return False
        missing = [perm for perm in self.perms if not request.user.has_perm(perm)]
        if missing:
            self.message = f"{request.user.get_username()} lacks the permission {', '.join(missing)}"
            return False
        return True


class CanIngest(ScopePermission):
    scopes = (ApiToken.Scope.INGEST,)


class CanRead(ScopePermission):
    scopes = (ApiToken.Scope.READ, ApiToken.Scope.OPS)


class CanOperate(ScopePermission):
    scopes = (ApiToken.Scope.OPS,)


class PublicRead(AllowAny):
    """Anyone, without credentials: public data only (throttled per client address)."""


class DenyAll(BasePermission):
    """The REST_FRAMEWORK default: a view that forgot to name its permissions serves nobody."""

    message = "this endpoint has no permission configured"

    def has_permission(self, request, view):
        return False
