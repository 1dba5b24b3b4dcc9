"""URL root of the REST API (/api/): version 1, its OpenAPI schema and the Swagger UI.

The Swagger UI's files come from drf-spectacular-sidecar as static files, never from a CDN. Its
start script is a second request to the same URL (`?script`), not an inline script, so the page
works under the Content-Security-Policy (config/settings.py). Redoc is not served: it needs inline
scripts and styles, blob: workers and Google Fonts, and the Swagger UI documents the same schema.
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core.api.views import ApiNotFoundApi

v1 = [
    path("", include("traders.api.urls")),
    path("", include("campaign.api.urls")),
    path("", include("rewards.api.urls")),
    re_path(r"", ApiNotFoundApi.as_view(), name="api-not-found"),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
