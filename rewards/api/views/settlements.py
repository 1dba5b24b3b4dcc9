"""The settlement API: start a settlement in the background, follow it by its task id, and read
the settlement runs (state, configuration, summary).
"""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from campaign.selectors import campaign_get
from core.api.authentication import actor
from core.api.errors import error_responses
from core.api.permissions import CanOperate, CanRead, forbidden, needs
from core.api.schema import CAMPAIGN_FILTER, SLUG
from rewards.api.filters import SettlementRunFilter
from rewards.api.selectors import SettlementPointer, settlement_get, settlement_runs_list
from rewards.api.serializers import SettlementPointerSerializer, SettlementRunDetailSerializer, SettlementRunSerializer, SettlementStartSerializer
from rewards.services.settlement import settlement_enqueue


class SettlementStartApi(APIView):
    """Settle a campaign in the background as of `at` (default now): what is due becomes payable,
    what is not yet due is written as a preview. Answers 202 with where to follow it."""

    permission_classes = [CanOperate, needs("rewards.add_settlementrun")]
    throttle_scope = "ops"
    InputSerializer = SettlementStartSerializer
    OutputSerializer = SettlementPointerSerializer

    @extend_schema(
        operation_id="settlement_start",
        parameters=[SLUG],
        tags=["settlement"],
        request=SettlementStartSerializer,
        responses={202: SettlementPointerSerializer, **error_responses(400, 401, 403, 404, 413), **forbidden(permission_classes)},
    )
    def post(self, request, slug):
        campaign = campaign_get(slug=slug)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = settlement_enqueue(campaign=campaign, at=data.validated_data["at"], by=actor(request))
        body = self.OutputSerializer(SettlementPointer.of(run)).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class SettlementGetApi(APIView):
    """Where a settlement has got to (queued, running, finished, failed), as its run's row says,
    and the run once it has finished; 404 for an id no settlement was started under."""

    permission_classes = [CanRead, needs("rewards.view_settlementrun")]
    throttle_scope = "read"

    @extend_schema(operation_id="settlement_get", tags=["settlement"], responses={200: SettlementPointerSerializer, **error_responses(401, 403, 404), **forbidden(permission_classes)})
    def get(self, request, task_id):
        pointer = settlement_get(task_id=str(task_id))
        if pointer is None:
            raise exceptions.NotFound("no settlement was started under this id")
        return Response(SettlementPointerSerializer(pointer).data)


class SettlementRunListApi(generics.ListAPIView):
    permission_classes = [CanRead, needs("rewards.view_settlementrun")]
    throttle_scope = "read"
    serializer_class = SettlementRunSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = SettlementRunFilter

    def get_queryset(self):
        return settlement_runs_list()

    @extend_schema(operation_id="settlement_runs_list", tags=["settlement"], parameters=[CAMPAIGN_FILTER], responses={200: SettlementRunSerializer(many=True), **error_responses(400, 401, 403), **forbidden(permission_classes)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SettlementRunGetApi(generics.RetrieveAPIView):
    """A settlement run: its state, the configuration it used and its summary."""

    permission_classes = [CanRead, needs("rewards.view_settlementrun")]
    throttle_scope = "read"
    serializer_class = SettlementRunDetailSerializer

    def get_queryset(self):
        return settlement_runs_list()

    @extend_schema(operation_id="settlement_run_get", tags=["settlement"], responses={200: SettlementRunDetailSerializer, **error_responses(401, 403, 404), **forbidden(permission_classes)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
