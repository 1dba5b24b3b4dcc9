"""The posts webhook in the OpenAPI schema.

The webhook is a plain Django view (its credential is the HMAC signature, not a token), so
drf-spectacular does not see it; this postprocessing hook describes it by hand, reusing the post
record schema of the batch endpoint.
"""

from campaign import signing

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
                "Signed with HMAC-SHA256 of `\"<timestamp>.\" + body` under the shared WEBHOOK_SECRET; "
                "a delivery id is taken once. No token or session applies to this endpoint."
            ),
            "parameters": [
                _header(signing.TIMESTAMP_HEADER, "Unix seconds; at most WEBHOOK_MAX_AGE_SECONDS away.", "1771000000"),
                _header(signing.SIGNATURE_HEADER, "`sha256=` + hex HMAC-SHA256.", "sha256=" + "0" * 64),
                _header(signing.DELIVERY_HEADER, "The sender's unique id of the delivery (1 to 200 characters).", "d-1"),
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"campaign": {"type": "string"}, "items": {"type": "array", "items": item}},
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
                "400": _error("A body that is not the JSON expected, or no delivery id."),
                "401": _error("A missing or bad signature, or a timestamp too old or too far ahead."),
                "404": _error("Unknown campaign."),
                "409": _error("A replayed delivery id."),
                "413": _error("The body is too large."),
                "503": _error("WEBHOOK_SECRET is not set on this server."),
            },
            "security": [],
        }
    }
    return result
