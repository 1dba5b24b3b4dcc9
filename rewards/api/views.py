"""The rewards API: public leaderboard and trader status, the ledger, review items and adjustments,
pool budgets, settlements, payout reports.

Thin shells: each view parses its input, calls one selector or service, and serializes.
"""

from django.http import HttpResponse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from campaign.selectors import campaign_get
from core.api.authentication import actor
from core.api.errors import error_responses
from core.api.permissions import CanOperate, CanRead, PublicRead, forbidden, needs
from core.api.records import INT64_MAX
from core.api.schema import CAMPAIGN_FILTER, PERIOD_FILTER, SLUG, UID_FILTER
from rewards.api.filters import AdjustmentFilter, PayoutReportFilter, ReviewItemFilter, RewardFilter, SettlementRunFilter
from rewards.api.selectors import (
    SettlementPointer,
    adjustments_list,
    leaderboard_get,
    payout_reports_list,
    review_items_list,
    rewards_list,
    settlement_get,
    settlement_runs_list,
)
from rewards.api.serializers import (
    AdjustmentSerializer,
    CampaignBudgetsSerializer,
    LeaderboardSerializer,
    LedgerOutcomeSerializer,
    MarkPaidOutcomeSerializer,
    MarkPaidSerializer,
    PayoutReportSerializer,
    ReviewItemsCloseSerializer,
    ReviewItemSerializer,
    ReviewItemsOutcomeSerializer,
    RewardIdsSerializer,
    RewardSerializer,
    SettlementPointerSerializer,
    SettlementRunDetailSerializer,
    SettlementRunSerializer,
    SettlementStartSerializer,
    TraderStatusSerializer,
    ledger_outcome,
)
from rewards.budgets import pool_budgets_get
from rewards.exceptions import RewardError
from rewards.selectors import status_link_from_token, trader_status_get
from rewards.services import payout_rows, render_csv, render_xlsx, review_items_close, rewards_approve, rewards_mark_paid
from rewards.services.ledger import ACCEPT, KEEP
from rewards.services.reports import XLSX_TYPE, adjustment_rows, render_adjustments_csv, render_adjustments_xlsx
from rewards.services.settlement import settlement_enqueue


