from decimal import Decimal

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.records import INT64_MAX
from core.api.serializers import ApiModelSerializer, AwareDateTimeField, MoneyField, StorableCharField, UtcDateTimeField
from rewards.api.selectors import ADJUSTMENTS, OPEN_REVIEW
from rewards.models import Adjustment, PayoutReport, ReviewComputation, ReviewItem, Reward, SettlementRun
from rewards.rules.money import format_money

EXPLANATION_HELP = (
    "As the settlement wrote it: content pool `posts` [{post_id, score}], `creator_score`, "
    "`eligible_score_total`, `pool`, `exact_share`, `floored`, `rounding_cent`; leaderboard `rank`, `score`, `content_score`, "
    "`posts`, `new_copiers`, `copier_pnl_usdt`, the weights, `tier`; first post `post_id`, `created_at`, `score`, `limit`."
)


class Explanation(serializers.DictField):
    """A stored computation detail (JSON object), passed through as it is."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "How the amount was computed. " + EXPLANATION_HELP)
        super().__init__(read_only=True, **kwargs)


class RewardReviewSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The open review item.")
    computed_amount = MoneyField(help_text="What the latest settlement computes; the reward keeps its amount until ops accept it.")
    difference = MoneyField(help_text="Computed minus what the trader holds (the amount, plus earlier adjustments of a paid reward).")
    explanation = Explanation(source="computed_detail", help_text="How the computed amount was computed: shown beside the reward's own explanation, never mixed with it. " + EXPLANATION_HELP)
    settlement_run = serializers.IntegerField(source="settlement_run_id", help_text="The latest settlement that computed it.")
    settled_at = UtcDateTimeField(source="settlement_run.at")


class RewardSerializer(ApiModelSerializer):
    campaign = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    uid = serializers.IntegerField(source="trader.uid", read_only=True)
    nickname = serializers.CharField(source="trader.nickname", read_only=True)
    amount = MoneyField(read_only=True)
    payout_batch = serializers.CharField(source="payout_batch.reference", read_only=True, allow_null=True, default=None)
    settlement_run = serializers.IntegerField(source="settlement_run_id", read_only=True, help_text="The settlement whose computation the amount is.")
    explanation = Explanation(source="detail", help_text="How the stored amount was computed. " + EXPLANATION_HELP)
    review = serializers.SerializerMethodField(help_text="The open review item: a later settlement computes another amount. null when none is open.")
    adjustments = serializers.SerializerMethodField(
        help_text="The sum of the reward's adjustments (+ underpaid, - overpaid; kept review items of a paid reward); null when it has none."
    )

    class Meta:
        model = Reward
        fields = [
            "id", "campaign", "uid", "nickname", "kind", "period", "asset", "amount", "state", "preview",
            "approved_by", "approved_at", "payout_batch", "paid_at", "created_at", "updated_at",
            "settlement_run", "explanation", "review", "adjustments",
        ]  # fmt: skip
        read_only_fields = fields

    # Both read what `rewards_list()` prefetched, so a page costs the same queries however long.
    @extend_schema_field(RewardReviewSerializer(allow_null=True))
    def get_review(self, reward) -> dict | None:
        items = getattr(reward, OPEN_REVIEW, None)
        if items is None:
            items = list(reward.review_items.filter(status=ReviewItem.Status.OPEN).select_related("settlement_run"))
        return RewardReviewSerializer(items[0]).data if items else None

    @extend_schema_field(MoneyField(allow_null=True))
    def get_adjustments(self, reward) -> str | None:
        rows = getattr(reward, ADJUSTMENTS, None)
        if rows is None:
            rows = list(reward.adjustments.all())
        return format_money(sum((row.amount for row in rows), Decimal("0.00"))) if rows else None


class RewardIdsSerializer(serializers.Serializer):
    reward_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=INT64_MAX), min_length=1, max_length=1000)


class RefusedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reason = serializers.CharField()


class LedgerOutcomeSerializer(serializers.Serializer):
    done = serializers.ListField(child=serializers.IntegerField(), help_text="Ids of the rewards changed.")
    refused = RefusedSerializer(many=True, help_text="Rewards left as they were, with the reason (unknown ids too).")


def ledger_outcome(reward_ids, done, refused, *, noun: str = "reward") -> dict:
    """The service's (done, refused) as ids, plus the ids that matched no row (no `noun` <id>)."""
    known = {r.pk for r in done} | {r.pk for r, _ in refused}
    return {
        "done": [r.pk for r in done],
        "refused": [{"id": r.pk, "reason": reason} for r, reason in refused]
        + [{"id": pk, "reason": f"no {noun} {pk}"} for pk in dict.fromkeys(reward_ids) if pk not in known],
    }


