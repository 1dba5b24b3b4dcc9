"""HTTP views of the campaign app: the signed posts webhook (contract: docs/webhook-contract.md)."""

import json
import re

from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from campaign import signing
from campaign.models import Campaign
from campaign.services.webhook import DeliveryReplayed, webhook_delivery_receive
from core.api.parsers import MAX_DEPTH, json_depth
from core.api.records import MAX_BATCH

_SLUG_RE = re.compile(r"[-a-zA-Z0-9_]{1,64}")  # Campaign.slug


def _error(status, code, detail):
    return JsonResponse({"error": code, "detail": detail}, status=status)


def _decode(body: bytes):
    """The body as JSON, or raise ValueError saying why not: UTF-8 only (json.loads would also
    guess UTF-16 and 32), and nested no deeper than the API takes (MAX_DEPTH)."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"the body is not UTF-8: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"the body is not JSON: {exc}") from None
    except RecursionError:  # the C scanner recurses once a level: 100,000 "[" end here
        raise ValueError(f"the body is not JSON we take: nested deeper than {MAX_DEPTH} levels") from None
    if json_depth(payload) > MAX_DEPTH:
        raise ValueError(f"the body is not JSON we take: nested deeper than {MAX_DEPTH} levels")
    return payload


@method_decorator(csrf_exempt, name="dispatch")
class PostsWebhookView(View):
    """`POST /hooks/posts/`: a signed delivery of posts, ingested through the posts service.

    Contract: docs/webhook-contract.md. Body: `{"campaign": "<slug>", "items": [post, ...]}`,
    UTF-8 JSON of at most MAX_BODY_BYTES (config.middleware answers 413 before reading a longer
    one), nested at most MAX_DEPTH levels, at most MAX_BATCH items (as an API batch). Headers:
    `X-Gate-Timestamp` (Unix seconds), `X-Gate-Delivery` (the sender's unique id) and
    `X-Gate-Signature` (`sha256=` HMAC-SHA256 of `"<timestamp>.<delivery id>." + body` with the
    shared secret). Refused with a JSON error: a bad or missing signature or a timestamp more than
    WEBHOOK_MAX_AGE_SECONDS away (401), a missing or malformed delivery id (400), a body that is
    not that JSON or has too many items (400), an unknown campaign (404), a replayed delivery id
    (409). Permission: the shared secret, nothing else; no session or token applies here.

    A delivery is taken in one insert and answered 202 (queued), with the items refused at the
    door and why (the checks that need no stored state); a worker then stores its posts
    (`webhook_deliveries_process`) and another run judges them. Exactly once: the delivery id is
    unique, and a delivery's posts commit with its processed mark.
    """

    http_method_names = ["post"]

    def http_method_not_allowed(self, request, *args, **kwargs):
        response = _error(405, "method_not_allowed", f"{request.method[:20]} is not allowed here; send POST")
        response["Allow"] = "POST"
        return response

    def post(self, request):
        if not settings.WEBHOOK_SECRET:
            return _error(503, "not_configured", "WEBHOOK_SECRET is not set on this server")
        body = request.body
        delivery_id = request.headers.get(signing.DELIVERY_HEADER, "")
        try:
            signing.verify(
                settings.WEBHOOK_SECRET,
                request.headers.get(signing.TIMESTAMP_HEADER, ""),
                delivery_id,
                body,
                request.headers.get(signing.SIGNATURE_HEADER, ""),
                now=timezone.now(),
                max_age_seconds=settings.WEBHOOK_MAX_AGE_SECONDS,
            )
        except signing.SignatureError as exc:
            return _error(exc.status, exc.code, str(exc))
        try:
            payload = _decode(body)
        except ValueError as exc:
            return _error(400, "bad_json", str(exc))
        if not isinstance(payload, dict) or not isinstance(payload.get("items"), list) or not isinstance(payload.get("campaign"), str):
            return _error(400, "bad_body", 'expected {"campaign": "<slug>", "items": [...]}')
        if len(payload["items"]) > MAX_BATCH:
            # As an API batch: each item costs a record, a check and a line of the answer, so a
            # 5 MB body of 2.6 million zeros would cost a gigabyte and minutes, not milliseconds.
            return _error(400, "too_many_items", f"a delivery has at most {MAX_BATCH:,} items; this one has {len(payload['items']):,}")
        # Only a possible slug reaches the database: PostgreSQL refuses NUL and lone surrogates.
        slug = payload["campaign"]
        campaign = Campaign.objects.filter(slug=slug).first() if _SLUG_RE.fullmatch(slug) else None
        if campaign is None:
            return _error(404, "unknown_campaign", f"no campaign with slug {slug[:200]!r}")
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
