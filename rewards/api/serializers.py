from django.urls import reverse
from rest_framework import serializers

from rewards.models import PayoutReport, Reward, SettlementRun
from traders.api.records import INT64_MAX
from traders.api.serializers import ApiModelSerializer, AwareDateTimeField, MoneyField, StorableCharField, UtcDateTimeField


class RewardSerializer(ApiModelSerializer):
    campaign = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    uid = serializers.IntegerField(source="trader.uid", read_only=True)
    nickname = serializers.CharField(source="trader.nickname", read_only=True)
    amount = MoneyField(read_only=True)
    payout_batch = serializers.CharField(source="payout_batch.reference", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Reward
        fields = [
            "id", "campaign", "uid", "nickname", "kind", "period", "asset", "amount", "state", "preview",
            "approved_by", "approved_at", "payout_batch", "paid_at", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class RewardIdsSerializer(serializers.Serializer):
    reward_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=INT64_MAX), min_length=1, max_length=1000)


class RefusedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reason = serializers.CharField()


class LedgerOutcomeSerializer(serializers.Serializer):
    done = serializers.ListField(child=serializers.IntegerField(), help_text="Ids of the rewards changed.")
    refused = RefusedSerializer(many=True, help_text="Rewards left as they were, with the reason (unknown ids too).")


def ledger_outcome(reward_ids, done, refused) -> dict:
    """The service's (done, refused) as ids, plus the ids that matched no reward."""
    known = {r.pk for r in done} | {r.pk for r, _ in refused}
    return {
        "done": [r.pk for r in done],
        "refused": [{"id": r.pk, "reason": reason} for r, reason in refused]
        + [{"id": pk, "reason": f"no reward {pk}"} for pk in dict.fromkeys(reward_ids) if pk not in known],
    }


class SettlementRunSerializer(ApiModelSerializer):
    campaign = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    state = serializers.SerializerMethodField()

    class Meta:
        model = SettlementRun
        fields = ["id", "campaign", "at", "started_at", "finished_at", "state", "triggered_by"]
        read_only_fields = fields

    def get_state(self, run) -> str:
        return "finished" if run.finished_at else "running"


class SettlementRunDetailSerializer(SettlementRunSerializer):
    summary = serializers.JSONField(read_only=True, help_text="Counts, totals per period, unallocated money, the Top 10.")
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


class StatusRewardSerializer(serializers.Serializer):
    kind = serializers.CharField()
    period = serializers.CharField()
    asset = serializers.CharField()
    amount = MoneyField()
    state = serializers.CharField()
    preview = serializers.BooleanField()


class StatusStandingSerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True, help_text="null when not in the paid places.")
    score = serializers.CharField(allow_null=True)
    due = serializers.BooleanField()
    settled_at = UtcDateTimeField()


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
    reference = StorableCharField(max_length=200, help_text="The payout batch's external reference (created on first use).")
    note = StorableCharField(allow_blank=True, required=False, default="", max_length=2000)


class MarkPaidOutcomeSerializer(LedgerOutcomeSerializer):
    batch = serializers.CharField(help_text="The payout batch reference.")


class SettlementStartSerializer(serializers.Serializer):
    at = AwareDateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Settle as of this instant (ISO 8601 with an offset; default now). What is not due at it is written as a preview.",
    )


class SettlementPointerSerializer(serializers.Serializer):
    task_id = serializers.CharField()
    state = serializers.ChoiceField(choices=["queued", "finished", "failed"])
    url = serializers.SerializerMethodField(help_text="Where to follow it (this resource).")
    run = SettlementRunDetailSerializer(allow_null=True)

    def get_url(self, pointer) -> str:
        return reverse("api-settlement-get", args=[pointer.task_id])
