"""Batch upserts of registrations and trading stats, through the file imports' services."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.authentication import actor
from core.api.errors import error_responses
from core.api.permissions import CanIngest, forbidden, needs
from core.api.records import records_batch_import
from core.api.serializers import BATCH_OK, BatchResultSerializer, RecordBatchInput
from traders.api.serializers import REGISTRATION_FORMAT, TRADER_STATS_FORMAT, RegistrationRecordSerializer, TraderStatsRecordSerializer
from traders.services import registrations_import, trader_stats_import


class RegistrationsUpsertApi(APIView):
    """Upsert lead-trader registrations: the newest record for a UID replaces the stored one whole."""

    # What the admin's imports need (campaign.admin, rewards.admin_dashboard): an import run is written.
    permission_classes = [CanIngest, needs("core.add_importrun")]
    throttle_scope = "ingest"
    InputSerializer = RecordBatchInput
    OutputSerializer = BatchResultSerializer

    @extend_schema(
        operation_id="registrations_upsert",
        tags=["ingest"],
        request=RegistrationRecordSerializer(many=True),
        responses={200: BATCH_OK, **error_responses(400, 401, 403, 413), **forbidden(permission_classes)},
    )
    def post(self, request):
        items = self.InputSerializer().run_validation(request.data)
        result = records_batch_import(items, fmt=REGISTRATION_FORMAT, service=registrations_import, filename="API batch", created_by=actor(request))
        return Response(self.OutputSerializer(result).data)


class TraderStatsUpsertApi(APIView):
    """Upsert copy-trading snapshots: a snapshot with an equal `as_of` replaces the stored one."""

    # What the admin's imports need (campaign.admin, rewards.admin_dashboard): an import run is written.
    permission_classes = [CanIngest, needs("core.add_importrun")]
    throttle_scope = "ingest"
    InputSerializer = RecordBatchInput
    OutputSerializer = BatchResultSerializer

    @extend_schema(
        operation_id="trader_stats_upsert",
        tags=["ingest"],
        request=TraderStatsRecordSerializer(many=True),
        responses={200: BATCH_OK, **error_responses(400, 401, 403, 413), **forbidden(permission_classes)},
    )
    def post(self, request):
        items = self.InputSerializer().run_validation(request.data)
        result = records_batch_import(items, fmt=TRADER_STATS_FORMAT, service=trader_stats_import, filename="API batch", created_by=actor(request))
        return Response(self.OutputSerializer(result).data)
