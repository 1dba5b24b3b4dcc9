"""`GET /api/v1/campaigns/{slug}/status-links/{uid}/`: ops fetch the status link of a trader the
campaign knows, by UID, made the first time it is asked for; the `ops` scope and the permission
to see status links are both needed; a UID the campaign does not know is a 404."""

from urllib.parse import urlsplit

import pytest
from django.test import Client

from rewards.models import StatusLink
from rewards.services.status_links import status_links_rotate
from tests.api.conftest import OPS_PERMS, READ_PERMS, token_client
from tests.factories import CampaignFactory, SignupFactory, TraderFactory
from traders.services import registrations_import

pytestmark = pytest.mark.django_db
SLUG = "star-lead-traders-2"
REGISTERED_ONLY = "uid,nickname,market,status,applied_at,approved_at\n2001,newcomer,futures,pending,2026-02-01T10:00:00+08:00,\n"


def url(uid, slug=SLUG):
    return f"/api/v1/campaigns/{slug}/status-links/{uid}/"


@pytest.fixture
def known(settled):
    """The settled scenario (1001-1004), a trader registered only (2001), and one known to another
    campaign only (2005)."""
    registrations_import(data=REGISTERED_ONLY.encode())
    SignupFactory(campaign=CampaignFactory(slug="other"), trader=TraderFactory(uid=2005))
    return settled.campaign


def test_ops_get_the_link_of_a_registered_trader_without_posts_and_it_opens_their_page(ops_client, known):
    response = ops_client.get(url(2001))
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    body = response.json()
    assert set(body) == {"uid", "url"} and body["uid"] == 2001
    assert body["url"].startswith("http://testserver/s/")
    link = StatusLink.objects.get(campaign=known, trader__uid=2001)
    assert link.version == 1
    page = Client().get(urlsplit(body["url"]).path)
    assert page.status_code == 200 and "UID 2001" in page.content.decode()


def test_asking_twice_gives_the_same_link_and_a_rotated_one_gives_the_new_version(ops_client, known):
    first = ops_client.get(url(1002)).json()["url"]
    assert ops_client.get(url(1002)).status_code == 200
    assert StatusLink.objects.filter(campaign=known, trader__uid=1002).count() == 1
    status_links_rotate(link_ids=StatusLink.objects.filter(trader__uid=1002).values_list("pk", flat=True), by="ops")
    second = ops_client.get(url(1002)).json()["url"]
    client = Client()
    assert client.get(urlsplit(first).path).status_code == 404  # rotated: the old link is dead
    assert client.get(urlsplit(second).path).status_code == 200
    assert StatusLink.objects.get(trader__uid=1002).version == 2


@pytest.mark.parametrize("uid", [2005, 987654, 0, 2**63, 10**30])
def test_a_uid_the_campaign_does_not_know_is_a_404_and_makes_no_link(ops_client, known, uid):
    response = ops_client.get(url(uid))
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert not StatusLink.objects.exists()


def test_an_unknown_campaign_is_a_404(ops_client, known):
    assert ops_client.get(url(1001, slug="no-such-campaign")).status_code == 404
    assert not StatusLink.objects.exists()


def test_a_read_scope_token_is_refused_even_with_the_permission(make_token, known):
    response = token_client(make_token("read", perms=(*READ_PERMS, "rewards.view_statuslink"))).get(url(1001))
    assert response.status_code == 403 and "ops" in response.json()["detail"]
    assert not StatusLink.objects.exists()


def test_an_ops_token_whose_user_cannot_see_status_links_is_refused(make_token, known):
    perms = [perm for perm in OPS_PERMS if perm != "rewards.view_statuslink"]
    response = token_client(make_token("ops", perms=perms)).get(url(1001))
    assert response.status_code == 403 and "rewards.view_statuslink" in response.json()["detail"]
    assert not StatusLink.objects.exists()


def test_the_schema_documents_the_operation_its_scope_and_permission(client):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/campaigns/{slug}/status-links/{uid}/"]["get"]
    assert operation["operationId"] == "status_link_get"
    uid = next(p for p in operation["parameters"] if p["name"] == "uid")
    assert uid["in"] == "path" and uid["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
    assert set(operation["responses"]) >= {"200", "401", "403", "404"}
    forbidden = operation["responses"]["403"]["description"]
    assert "`ops`" in forbidden and "`read`" not in forbidden and "`rewards.view_statuslink`" in forbidden
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][ref]["properties"]) == {"uid", "url"}