class SettlementRunSerializer(ApiModelSerializer):
    campaign = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = SettlementRun
        fields = ["id", "campaign", "at", "started_at", "finished_at", "state", "triggered_by"]
        read_only_fields = fields


class SettlementRunDetailSerializer(SettlementRunSerializer):
    summary = serializers.JSONField(
        read_only=True,
        help_text="Counts, totals per period, unallocated money, the Top 10, and `budgets`: the budget view of every pool after "
        "the run, as GET /api/v1/campaigns/{slug}/budgets/ shows it now (kind, period, asset, pool, max_rewards, approved, paid, "
        "approved_and_paid, calculated, approvable, excess).",
    )
    config = serializers.JSONField(read_only=True, help_text="The campaign configuration the run used.")

    class Meta(SettlementRunSerializer.Meta):
        fields = [*SettlementRunSerializer.Meta.fields, "summary", "config"]
        read_only_fields = fields


class PayoutReportSerializer(ApiModelSerializer):
    campaign = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = PayoutReport
        fields = ["id", "campaign", "created_at", "created_by", "rows"]
        read_only_fields = fields


# --- Review items, adjustments, budgets (RULES.md section 8) -------------------------------------


class ReviewComputationSerializer(ApiModelSerializer):
    computed_amount = MoneyField(read_only=True)
    settlement_run = serializers.IntegerField(source="settlement_run_id", read_only=True)
    settled_at = UtcDateTimeField(source="settlement_run.at", read_only=True, help_text="The instant that settlement settled at.")

    class Meta:
        model = ReviewComputation
        fields = ["computed_amount", "settlement_run", "settled_at"]
        read_only_fields = fields


class ReviewItemSerializer(ApiModelSerializer):
    campaign = serializers.CharField(source="reward.campaign.slug", read_only=True)
    uid = serializers.IntegerField(source="reward.trader.uid", read_only=True)
    nickname = serializers.CharField(source="reward.trader.nickname", read_only=True)
    reward = serializers.IntegerField(source="reward_id", read_only=True)
    kind = serializers.CharField(source="reward.kind", read_only=True)
    period = serializers.CharField(source="reward.period", read_only=True)
    asset = serializers.CharField(source="reward.asset", read_only=True)
    reward_state = serializers.CharField(source="reward.state", read_only=True, help_text="`calculated`, `approved`, `paid` or `void`, now.")
    stored_amount = MoneyField(read_only=True, help_text="What the trader holds: the reward's amount, plus earlier adjustments of a paid reward.")
    computed_amount = MoneyField(read_only=True, help_text="What the latest settlement computes.")
    difference = MoneyField(read_only=True, help_text="Computed minus stored: + the trader would get more, - less.")
    status = serializers.CharField(read_only=True, help_text="`open` or `resolved` (closed).")
    resolution = serializers.CharField(
        read_only=True, help_text="How it was closed: `accept`, `keep`, `withdrawn` (a later settlement computes the ledger amount again), `superseded`; empty while open."
    )
    opened_at = UtcDateTimeField(source="created_at", read_only=True)
    closed_at = UtcDateTimeField(source="resolved_at", read_only=True, allow_null=True)
    closed_by = serializers.CharField(source="resolved_by", read_only=True)
    note = serializers.CharField(source="resolution_note", read_only=True, help_text="The note ops closed it with.")
    settlement_run = serializers.IntegerField(source="settlement_run_id", read_only=True, help_text="The latest settlement that computed it.")
    settled_at = UtcDateTimeField(source="settlement_run.at", read_only=True)
    explanation = Explanation(source="computed_detail", help_text="How the computed amount was computed (the reward's own explanation is the stored one). " + EXPLANATION_HELP)
    computations = ReviewComputationSerializer(many=True, read_only=True, help_text="Every amount the item was given, oldest first, each with its settlement.")

    class Meta:
        model = ReviewItem
        fields = [
            "id", "campaign", "uid", "nickname", "reward", "kind", "period", "asset", "reward_state",
            "stored_amount", "computed_amount", "difference", "status", "resolution", "reason",
            "opened_at", "updated_at", "closed_at", "closed_by", "note", "settlement_run", "settled_at", "explanation", "computations",
        ]  # fmt: skip
        read_only_fields = fields


