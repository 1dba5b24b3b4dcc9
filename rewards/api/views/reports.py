"""The payout report API (RULES.md section 9): the payout report and the adjustments report of
a campaign downloaded as CSV or XLSX, rendered from the ledger now, and the stored reports.
"""

from django.http import HttpResponse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.views import APIView

from campaign.selectors import campaign_get
from core.api.errors import error_responses
from core.api.permissions import CanRead, forbidden, needs
from core.api.schema import CAMPAIGN_FILTER, SLUG
from rewards.api.filters import PayoutReportFilter
from rewards.api.selectors import payout_reports_list
from rewards.api.serializers import PayoutReportSerializer
from rewards.services import payout_rows, render_csv, render_xlsx
from rewards.services.reports import XLSX_TYPE, adjustment_rows, render_adjustments_csv, render_adjustments_xlsx


class JSONErrorsNegotiation(BaseContentNegotiation):
    """Ignore Accept: a download answers with its file, and with JSON when it fails."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class PayoutReportDownloadApi(APIView):
    """The payout report of RULES.md section 9 for a campaign, rendered from the ledger now."""

    throttle_scope = "read"
    content_negotiation_class = JSONErrorsNegotiation
    report = "payout"
    extension = ""
    content_type = ""

    def rows(self, campaign) -> list:
        return payout_rows(campaign=campaign)

    def render(self, rows, campaign) -> bytes:
        raise NotImplementedError

    def get(self, request, slug):
        campaign = campaign_get(slug=slug)
        content = self.render(self.rows(campaign), campaign)
        filename = f"{campaign.slug}-{self.report}-{timezone.now():%Y%m%d-%H%M%S}.{self.extension}"
        return HttpResponse(content, content_type=self.content_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


class PayoutReportCsvApi(PayoutReportDownloadApi):
    permission_classes = [CanRead, needs("rewards.add_payoutreport", "rewards.view_payoutreport")]
    extension = "csv"
    content_type = "text/csv; charset=utf-8"

    def render(self, rows, campaign):
        return render_csv(rows).encode("utf-8")

    @extend_schema(
        operation_id="payout_report_csv",
        parameters=[SLUG],
        tags=["payout reports"],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="uid,nickname,kind,period,asset,amount,status"), **error_responses(401, 403, 404), **forbidden(permission_classes)},
    )
    def get(self, request, slug):
        return super().get(request, slug)


class PayoutReportXlsxApi(PayoutReportDownloadApi):
    permission_classes = [CanRead, needs("rewards.add_payoutreport", "rewards.view_payoutreport")]
    extension = "xlsx"
    content_type = XLSX_TYPE

    def render(self, rows, campaign):
        return render_xlsx(rows, title=campaign.slug)

    @extend_schema(
        operation_id="payout_report_xlsx",
        parameters=[SLUG],
        tags=["payout reports"],
        responses={(200, XLSX_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="The same rows as the CSV."), **error_responses(401, 403, 404), **forbidden(permission_classes)},
    )
    def get(self, request, slug):
        return super().get(request, slug)


class AdjustmentsReportDownloadApi(PayoutReportDownloadApi):
    """The adjustments of a campaign for finance (RULES.md section 8), apart from the payout
    report: one row per adjustment, by uid as a number, then kind, period and when recorded."""

    report = "adjustments"

    def rows(self, campaign) -> list:
        return adjustment_rows(campaign=campaign)


class AdjustmentsReportCsvApi(AdjustmentsReportDownloadApi):
    permission_classes = [CanRead, needs("rewards.view_adjustment")]
    extension = "csv"
    content_type = "text/csv; charset=utf-8"

    def render(self, rows, campaign):
        return render_adjustments_csv(rows).encode("utf-8")

    @extend_schema(
        operation_id="adjustments_report_csv",
        parameters=[SLUG],
        tags=["payout reports"],
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description="uid,nickname,kind,period,asset,adjustment,paid,computed,review_item,recorded_at,recorded_by,note "
                "(adjustment: + underpaid, - overpaid; amounts with two decimals; recorded_at in UTC+8).",
            ),
            **error_responses(401, 403, 404),
            **forbidden(permission_classes),
        },
    )
    def get(self, request, slug):
        return super().get(request, slug)


class AdjustmentsReportXlsxApi(AdjustmentsReportDownloadApi):
    permission_classes = [CanRead, needs("rewards.view_adjustment")]
    extension = "xlsx"
    content_type = XLSX_TYPE

    def render(self, rows, campaign):
        return render_adjustments_xlsx(rows, title=f"{campaign.slug} adjustments")

    @extend_schema(
        operation_id="adjustments_report_xlsx",
        parameters=[SLUG],
        tags=["payout reports"],
        responses={(200, XLSX_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="The same rows as the CSV."), **error_responses(401, 403, 404), **forbidden(permission_classes)},
    )
    def get(self, request, slug):
        return super().get(request, slug)


class PayoutReportListApi(generics.ListAPIView):
    """Payout reports as stored (scheduled or by hand); their files are downloaded in the admin."""

    permission_classes = [CanRead, needs("rewards.view_payoutreport")]
    throttle_scope = "read"
    serializer_class = PayoutReportSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = PayoutReportFilter

    def get_queryset(self):
        return payout_reports_list()

    @extend_schema(operation_id="payout_reports_list", tags=["payout reports"], parameters=[CAMPAIGN_FILTER], responses={200: PayoutReportSerializer(many=True), **error_responses(400, 401, 403), **forbidden(permission_classes)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
