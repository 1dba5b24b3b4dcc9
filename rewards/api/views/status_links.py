"""The status links API: a trader's personal status link by UID, for ops to hand out one by one
(the admin exports every link of a campaign at once)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from campaign.selectors import campaign_get
from core.api.errors import error_responses
from core.api.permissions import CanOperate, forbidden, needs
from core.api.records import INT64_MAX
from core.api.schema import SLUG
from rewards.selectors.links import status_link_url
from rewards.services.status_links import status_link_ensure

UID = OpenApiParameter("uid", {"type": "integer", "minimum": 1, "maximum": INT64_MAX}, OpenApiParameter.PATH, description="The trader's UID.")


class StatusLinkSerializer(serializers.Serializer):
    uid = serializers.IntegerField(help_text="The trader's UID.")
    url = serializers.URLField(help_text="The trader's status page, signed now; no language in it (the page follows the browser's).")


class StatusLinkGetApi(APIView):
    """The status link of a trader the campaign knows (a registration, a sign-up, a post or a
    reward), created the first time it is asked for; 404 for a UID the campaign does not know.
    The URL is a credential for that trader's page: send it to the trader only."""

    permission_classes = [CanOperate, needs("rewards.view_statuslink")]
    throttle_scope = "ops"

    @extend_schema(
        operation_id="status_link_get",
        tags=["status links"],
        parameters=[SLUG, UID],
        responses={200: StatusLinkSerializer, **error_responses(401, 403, 404), **forbidden(permission_classes)},
    )
    def get(self, request, slug, uid):
        link = status_link_ensure(campaign=campaign_get(slug=slug), uid=uid)
        if link is None:
            raise exceptions.NotFound("the campaign knows no trader with this UID")
        response = Response(StatusLinkSerializer({"uid": link.trader.uid, "url": status_link_url(link)}).data)
        response["Cache-Control"] = "private, no-store"
        return response
