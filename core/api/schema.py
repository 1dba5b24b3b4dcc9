"""OpenAPI parameters several endpoints share, with the exact shape their URL converters accept."""

from drf_spectacular.utils import OpenApiParameter

from core.api.records import INT64_MAX

SLUG = OpenApiParameter("slug", str, OpenApiParameter.PATH, description="The campaign's slug.", pattern=r"^[-a-zA-Z0-9_]+$")
UID_FILTER = OpenApiParameter(
    "uid", {"type": "integer", "minimum": 1, "maximum": INT64_MAX}, OpenApiParameter.QUERY, description="A trader's UID."
)


def text_filter(name: str, description: str) -> OpenApiParameter:
    """A text query filter as its form field accepts it: anything but a NUL character."""
    return OpenApiParameter(name, {"type": "string", "pattern": r"^[^\x00]*$"}, OpenApiParameter.QUERY, description=description)


CAMPAIGN_FILTER = text_filter("campaign", "A campaign's slug.")
PERIOD_FILTER = text_filter("period", "`P1`, `P2`, ... or `ALL`.")
