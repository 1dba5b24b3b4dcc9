"""The review items API (RULES.md section 8): the items a settlement opens when it computes
another amount for an approved, paid or void reward, closing them (accept or keep), and the
adjustments keeping a paid one records for finance.
"""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import error_responses
from core.api.permissions import CanOperate, CanRead, forbidden, needs
from core.api.records import INT64_MAX
from core.api.schema import CAMPAIGN_FILTER, UID_FILTER
from rewards.api.filters import AdjustmentFilter, ReviewItemFilter
from rewards.api.selectors import adjustments_list, review_items_list
from rewards.api.serializers import AdjustmentSerializer, ReviewItemsCloseSerializer, ReviewItemSerializer, ReviewItemsOutcomeSerializer, ledger_outcome
from rewards.services import review_items_close
from rewards.services.ledger import ACCEPT, KEEP, REFUSED_CLOSED, REFUSED_PAID

# The service's refusal codes as the API has always said them (English, the state and resolution as codes).
REFUSALS = {
    REFUSED_CLOSED: "review item {item.pk} is already closed ({item.resolution})",
    REFUSED_PAID: "review item {item.pk}: the reward is {item.reward.state}; a paid reward can only be kept",
}
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
        refused = [(item, REFUSALS[code].format(item=item)) for item, code in refused]
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