class ReviewItemsCloseSerializer(serializers.Serializer):
    item_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=INT64_MAX), min_length=1, max_length=1000)
    note = StorableCharField(max_length=2000, help_text="Why: required, kept on the item, the reward's audit trail and any adjustment.")


class ReviewItemsOutcomeSerializer(serializers.Serializer):
    done = serializers.ListField(child=serializers.IntegerField(), help_text="Ids of the review items closed.")
    refused = RefusedSerializer(many=True, help_text="Items left as they were, with the reason (unknown ids too).")


class AdjustmentSerializer(ApiModelSerializer):
    campaign = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    uid = serializers.IntegerField(source="trader.uid", read_only=True)
    nickname = serializers.CharField(source="trader.nickname", read_only=True)
    reward = serializers.IntegerField(source="reward_id", read_only=True)
    kind = serializers.CharField(source="reward.kind", read_only=True)
    period = serializers.CharField(source="reward.period", read_only=True)
    amount = MoneyField(read_only=True, help_text="+ underpaid (finance tops up), - overpaid (finance claws back).")
    review_item = serializers.IntegerField(source="review_item_id", read_only=True, help_text="The review item kept on the paid reward.")

    class Meta:
        model = Adjustment
        fields = ["id", "campaign", "uid", "nickname", "reward", "kind", "period", "asset", "amount", "review_item", "note", "created_by", "created_at"]
        read_only_fields = fields


class PoolBudgetSerializer(serializers.Serializer):
    kind = serializers.CharField(source="pool.kind")
    period = serializers.CharField(source="pool.period")
    asset = serializers.CharField(source="pool.asset")
    pool = MoneyField(source="pool.budget", allow_null=True, help_text="null: no limit (first-post bonuses without `first_post_limit`).")
    max_rewards = serializers.IntegerField(source="pool.max_rewards", allow_null=True, help_text="At most this many rewards (`first_post_limit`); null: no count limit.")
    approved = MoneyField()
    paid = MoneyField()
    approved_and_paid = MoneyField(source="committed", help_text="Approved plus paid: never more than the pool.")
    calculated = MoneyField(help_text="Calculated rewards, previews included (approvable once due).")
    approvable = MoneyField(
        allow_null=True,
        help_text="What can still be approved: the pool minus approved and paid (negative when the pool was lowered below what is committed); null without a budget.",
    )
    excess = MoneyField(help_text="How far the calculated rewards exceed what can still be approved; 0.00 when they fit.")


class CampaignBudgetsSerializer(serializers.Serializer):
    campaign = serializers.CharField(source="campaign.slug")
    pools = PoolBudgetSerializer(many=True, help_text="Each content period, the leaderboard, the first-post bonuses; amounts per asset.")


# --- Public reads: leaderboard and a trader's status --------------------------------------------


class LeaderboardEntrySerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    nickname = serializers.CharField()
    score = serializers.CharField(help_text="Every digit, as a decimal string (e.g. \"84.005\").")


class LeaderboardSerializer(serializers.Serializer):
    campaign = serializers.CharField(source="campaign.slug")
    run = serializers.IntegerField(source="run.pk", allow_null=True, default=None, help_text="The settlement run it comes from; null before any.")
    settled_at = UtcDateTimeField(source="run.at", allow_null=True, default=None)
    final = serializers.BooleanField(help_text="false while the leaderboard is not yet due: a preview.")
    entries = LeaderboardEntrySerializer(many=True)


class StatusStepSerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=["registration", "signup", "posts"])
    done = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True, help_text="What is missing, as a code; empty when done.")


class StatusPostSerializer(serializers.Serializer):
    post_id = serializers.CharField()
    created_at = UtcDateTimeField()
    verdict = serializers.CharField(help_text="`qualified` or the reason code of RULES.md section 3.")
    score = serializers.IntegerField()
    approved_by_ops = serializers.BooleanField()
    featured_day = serializers.DateField(allow_null=True)
    homepage = serializers.BooleanField()


def _breakdown_detail(line) -> dict:
    breakdown = getattr(line, "breakdown", None)
    return breakdown.detail if breakdown is not None else {}


