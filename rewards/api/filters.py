from django import forms
from django_filters import rest_framework as filters

from rewards.models import PayoutReport, Reward, SettlementRun
from traders.api.records import INT64_MAX


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
