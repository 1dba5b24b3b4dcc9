from django import forms
from django_filters import rest_framework as filters

from core.api.records import INT64_MAX
from rewards.models import Adjustment, PayoutReport, ReviewItem, Reward, SettlementRun


class UIDFilter(filters.NumberFilter):
    field_class = forms.IntegerField


class RewardFilter(filters.FilterSet):
    campaign = filters.CharFilter(field_name="campaign__slug", help_text="Campaign slug.")
    kind = filters.ChoiceFilter(choices=Reward.Kind.choices)
    state = filters.ChoiceFilter(choices=Reward.State.choices)
    period = filters.CharFilter(help_text="`P1`, `P2`, ... or `ALL`.")
    uid = UIDFilter(field_name="trader__uid", min_value=1, max_value=INT64_MAX)
    preview = filters.BooleanFilter(help_text="true: not yet due, never payable.")

    class Meta:
        model = Reward
        fields = ["campaign", "kind", "state", "period", "uid", "preview"]


class SettlementRunFilter(filters.FilterSet):
    campaign = filters.CharFilter(field_name="campaign__slug", help_text="Campaign slug.")

    class Meta:
        model = SettlementRun
        fields = ["campaign"]


class PayoutReportFilter(filters.FilterSet):
    campaign = filters.CharFilter(field_name="campaign__slug", help_text="Campaign slug.")

    class Meta:
        model = PayoutReport
        fields = ["campaign"]


class ReviewItemFilter(filters.FilterSet):
    campaign = filters.CharFilter(field_name="reward__campaign__slug", help_text="Campaign slug.")
    status = filters.ChoiceFilter(choices=ReviewItem.Status.choices)
    # "" is "not closed": `status=open` says that.
    resolution = filters.ChoiceFilter(choices=[c for c in ReviewItem.Resolution.choices if c[0]])
    uid = UIDFilter(field_name="reward__trader__uid", min_value=1, max_value=INT64_MAX)
    kind = filters.ChoiceFilter(field_name="reward__kind", choices=Reward.Kind.choices)

    class Meta:
        model = ReviewItem
        fields = ["campaign", "status", "resolution", "uid", "kind"]


class AdjustmentFilter(filters.FilterSet):
    campaign = filters.CharFilter(field_name="campaign__slug", help_text="Campaign slug.")
    uid = UIDFilter(field_name="trader__uid", min_value=1, max_value=INT64_MAX)
    asset = filters.CharFilter(help_text="e.g. `USDT`, `TRIAL_FUND`.")

    class Meta:
        model = Adjustment
        fields = ["campaign", "uid", "asset"]
