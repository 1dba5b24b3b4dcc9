"""Batch upserts of registrations and trading stats, through the file imports' services."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from traders.api.authentication import actor
from traders.api.errors import error_responses
from traders.api.permissions import CanIngest, PublicRead, forbidden, needs
from traders.api.records import records_batch_import
from traders.api.serializers import (
    REGISTRATION_FORMAT,
    TRADER_STATS_FORMAT,
    BatchResultSerializer,
    RecordBatchInput,
    RegistrationRecordSerializer,
    TraderStatsRecordSerializer,
)
from traders.services import registrations_import, trader_stats_import

BATCH_OK = OpenApiResponse(
    BatchResultSerializer,
    description="The batch was processed: every record is reported, the good ones imported and the bad ones kept as "
    "rejected records of the import run. Re-sending the same batch changes nothing.",
)


class RegistrationsUpsertApi(APIView):
    """Upsert lead-trader registrations: the newest record for a UID replaces the stored one whole."""

    # What the admin's imports need (campaign.admin, rewards.admin_dashboard): an import run is written.
    permission_classes = [CanIngest, needs("traders.add_importrun")]
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
    permission_classes = [CanIngest, needs("traders.add_importrun")]
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
