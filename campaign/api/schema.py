"""The posts webhook in the OpenAPI schema.

The webhook is a plain Django view (its credential is the HMAC signature, not a token), so
drf-spectacular does not see it; this postprocessing hook describes it by hand, reusing the post
record schema of the batch endpoint.
"""

from campaign import signing
from core.api.parsers import MAX_DEPTH
from core.api.records import MAX_BATCH

PATH = "/api/v1/hooks/posts/"


def _error(description):
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
                    "required": ["error", "detail"],
                }
            }
        },
    }


def _header(name, description, example):
    return {"in": "header", "name": name, "required": True, "description": description, "schema": {"type": "string"}, "example": example}


def add_posts_webhook(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    item = {"$ref": "#/components/schemas/PostRecordRequest"} if "PostRecordRequest" in schemas else {"type": "object"}
    result.setdefault("paths", {})[PATH] = {
        "post": {
            "operationId": "posts_webhook",
            "tags": ["ingest"],
            "summary": "Signed delivery of posts (same as /hooks/posts/)",
            "description": (
                "Posts pushed by the exchange: kept in one insert and answered 202, then stored by a worker through "
                "the same service as the batch endpoint, exactly once per delivery id. "
                "Signed with HMAC-SHA256, under the shared WEBHOOK_SECRET, of the bytes "
                "`<X-Gate-Timestamp> \".\" <X-Gate-Delivery> \".\" <body as sent>`; a delivery id is taken once "
                "(a retry with the same id is 409), and a post's figures are those of the delivery received last. "
                "The body is UTF-8 JSON of at most MAX_BODY_BYTES (5 MiB by default; larger is 413 before it is read), "
                f"with at most {MAX_BATCH:,} items, nested at most {MAX_DEPTH} levels. No token or session applies to this endpoint. "
                "Contract, senders to copy and a worked signature: docs/webhook-contract.md."
            ),
            "parameters": [
                _header(signing.TIMESTAMP_HEADER, "When the sender signed: integer Unix seconds, at most WEBHOOK_MAX_AGE_SECONDS (300) away.", "1771588800"),
                _header(signing.DELIVERY_HEADER, f"The sender's unique id of the delivery, the same on every retry: {signing.DELIVERY_ID_RULE}. Signed.", "d-20260220-0001"),
                _header(signing.SIGNATURE_HEADER, "`sha256=` + lowercase hex HMAC-SHA256 of timestamp, \".\", delivery id, \".\", body.", "sha256=" + "0" * 64),
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"campaign": {"type": "string"}, "items": {"type": "array", "items": item, "maxItems": MAX_BATCH}},
                            "required": ["campaign", "items"],
                        }
                    }
                },
            },
            "responses": {
                "202": {
                    "description": (
                        "Queued: the delivery is kept and a worker stores its posts, then judges them. "
                        "Each item refused at the door is listed with its reason (the checks that need no stored data)."
                    ),
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "delivery": {"type": "string"},
                                    "status": {"type": "string", "enum": ["queued"]},
                                    "accepted": {"type": "integer"},
                                    "rejected": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {"item": {"type": "integer"}, "reason": {"type": "string"}},
                                            "required": ["item", "reason"],
                                        },
                                    },
                                },
                                "required": ["delivery", "status", "accepted", "rejected"],
                            }
                        }
                    },
                },
                "400": _error(
                    f"`bad_json` (not UTF-8 JSON, or nested deeper than {MAX_DEPTH} levels), `bad_body` (not the delivery expected), "
                    f"`too_many_items` (over {MAX_BATCH:,}), "
                    "`missing_delivery` or `bad_delivery` (the delivery id header)."
                ),
                "401": _error("`missing_signature`, `bad_timestamp`, `bad_signature`, or `stale_timestamp` (too old or too far ahead)."),
                "404": _error("`unknown_campaign`."),
                "405": _error("`method_not_allowed`: only POST."),
                "409": _error("`replayed_delivery`: this delivery id was received before; nothing changed."),
                "413": _error("`too_large`: the body is over MAX_BODY_BYTES (5 MiB by default); the detail gives its size and the limit."),
                "503": _error("`not_configured`: WEBHOOK_SECRET is not set on this server."),
            },
            "security": [],
        }
    }
    return result