class StatusReviewSerializer(serializers.Serializer):
    amount = MoneyField(help_text="The new computation's amount: under review, not the reward's amount.")
    settled_at = UtcDateTimeField(help_text="The settlement that computed it.")
    explanation = serializers.SerializerMethodField(help_text="How the new amount was computed: shown beside the reward's own, never mixed with it. " + EXPLANATION_HELP)

    @extend_schema_field(Explanation())
    def get_explanation(self, review) -> dict:
        return _breakdown_detail(review)


class StatusRewardSerializer(serializers.Serializer):
    kind = serializers.CharField()
    period = serializers.CharField()
    asset = serializers.CharField()
    amount = MoneyField()
    state = serializers.CharField()
    preview = serializers.BooleanField()
    settled_at = UtcDateTimeField(allow_null=True, help_text="When the settlement whose computation the amount and its explanation are settled.")
    explanation = serializers.SerializerMethodField(help_text="How the amount was computed. " + EXPLANATION_HELP)
    review = StatusReviewSerializer(allow_null=True, help_text="A later settlement computes another amount, under review; null when none.")

    @extend_schema_field(Explanation())
    def get_explanation(self, line) -> dict:
        return _breakdown_detail(line)


class StatusStandingReviewSerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True, help_text="The new computation's rank; null when it gives no paid place.")
    score = serializers.CharField(allow_null=True)
    settled_at = UtcDateTimeField()


class StatusStandingSerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True, help_text="null when not in the paid places.")
    score = serializers.CharField(allow_null=True)
    due = serializers.BooleanField()
    settled_at = UtcDateTimeField()
    from_reward = serializers.BooleanField(help_text="true: the place the trader's leaderboard reward was computed with; false: the latest settlement's board.")
    review = StatusStandingReviewSerializer(
        allow_null=True, help_text="While the leaderboard reward's review item is open: the place its new computation gives (not in the ledger)."
    )


class StatusStarSerializer(serializers.Serializer):
    week = serializers.CharField()
    starts_at = UtcDateTimeField(allow_null=True)
    ends_at = UtcDateTimeField(allow_null=True)
    rank = serializers.IntegerField(allow_null=True)
    score = serializers.IntegerField()


class TraderStatusSerializer(serializers.Serializer):
    campaign = serializers.CharField(source="campaign.slug")
    uid = serializers.IntegerField(source="trader.uid")
    nickname = serializers.CharField(source="trader.nickname")
    phase = serializers.ChoiceField(choices=["upcoming", "open", "closed"])
    enrolled = serializers.BooleanField()
    steps = StatusStepSerializer(many=True)
    posts = StatusPostSerializer(many=True)
    qualifying = serializers.IntegerField(help_text="Qualifying posts.")
    posts_to_rank = serializers.IntegerField(help_text="Qualifying posts still needed to be ranked.")
    rewards = StatusRewardSerializer(many=True)
    standing = StatusStandingSerializer(allow_null=True)
    stars = StatusStarSerializer(many=True)


# --- Ops writes ---------------------------------------------------------------------------------


class MarkPaidSerializer(RewardIdsSerializer):
    reference = StorableCharField(max_length=200, help_text="The payout batch's external reference (created when the first reward is paid into it).")
    note = StorableCharField(allow_blank=True, required=False, default="", max_length=2000)


class MarkPaidOutcomeSerializer(LedgerOutcomeSerializer):
    batch = serializers.CharField(
        allow_null=True,
        help_text="The payout batch reference; null when nothing was paid and no batch has that reference (a batch is never created empty).",
    )
    detail = serializers.CharField(help_text="What happened, for people: how many rewards were paid in which batch, or why none was.")


class SettlementStartSerializer(serializers.Serializer):
    at = AwareDateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Settle as of this instant (ISO 8601 with an offset; default now). What is not due at it is written as a preview.",
    )


class SettlementPointerSerializer(serializers.Serializer):
    task_id = serializers.CharField()
    state = serializers.ChoiceField(
        choices=SettlementRun.State.values,
        help_text="From the run's row: queued, running once a worker claims it, finished once the ledger is written; "
        "failed when an attempt raised (a retry of the task may still finish it).",
    )
    url = serializers.SerializerMethodField(help_text="Where to follow it (this resource).")
    run = SettlementRunDetailSerializer(allow_null=True, help_text="The run once it has finished; null before.")

    def get_url(self, pointer) -> str:
        return reverse("api-settlement-get", args=[pointer.task_id])
