"""Record formats of sign-ups and posts (RULES.md section 9), as API request bodies."""

from rest_framework import serializers

from campaign.services.post_records import POST_FIELDS
from campaign.services.signups import SIGNUP_HEADER
from core.api.records import INT32_MAX, INT64_MAX, RecordFormat

# These document the request bodies; the import services do the validating, record by record.


class SignupRecordSerializer(serializers.Serializer):
    uid = serializers.IntegerField(min_value=1, max_value=INT64_MAX)
    submitted_at = serializers.DateTimeField(help_text="ISO 8601 with an offset.")
    square_handle = serializers.CharField(max_length=100, allow_blank=True, required=False)
    contact = serializers.CharField(max_length=200, allow_blank=True, required=False)


class PostRecordSerializer(serializers.Serializer):
    post_id = serializers.CharField(max_length=128)
    author_uid = serializers.IntegerField(min_value=1, max_value=INT64_MAX)
    created_at = serializers.DateTimeField(help_text="ISO 8601 with an offset.")
    text = serializers.CharField(allow_blank=True)
    likes = serializers.IntegerField(min_value=0, max_value=INT32_MAX)
    comments = serializers.IntegerField(min_value=0, max_value=INT32_MAX)
    shares = serializers.IntegerField(min_value=0, max_value=INT32_MAX)
    views = serializers.IntegerField(min_value=0, max_value=INT64_MAX)
    deleted = serializers.BooleanField()


SIGNUP_FORMAT = RecordFormat(fields=SIGNUP_HEADER, int_max={"uid": INT64_MAX}, instants=("submitted_at",))
POST_FORMAT = RecordFormat(
    fields=POST_FIELDS,
    int_max={"author_uid": INT64_MAX, "likes": INT32_MAX, "comments": INT32_MAX, "shares": INT32_MAX, "views": INT64_MAX},
    instants=("created_at",),
)
