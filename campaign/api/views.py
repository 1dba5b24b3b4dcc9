"""Batch upserts of a campaign's sign-ups and posts, through the same services as the files."""

from functools import partial

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from campaign.api.serializers import POST_FORMAT, SIGNUP_FORMAT, PostRecordSerializer, SignupRecordSerializer
from campaign.selectors import campaign_get
from campaign.services import posts_ingest, signups_import
from core.api.authentication import actor
from core.api.errors import error_responses
from core.api.permissions import CanIngest, forbidden, needs
from core.api.records import records_batch_import
from core.api.schema import SLUG
from core.api.serializers import BATCH_OK, BatchResultSerializer, RecordBatchInput


class SignupsUpsertApi(APIView):
    """Upsert questionnaire sign-ups of a campaign; every one is kept, registered or not."""

    permission_classes = [CanIngest, needs("core.add_importrun")]  # as the admin's imports
    throttle_scope = "ingest"
    InputSerializer = RecordBatchInput
    OutputSerializer = BatchResultSerializer

    @extend_schema(
        operation_id="signups_upsert",
        parameters=[SLUG],
        tags=["ingest"],
        request=SignupRecordSerializer(many=True),
        responses={200: BATCH_OK, **error_responses(400, 401, 403, 404, 413), **forbidden(permission_classes)},
    )
    def post(self, request, slug):
        campaign = campaign_get(slug=slug)
        items = self.InputSerializer().run_validation(request.data)
        service = partial(signups_import, campaign=campaign)
        result = records_batch_import(items, fmt=SIGNUP_FORMAT, service=service, filename="API batch", created_by=actor(request))
        return Response(self.OutputSerializer(result).data)


class PostsUpsertApi(APIView):
    """Upsert posts of a campaign and judge them; a re-ingest that changes a post's author or
    creation instant is rejected and the stored post kept (RULES.md section 3)."""

    permission_classes = [CanIngest, needs("core.add_importrun")]  # as the admin's imports
    throttle_scope = "ingest"
    InputSerializer = RecordBatchInput
    OutputSerializer = BatchResultSerializer

    @extend_schema(
        operation_id="posts_upsert",
        parameters=[SLUG],
        tags=["ingest"],
        request=PostRecordSerializer(many=True),
        responses={200: BATCH_OK, **error_responses(400, 401, 403, 404, 413), **forbidden(permission_classes)},
    )
    def post(self, request, slug):
        campaign = campaign_get(slug=slug)
        items = self.InputSerializer().run_validation(request.data)
        result = records_batch_import(items, fmt=POST_FORMAT, service=posts_ingest, campaign=campaign, filename="API batch", created_by=actor(request))
        return Response(self.OutputSerializer(result).data)
