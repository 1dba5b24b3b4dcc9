"""The traders' record formats: what a registration and a trading-stats record carry."""

from rest_framework import serializers

from core.api.records import INT32_MAX, INT64_MAX, RecordFormat
from traders.models import LeadTraderRegistration
from traders.services import REGISTRATION_HEADER, TRADER_STATS_HEADER

# The record formats below document the request bodies; the import services do the validating.


class RegistrationRecordSerializer(serializers.Serializer):
    uid = serializers.IntegerField(min_value=1, max_value=INT64_MAX)
    nickname = serializers.CharField(max_length=100, allow_blank=True, required=False)
    market = serializers.ChoiceField(choices=LeadTraderRegistration.Market.choices)
    status = serializers.ChoiceField(choices=LeadTraderRegistration.Status.choices)
    applied_at = serializers.DateTimeField(help_text="ISO 8601 with an offset.")
    approved_at = serializers.DateTimeField(allow_null=True, required=False, help_text="ISO 8601 with an offset, or null.")


class TraderStatsRecordSerializer(serializers.Serializer):
    uid = serializers.IntegerField(min_value=1, max_value=INT64_MAX)
    as_of = serializers.DateTimeField(help_text="ISO 8601 with an offset.")
    new_copiers = serializers.IntegerField(min_value=0, max_value=INT32_MAX)
    copier_pnl_usdt = serializers.DecimalField(max_digits=24, decimal_places=8, coerce_to_string=True, help_text="A decimal string, e.g. \"-50.25\".")


REGISTRATION_FORMAT = RecordFormat(fields=REGISTRATION_HEADER, int_max={"uid": INT64_MAX}, instants=("applied_at", "approved_at"))
TRADER_STATS_FORMAT = RecordFormat(fields=TRADER_STATS_HEADER, int_max={"uid": INT64_MAX, "new_copiers": INT32_MAX}, instants=("as_of",))
