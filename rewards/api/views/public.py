"""The public rewards API: a campaign's leaderboard and a trader's status by their status link.

No authentication: the leaderboard shows no UID or contact, and the status link's token is the
credential for that one trader's data.
"""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from campaign.selectors import campaign_get
from core.api.errors import error_responses
from core.api.permissions import PublicRead
from core.api.schema import SLUG
from rewards.api.selectors import leaderboard_get
from rewards.api.serializers import LeaderboardSerializer, TraderStatusSerializer
from rewards.selectors.links import status_link_from_token
from rewards.selectors.status import trader_status_get


class LeaderboardGetApi(APIView):
    """The Top 10 of a campaign's latest settlement: rank, nickname, score (no UID, no contact)."""

    permission_classes = [PublicRead]
    authentication_classes = []
    throttle_scope = "public"

    @extend_schema(operation_id="leaderboard_get", parameters=[SLUG], tags=["public"], responses={200: LeaderboardSerializer, **error_responses(404)})
    def get(self, request, slug):
        board = leaderboard_get(campaign=campaign_get(slug=slug))
        return Response(LeaderboardSerializer(board).data)


STATUS_TOKEN = OpenApiParameter(
    "token", str, OpenApiParameter.PATH, description="The signed token of the trader's status link.", pattern=r"^[-A-Za-z0-9_:.]{1,400}$"
)


class TraderStatusGetApi(APIView):
    """A trader's status by the token of their personal status link: steps, posts with verdicts,
    rewards, rank. The token is the credential: it shows that trader's data and nobody else's.
    A forged, expired or rotated token is a 404 like an unknown one, so probing learns nothing."""

    permission_classes = [PublicRead]
    authentication_classes = []
    throttle_scope = "public"

    @extend_schema(operation_id="trader_status_get", tags=["public"], parameters=[STATUS_TOKEN], responses={200: TraderStatusSerializer, **error_responses(404)})
    def get(self, request, token):
        link = status_link_from_token(token=token)
        if link is None:
            raise exceptions.NotFound("no status for this link")
        return Response(TraderStatusSerializer(trader_status_get(link=link, now=timezone.now())).data)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        # The path is a credential: Django logs 4xx responses with their path unless this is set.
        response._has_been_logged = True
        return response
