"""One error shape for the whole API, the same the posts webhook answers with:
`{"error": "<code>", "detail": "<message>"}`, plus `fields` for invalid input."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.views import exception_handler

DESCRIPTIONS = {
    400: "Invalid input (`fields` says which).",
    401: "No credentials, or a bad, revoked or expired token.",
    403: "The token lacks the scope, or its user the Django permission.",
    404: "Not found.",
    409: "Conflict.",
    413: "The body is larger than MAX_BODY_BYTES (5 MiB by default): `too_large`, with its size and the limit.",
    429: "Too many requests: see the Retry-After header.",
}


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="A stable code, e.g. `invalid`, `not_authenticated`, `permission_denied`.")
    detail = serializers.CharField(help_text="A message for people.")
    fields = serializers.JSONField(required=False, help_text="For `invalid`: the errors by field.")


def error_responses(*codes: int) -> dict:
    """drf-spectacular `responses` entries for these error statuses (429 is always possible)."""
    return {code: OpenApiResponse(ErrorSerializer, description=DESCRIPTIONS[code]) for code in sorted({*codes, 429})}


class TooLarge(exceptions.APIException):
    status_code = 413
    default_code = "too_large"
    default_detail = "The request body is too large."


def api_exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        exc = TooLarge()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"error": "invalid", "detail": "The input is not valid.", "fields": response.data}
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = {"error": str(code), "detail": str(detail)}
    return response
