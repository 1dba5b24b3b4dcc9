"""The public reads: a trader's status by their signed link shows that trader only, and the
leaderboard shows nicknames and scores, never a UID or contact data."""

import re

import pytest
from django.core import signing
from rest_framework.test import APIClient

from campaign.models import Signup
from rewards.models import StatusLink
from rewards.selectors.links import STATUS_SALT, status_link_token
from traders.models import Trader

pytestmark = pytest.mark.django_db


@pytest.fixture
def links(settled):
    Signup.objects.filter(trader__uid=1001).update(contact="alpha@example.com")
    Signup.objects.filter(trader__uid=1002).update(contact="+86 138 0000 0000")
    return {uid: StatusLink.objects.create(campaign=settled.campaign, trader=Trader.objects.get(uid=uid)) for uid in (1001, 1002)}


def status(token):
    return APIClient().get(f"/api/v1/status/{token}/")


@pytest.mark.parametrize("uid, other", [(1001, 1002), (1002, 1001)])
def test_a_traders_token_reads_that_traders_data_and_nobody_elses(links, uid, other):
    response = status(status_link_token(links[uid]))
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    body = response.json()
    assert body["uid"] == uid
    post_ids = {p["post_id"] for p in body["posts"]}
    assert post_ids and all(pid.startswith({1001: "a", 1002: "b"}[uid]) for pid in post_ids)
    assert body["rewards"] and body["standing"]["rank"] == {1001: 1, 1002: 2}[uid]
    text = response.content.decode()
    assert not re.search(rf"\b{other}\b", text)
    assert "example.com" not in text and "138 0000" not in text


def test_a_forged_expired_or_rotated_token_shows_nothing(links, settings):
    link = links[1001]
    token = status_link_token(link)
    forged = signing.dumps({"u": 1002, "c": link.campaign.slug, "v": link.version}, salt="another.salt")
    other_key = signing.dumps({"u": 1002, "c": link.campaign.slug, "v": link.version}, salt=STATUS_SALT, key="not-our-secret-key")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (forged, other_key, tampered, "x" * 500, "nonsense"):
        response = status(bad)
        assert response.status_code == 404 and response.json() == {"error": "not_found", "detail": "no status for this link"}
    StatusLink.objects.filter(pk=link.pk).update(version=link.version + 1)
    assert status(token).status_code == 404
    settings.STATUS_LINK_MAX_AGE_DAYS = 0
    link.refresh_from_db()
    assert status(status_link_token(link)).status_code == 404


def test_the_leaderboard_shows_nicknames_and_scores_only(links):
    response = APIClient().get("/api/v1/campaigns/star-lead-traders-2/leaderboard/")
    body = response.json()
    assert body["final"] is True and body["run"] is not None
    assert body["entries"] == [{"rank": 1, "nickname": "alpha", "score": "84.005"}, {"rank": 2, "nickname": "=cmd|' /C calc'!A0", "score": "36"}]
    text = response.content.decode()
    assert not re.search(r"\b100[12]\b", text) and "example.com" not in text


def test_the_leaderboard_before_any_settlement_is_empty(campaign):
    body = APIClient().get(f"/api/v1/campaigns/{campaign.slug}/leaderboard/").json()
    assert (body["run"], body["settled_at"], body["final"], body["entries"]) == (None, None, False, [])