class Refused(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "refused"
    default_detail = "The ledger refused the operation."


# --- Public -------------------------------------------------------------------------------------


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


# --- Ledger -------------------------------------------------------------------------------------


class RewardListApi(generics.ListAPIView):
    """Rewards of the ledger, filtered; amounts are strings with two decimals. Each carries the
    explanation of its stored amount; `review` is the open review item (the new computation,
    beside it, never mixed in), and `adjustments` what finance owes or claws back on it."""

    permission_classes = [CanRead, needs("rewards.view_reward")]
    throttle_scope = "read"
    serializer_class = RewardSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = RewardFilter

    def get_queryset(self):
        return rewards_list()

    @extend_schema(operation_id="rewards_list", tags=["rewards"], parameters=[UID_FILTER, CAMPAIGN_FILTER, PERIOD_FILTER], responses={200: RewardSerializer(many=True), **error_responses(400, 401, 403), **forbidden(permission_classes)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class RewardsApproveApi(APIView):
    """Approve calculated, due rewards (`rewards.approve_reward`); the others are refused with
    the reason. Approving twice changes nothing the second time."""

    permission_classes = [CanOperate, needs("rewards.view_reward", "rewards.approve_reward")]
    throttle_scope = "ops"
    InputSerializer = RewardIdsSerializer
    OutputSerializer = LedgerOutcomeSerializer

    @extend_schema(operation_id="rewards_approve", tags=["rewards"], request=RewardIdsSerializer, responses={200: LedgerOutcomeSerializer, **error_responses(400, 401, 403, 413), **forbidden(permission_classes)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ids = data.validated_data["reward_ids"]
        done, refused = rewards_approve(reward_ids=ids, user=request.user)
        return Response(self.OutputSerializer(ledger_outcome(ids, done, refused)).data)


class RewardsMarkPaidApi(APIView):
    """Mark approved rewards paid in the payout batch with this external reference; the others are
    refused with the reason. The batch is created when the first reward is paid into it: when
    every reward is refused, none is created (`done` is empty, `detail` says so). 409 when the
    ledger refuses the whole operation (rewards of several campaigns, a reference another
    campaign uses, no reward found)."""

    permission_classes = [CanOperate, needs("rewards.view_reward", "rewards.pay_reward")]
    throttle_scope = "ops"
    InputSerializer = MarkPaidSerializer
    OutputSerializer = MarkPaidOutcomeSerializer

    @extend_schema(operation_id="rewards_mark_paid", tags=["rewards"], request=MarkPaidSerializer, responses={200: MarkPaidOutcomeSerializer, **error_responses(400, 401, 403, 409, 413), **forbidden(permission_classes)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ids = data.validated_data["reward_ids"]
        try:
            batch, done, refused = rewards_mark_paid(
                reward_ids=ids, reference=data.validated_data["reference"], note=data.validated_data["note"], user=request.user
            )
        except RewardError as exc:
            raise Refused(str(exc)) from None
        reference = batch.reference if batch is not None else None
        if done:
            detail = f"{len(done)} reward(s) marked paid in payout batch {reference}"
        else:
            detail = "nothing was marked paid: every reward was refused (see refused); no payout batch was created or changed"
        return Response(self.OutputSerializer({"batch": reference, "detail": detail, **ledger_outcome(ids, done, refused)}).data)


# --- Review items and adjustments (RULES.md section 8) ------------------------------------------


REVIEW_ITEM_ID = OpenApiParameter("item_id", {"type": "integer", "minimum": 1, "maximum": INT64_MAX}, OpenApiParameter.PATH, description="The review item's id.")


class ReviewItemListApi(generics.ListAPIView):
    """Review items: a settlement computed another amount for an approved, paid or void reward.
    Each carries the stored and computed amounts, the new computation's explanation and every
    amount the item was given, with its settlement."""

    permission_classes = [CanRead, needs("rewards.view_reviewitem")]
    throttle_scope = "read"
    serializer_class = ReviewItemSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ReviewItemFilter

    def get_queryset(self):
        return review_items_list()

    @extend_schema(operation_id="review_items_list", tags=["review items"], parameters=[UID_FILTER, CAMPAIGN_FILTER], responses={200: ReviewItemSerializer(many=True), **error_responses(400, 401, 403), **forbidden(permission_classes)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ReviewItemGetApi(generics.RetrieveAPIView):
    permission_classes = [CanRead, needs("rewards.view_reviewitem")]
    throttle_scope = "read"
    serializer_class = ReviewItemSerializer
    lookup_url_kwarg = "item_id"

    def get_queryset(self):
        return review_items_list()

    @extend_schema(operation_id="review_item_get", tags=["review items"], parameters=[REVIEW_ITEM_ID], responses={200: ReviewItemSerializer, **error_responses(401, 403, 404), **forbidden(permission_classes)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ReviewItemsCloseApi(APIView):
    """Close open review items with a note (`rewards.approve_reward`); closed items, accepts of a
    paid reward and unknown ids are refused with the reason. Closing twice changes nothing the
    second time."""

    throttle_scope = "ops"
    InputSerializer = ReviewItemsCloseSerializer
    OutputSerializer = ReviewItemsOutcomeSerializer
    close_action = ""

    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ids = data.validated_data["item_ids"]
        done, refused = review_items_close(item_ids=ids, action=self.close_action, user=request.user, note=data.validated_data["note"])
        return Response(self.OutputSerializer(ledger_outcome(ids, done, refused, noun="review item")).data)


class ReviewItemsAcceptApi(ReviewItemsCloseApi):
    """Accept: the reward (approved or void) takes the computed amount and its explanation and
    goes back to `calculated`, to be approved again within its pool; a computed 0.00 makes it
    `void`. A paid reward cannot be accepted, only kept."""

    permission_classes = [CanOperate, needs("rewards.view_reviewitem", "rewards.approve_reward")]
    close_action = ACCEPT

    @extend_schema(operation_id="review_items_accept", tags=["review items"], request=ReviewItemsCloseSerializer, responses={200: ReviewItemsOutcomeSerializer, **error_responses(400, 401, 403, 413), **forbidden(permission_classes)})
    def post(self, request):
        return super().post(request)


class ReviewItemsKeepApi(ReviewItemsCloseApi):
    """Keep: the reward keeps its amount. On a paid reward the difference (computed minus what
    the trader holds) becomes an adjustment for finance: + underpaid, - overpaid."""

    permission_classes = [CanOperate, needs("rewards.view_reviewitem", "rewards.approve_reward")]
    close_action = KEEP

    @extend_schema(operation_id="review_items_keep", tags=["review items"], request=ReviewItemsCloseSerializer, responses={200: ReviewItemsOutcomeSerializer, **error_responses(400, 401, 403, 413), **forbidden(permission_classes)})
    def post(self, request):
        return super().post(request)


class AdjustmentListApi(generics.ListAPIView):
    """What finance must top up (+) or claw back (-) on paid rewards, recorded when ops keep a
    review item of one. Never in the payout report; the paid reward itself never changes."""

    permission_classes = [CanRead, needs("rewards.view_adjustment")]
    throttle_scope = "read"
    serializer_class = AdjustmentSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = AdjustmentFilter

    def get_queryset(self):
        return adjustments_list()

    @extend_schema(operation_id="adjustments_list", tags=["review items"], parameters=[UID_FILTER, CAMPAIGN_FILTER], responses={200: AdjustmentSerializer(many=True), **error_responses(400, 401, 403), **forbidden(permission_classes)})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class BudgetsGetApi(APIView):
    """The budget view of every pool of a campaign, from the ledger now: the pool, approved plus
    paid (never over the pool: an approval that would take it over is refused), calculated, what
    can still be approved, and by how much the calculated rewards exceed that. Amounts are per
    asset. Each settlement run keeps the same view as of its end in `summary.budgets`."""

    permission_classes = [CanRead, needs("campaign.view_campaign", "rewards.view_reward")]
    throttle_scope = "read"

    @extend_schema(operation_id="budgets_get", parameters=[SLUG], tags=["rewards"], responses={200: CampaignBudgetsSerializer, **error_responses(401, 403, 404), **forbidden(permission_classes)})
    def get(self, request, slug):
        campaign = campaign_get(slug=slug)
        return Response(CampaignBudgetsSerializer({"campaign": campaign, "pools": pool_budgets_get(campaign=campaign)}).data)


# --- Settlement ---------------------------------------------------------------------------------


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


# --- Payout reports -----------------------------------------------------------------------------


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
