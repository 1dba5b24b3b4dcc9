"""The OpenAPI schema generates without warnings and validates; the docs need no CDN."""

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_schema_generates_without_warnings_and_validates(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    assert schema["components"]["securitySchemes"]["apiToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["apiToken"]["description"],
    }
    assert schema["paths"]["/api/v1/hooks/posts/"]["post"]["security"] == []
    assert "security" not in schema["paths"]["/api/v1/campaigns/{slug}/leaderboard/"]["get"]


def test_the_docs_load_swagger_ui_from_our_own_static_files(client):
    page = client.get("/api/docs/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    # The start script is the page's own URL (`?script`): no inline script under the CSP.
    assert "/api/docs/?script=" in sources
    sources.remove("/api/docs/?script=")
    assert sources and all(src.startswith("/static/drf_spectacular_sidecar/") for src in sources)
    # Any URL of a CDN, not the letters: the page also carries a random CSRF token.
    assert not re.search(r"https?://[^\s\"']*(cdn|unpkg)", page.lower())
    for src in sources:
        assert finders.find(src.removeprefix("/static/")), src


def test_the_webhook_answer_is_the_one_the_schema_documents(tmp_path, client, campaign, settings):
    import json

    from django.utils import timezone

    from campaign import signing
    from tests.factories import post_item

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out))
    documented = yaml.safe_load(out.read_text())["paths"]["/api/v1/hooks/posts/"]["post"]["responses"]
    assert "200" not in documented
    required = documented["202"]["content"]["application/json"]["schema"]["required"]
    body = json.dumps({"campaign": campaign.slug, "items": [post_item("s1", 1), 7]}).encode()
    headers = signing.signed_headers(settings.WEBHOOK_SECRET, body, now=timezone.now(), delivery_id="schema-1")
    response = client.post("/api/v1/hooks/posts/", data=body, content_type="application/json", headers=headers)
    assert response.status_code == 202 and sorted(response.json()) == sorted(required)
