"""The API's answer to a path it does not have."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.views import APIView

from core.api.permissions import PublicRead


@extend_schema(exclude=True)
class ApiNotFoundApi(APIView):
    """Any other path under /api/v1/: a JSON 404 in the API's error shape, not Django's HTML page
    (a path parameter its converter refuses, e.g. a slug with a space, lands here too)."""

    permission_classes = [PublicRead]
    authentication_classes = []
    throttle_classes = []

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise exceptions.NotFound(f"no API endpoint at {request.path}")

    options = http_method_not_allowed  # APIView would answer OPTIONS with metadata
