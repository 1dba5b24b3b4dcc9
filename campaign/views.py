"""HTTP views of the campaign app: the signed posts webhook."""

import json

from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from campaign import signing
from campaign.models import Campaign
from campaign.services.webhook import DeliveryReplayed, webhook_delivery_receive

MAX_BODY_BYTES = 5 * 1024 * 1024


def _error(status, code, detail):
    return JsonResponse({"error": code, "detail": detail}, status=status)


@method_decorator(csrf_exempt, name="dispatch")
class PostsWebhookView(View):
    """`POST /hooks/posts/`: a signed delivery of posts, ingested through the posts service.

    Body: `{"campaign": "<slug>", "items": [post, ...]}`. Headers: `X-Gate-Timestamp` (Unix
    seconds), `X-Gate-Signature` (`sha256=` HMAC-SHA256 of `"<timestamp>." + body` with the shared
    secret) and `X-Gate-Delivery` (the sender's unique id). Refused with a JSON error: a bad or
    missing signature (401), a timestamp more than WEBHOOK_MAX_AGE_SECONDS away (401), a replayed
    delivery id (409), a body that is not that JSON (400). Permission: the shared secret, nothing
    else; there is no session or token on this door.

    A delivery is taken in one insert and answered 202 (queued), with the items refused at the
    door and why (the checks that need no stored state); a worker then stores its posts
    (`webhook_deliveries_process`) and another run judges them. Exactly once: the delivery id is
    unique, and a delivery's posts commit with its processed mark.
    """

    http_method_names = ["post"]

    def post(self, request):
        if not settings.WEBHOOK_SECRET:
            return _error(503, "not_configured", "WEBHOOK_SECRET is not set on this server")
        body = request.body
        if len(body) > MAX_BODY_BYTES:
            return _error(413, "too_large", f"the body exceeds {MAX_BODY_BYTES} bytes")
        try:
            signing.verify(
                settings.WEBHOOK_SECRET,
                request.headers.get(signing.TIMESTAMP_HEADER, ""),
                body,
                request.headers.get(signing.SIGNATURE_HEADER, ""),
                now=timezone.now(),
                max_age_seconds=settings.WEBHOOK_MAX_AGE_SECONDS,
            )
        except signing.SignatureError as exc:
            return _error(401, exc.code, str(exc))
        delivery_id = request.headers.get(signing.DELIVERY_HEADER, "").strip()
        if not delivery_id or len(delivery_id) > 200:
            return _error(400, "missing_delivery", f"the {signing.DELIVERY_HEADER} header (1 to 200 characters) is required")
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return _error(400, "bad_json", f"the body is not JSON: {exc}")
        if not isinstance(payload, dict) or not isinstance(payload.get("items"), list) or not isinstance(payload.get("campaign"), str):
            return _error(400, "bad_body", 'expected {"campaign": "<slug>", "items": [...]}')
        campaign = Campaign.objects.filter(slug=payload["campaign"]).first()
        if campaign is None:
            return _error(404, "unknown_campaign", f"no campaign with slug {payload['campaign']!r}")
        try:
            receipt = webhook_delivery_receive(campaign=campaign, delivery_id=delivery_id, body=body, items=payload["items"])
        except DeliveryReplayed:
            return _error(409, "replayed_delivery", f"delivery {delivery_id} was already received")
        return JsonResponse(
            {
                "delivery": receipt.delivery_id,
                "status": "queued",
                "accepted": receipt.accepted,
                "rejected": [{"item": line, "reason": reason} for line, reason in receipt.rejected],
            },
            status=202,
        )
