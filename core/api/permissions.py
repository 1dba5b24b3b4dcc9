"""Who may call what: token scopes, staff sessions, and the acting user's Django permissions.

Every API view names two things in its `permission_classes`: a scope class (CanIngest, CanRead,
CanOperate), and `needs(...)` with the Django permissions its data or action needs, the ones the
admin checks for the same page or action. A token grants its scopes; a staff session (the admin's
login) holds every scope. Either way the permissions are checked on the acting user (the token's
owner, or the logged-in user), so a token can never do more than its user could in the admin.
"""

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import AllowAny, BasePermission

from core.models import ApiToken

ALL_SCOPES = frozenset(ApiToken.Scope.values)


def request_scopes(request) -> frozenset[str]:
    if isinstance(request.auth, ApiToken):
        return frozenset(request.auth.scopes or ())
    user = request.user
    if user is not None and user.is_authenticated and user.is_active and user.is_staff:
        return ALL_SCOPES
    return frozenset()


class ScopePermission(BasePermission):
    """Grants when the caller holds ANY of `scopes`."""

    scopes: tuple[str, ...] = ()

    def has_permission(self, request, view):
        if not request_scopes(request) & set(self.scopes):
            self.message = f"this needs the scope {' or '.join(self.scopes)}"
            return False
        return True


class CanIngest(ScopePermission):
    scopes = (ApiToken.Scope.INGEST,)


class CanRead(ScopePermission):
    scopes = (ApiToken.Scope.READ, ApiToken.Scope.OPS)


class CanOperate(ScopePermission):
    scopes = (ApiToken.Scope.OPS,)


class ModelPermission(BasePermission):
    """Grants when the acting user holds ALL of `perms` (Django permissions, `app_label.codename`)."""

    perms: tuple[str, ...] = ()

    def has_permission(self, request, view):
        user = request.user
        missing = [perm for perm in self.perms if not user.has_perm(perm)]
        if missing:
            self.message = f"{user.get_username() or 'anonymous'} lacks the permission {', '.join(missing)}"
            return False
        return True


def needs(*perms: str) -> type[ModelPermission]:
    """The ModelPermission class of these Django permissions, for a view's permission_classes:
    `[CanRead, needs("rewards.view_reward")]`. Naming none is a configuration error."""
    if not perms or any(perm.count(".") != 1 for perm in perms):
        raise ImproperlyConfigured(f"needs() takes permissions as 'app_label.codename', got {perms!r}")
    return type(f"Needs({', '.join(perms)})", (ModelPermission,), {"perms": tuple(perms), "__module__": __name__})


def required_scopes(permission_classes) -> tuple[str, ...]:
    """The scopes a view's permission classes accept (any one of them)."""
    return tuple(scope for klass in permission_classes if isinstance(klass, type) and issubclass(klass, ScopePermission) for scope in klass.scopes)


def required_perms(permission_classes) -> tuple[str, ...]:
    """The Django permissions a view's permission classes need (all of them)."""
    return tuple(perm for klass in permission_classes if isinstance(klass, type) and issubclass(klass, ModelPermission) for perm in klass.perms)


def forbidden(permission_classes) -> dict:
    """The 403 entry of an operation's OpenAPI responses, naming the scope and permissions it needs."""
    # Imported here: DRF imports this module (DEFAULT_PERMISSION_CLASSES) while rest_framework.views loads.
    from drf_spectacular.utils import OpenApiResponse

    from core.api.errors import ErrorSerializer

    scopes = " or ".join(f"`{scope}`" for scope in required_scopes(permission_classes))
    perms = " and ".join(f"`{perm}`" for perm in required_perms(permission_classes))
    description = f"The token lacks the scope, or its user the permission: this needs the scope {scopes} and the permission {perms}."
    return {403: OpenApiResponse(ErrorSerializer, description=description)}


class PublicRead(AllowAny):
    """Anyone, without credentials: public data only (throttled per client address)."""


class DenyAll(BasePermission):
    """The REST_FRAMEWORK default: a view that forgot to name its permissions serves nobody."""

    message = "this endpoint has no permission configured"

    def has_permission(self, request, view):
        return False
