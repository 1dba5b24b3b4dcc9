"""Serializers shared by every app's API: instants, money, storable text, record batches and their results."""

from datetime import timezone as dt_timezone

from django.db import models
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from core.api.records import MAX_BATCH
from core.parsing import parse_instant


class UtcDateTimeField(serializers.DateTimeField):
    """Instants leave the API in UTC (`...Z`). Rendered in Asia/Shanghai, an instant before 1901
    gets the local mean time offset (+08:05:43, not RFC 3339) and one near year 9999 overflows."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default_timezone", dt_timezone.utc)
        super().__init__(**kwargs)


class ApiModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping, models.DateTimeField: UtcDateTimeField}


class AwareDateTimeField(UtcDateTimeField):
    """An ISO 8601 instant that must carry its offset (RULES.md section 1): never guessed."""

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601 with an offset")
        try:
            # The same instant in UTC: PostgreSQL refuses offsets past 15:59 that ISO 8601 allows.
            return parse_instant(value, self.field_name or "value").astimezone(dt_timezone.utc)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None
        except OverflowError:
            raise serializers.ValidationError("the instant is out of range") from None


class MoneyField(serializers.DecimalField):
    """Money in JSON is a string with exactly two decimals (STYLE.md), never a float."""

    def __init__(self, **kwargs):
        kwargs.update(max_digits=12, decimal_places=2, coerce_to_string=True)
        super().__init__(**kwargs)


def _storable(value: str):
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise serializers.ValidationError("contains an unpaired surrogate, which cannot be stored") from None


class StorableCharField(serializers.RegexField):
    """Text the database can store: DRF refuses NUL characters, this also unpaired surrogates.
    The pattern puts both rules, and "not only spaces" unless blank is allowed, in the schema."""

    def __init__(self, **kwargs):
        regex = r"^[^\x00]*$" if kwargs.get("allow_blank") else r"^[^\x00]*[^\s\x00][^\x00]*$"
        super().__init__(regex, **kwargs)
        self.validators.append(_storable)


class RecordBatchInput(serializers.ListField):
    """A JSON array of records. Items are not validated here, not even for being objects (`null`
    included): the import service judges each one and the response reports it, so one bad record
    never refuses the batch. Only a body that is not an array, or one over MAX_BATCH, is refused."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.JSONField(allow_null=True))
        kwargs.setdefault("max_length", MAX_BATCH)
        super().__init__(**kwargs)


class RecordResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the record in the array, from 1.")
    ok = serializers.BooleanField()
    error = serializers.CharField(allow_null=True, help_text="Why it was rejected; null when imported.")


class BatchResultSerializer(serializers.Serializer):
    run = serializers.IntegerField(source="run.pk", help_text="The ImportRun id (admin: Import runs).")
    total = serializers.IntegerField(source="run.total")
    accepted = serializers.IntegerField(source="run.accepted")
    rejected = serializers.IntegerField(source="run.rejected")
    results = RecordResultSerializer(many=True)


BATCH_OK = OpenApiResponse(
    BatchResultSerializer,
    description="The batch was processed: every record is reported, the good ones imported and the bad ones kept as "
    "rejected records of the import run. Re-sending the same batch changes nothing.",
)
