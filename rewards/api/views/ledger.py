"""The ledger API: rewards listed, approved and marked paid, and the pool budgets approval
counts against (RULES.md section 8).
"""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from campaign.selectors import campaign_get
from core.api.errors import error_responses
from core.api.permissions import CanOperate, CanRead, forbidden, needs
from core.api.schema import CAMPAIGN_FILTER, PERIOD_FILTER, SLUG, UID_FILTER
from rewards.api.filters import RewardFilter
from rewards.api.selectors import rewards_list
from rewards.api.serializers import (
    CampaignBudgetsSerializer,
    LedgerOutcomeSerializer,
    MarkPaidOutcomeSerializer,
    MarkPaidSerializer,
    RewardIdsSerializer,
    RewardSerializer,
    ledger_outcome,
)
from rewards.budgets import pool_budgets_get, pool_name
from rewards.exceptions import RewardError
from rewards.rules.money import format_money
from rewards.services import rewards_approve, rewards_mark_paid
from rewards.services.ledger import REFUSED_BUDGET, REFUSED_PREVIEW, Refusal


def refusal_reason(reward, refusal: Refusal, *, needs: str) -> str:
    """The ledger's refusal as the API has always said it: English, states and kinds as codes.
    `needs` is the state the action starts from (calculated to approve, approved to pay)."""
    if refusal.code == REFUSED_PREVIEW:
        return f"reward {reward.pk} is a preview: its period is not yet due"
    if refusal.code == REFUSED_BUDGET:
        pool = refusal.pool
        limit = f"{format_money(pool.budget)} {pool.asset}" if pool.budget is not None else ""
        if pool.max_rewards is not None:
            limit += f" ({pool.max_rewards} bonuses)"
        return (
            f"reward {reward.pk} ({reward.trader.uid} {reward.kind} {reward.period} {format_money(reward.amount)} {reward.asset}) is refused: "
            f"approving it would take the {pool_name(pool)} to {format_money(refusal.committed)} approved and paid "
            f"of {limit.strip()}, {format_money(refusal.over)} {pool.asset} over"
        )
    return f"reward {reward.pk} is {refusal.state}, not {needs}"


class Refused(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "refused"
    default_detail = "The ledger refused the operation."


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
        refused = [(reward, refusal_reason(reward, refusal, needs="calculated")) for reward, refusal in refused]
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
        refused = [(reward, refusal_reason(reward, refusal, needs="approved")) for reward, refusal in refused]
        if done:
            detail = f"{len(done)} reward(s) marked paid in payout batch {reference}"
        else:
            detail = "nothing was marked paid: every reward was refused (see refused); no payout batch was created or changed"
        return Response(self.OutputSerializer({"batch": reference, "detail": detail, **ledger_outcome(ids, done, refused)}).data)


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
