"""Money after approval through the API (RULES.md section 8): review items listed, accepted and
kept; adjustments and their report; the budget view; explanations that follow the money in the
rewards list and on the trader's status."""

import csv
import io
import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook
from rest_framework.test import APIClient

from campaign.models import Post
from rewards.api.serializers import StatusRewardSerializer
from rewards.budgets import pool_budgets_get
from rewards.models import Adjustment, ReviewItem, Reward, RewardEvent, StatusLink
from rewards.selectors.breakdown import Breakdown
from rewards.selectors.links import status_link_token
from rewards.selectors.status import ReviewLine, RewardLine
from rewards.services import payout_rows, rewards_approve, rewards_mark_paid, settle_campaign
from tests.api.conftest import OPS_PERMS, token_client
from tests.rewards.scenario import scenario_load

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
LATER = DUE + timedelta(days=1)


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def reward(uid, kind):
    return Reward.objects.get(trader__uid=uid, kind=kind)


@pytest.fixture
def loaded(campaign):
    """The scenario of tests/rewards (its `loaded` fixture): imported, judged, not settled."""
    scenario_load(campaign)
    return campaign


@pytest.fixture
def reviewed(loaded, make_user):
    """Settled when due; 1001's content-pool reward approved, its first-post bonus and
    leaderboard reward paid, 1002's leaderboard reward approved. Then every post of 1001 is
    deleted and the campaign settled again a day later: 1001's three rewards compute 0.00 and
    1002's leaderboard reward 4000.00 (first place now), each an open review item."""
    first = settle_campaign(campaign=loaded, at=DUE)
    staff = make_user(perms=OPS_PERMS)
    approve = [reward(1001, kind).pk for kind in ("content_pool", "first_post", "leaderboard")] + [reward(1002, "leaderboard").pk]
    assert len(rewards_approve(reward_ids=approve, user=staff)[0]) == 4
    rewards_mark_paid(reward_ids=[reward(1001, "first_post").pk, reward(1001, "leaderboard").pk], reference="BANK-1", user=staff)
    Post.objects.filter(author__uid=1001).update(deleted=True, judged_at=None)
    second = settle_campaign(campaign=loaded, at=LATER)
    return {"campaign": loaded, "first": first, "second": second, "items": {(i.reward.trader.uid, i.reward.kind): i for i in ReviewItem.objects.select_related("reward__trader")}}


def test_the_settlements_left_one_open_review_item_per_changed_reward(reviewed):
    items = reviewed["items"]
    assert sorted(items) == [(1001, "content_pool"), (1001, "first_post"), (1001, "leaderboard"), (1002, "leaderboard")]
    assert {key: (i.stored_amount, i.computed_amount, i.status) for key, i in items.items()} == {
        (1001, "content_pool"): (Decimal("100.00"), Decimal("0.00"), "open"),
        (1001, "first_post"): (Decimal("30.00"), Decimal("0.00"), "open"),
        (1001, "leaderboard"): (Decimal("4000.00"), Decimal("0.00"), "open"),
        (1002, "leaderboard"): (Decimal("3000.00"), Decimal("4000.00"), "open"),
    }


def test_review_items_are_listed_with_their_computations_and_explanation(reviewed, read_client):
    item = reviewed["items"][(1002, "leaderboard")]
    body = read_client.get(f"/api/v1/review-items/?uid=1002&campaign={reviewed['campaign'].slug}").json()
    assert body["count"] == 1
    got = body["results"][0]
    assert got == read_client.get(f"/api/v1/review-items/{item.pk}/").json()
    second = reviewed["second"]
    assert {k: v for k, v in got.items() if k not in ("opened_at", "updated_at", "explanation")} == {
        "id": item.pk, "campaign": "star-lead-traders-2", "uid": 1002, "nickname": "=cmd|' /C calc'!A0", "reward": item.reward_id,
        "kind": "leaderboard", "period": "ALL", "asset": "USDT", "reward_state": "approved",
        "stored_amount": "3000.00", "computed_amount": "4000.00", "difference": "1000.00",
        "status": "open", "resolution": "", "reason": item.reason, "closed_at": None, "closed_by": "", "note": "",
        "settlement_run": second.pk, "settled_at": "2026-02-26T16:00:00Z",
        "computations": [{"computed_amount": "4000.00", "settlement_run": second.pk, "settled_at": "2026-02-26T16:00:00Z"}],
    }  # fmt: skip
    # The new computation: 1002 is first now, with the first tier.
    assert got["explanation"] == item.computed_detail and got["explanation"]["rank"] == 1 and got["explanation"]["tier"] == "4000.00"
    assert item.reason


def test_the_review_item_list_filters(reviewed, read_client):
    def keys(query):
        return sorted((r["uid"], r["kind"]) for r in read_client.get(f"/api/v1/review-items/?{query}").json()["results"])

    assert keys("uid=1001&kind=leaderboard") == [(1001, "leaderboard")]
    assert keys("kind=content_pool&status=open") == [(1001, "content_pool")]
    assert keys("status=resolved") == [] and keys("resolution=keep") == [] and keys("campaign=other") == []
    response = read_client.get("/api/v1/review-items/?status=closed")
    assert response.status_code == 400 and "status" in response.json()["fields"]
    assert read_client.get("/api/v1/review-items/999999/").status_code == 404
    page = read_client.get("/api/v1/review-items/?limit=1&offset=1").json()
    assert page["count"] == 4 and len(page["results"]) == 1


def test_listing_review_items_and_rewards_costs_the_same_queries_for_one_row_or_all(reviewed, read_client):
    # A smaller first tier: 1002's item gets a second computation, 3500.00.
    campaign = reviewed["campaign"]
    campaign.leaderboard_tiers = ["3500.00", "3000.00"]
    campaign.save(update_fields=["leaderboard_tiers"])
    settle_campaign(campaign=campaign, at=LATER + timedelta(hours=1))
    for url in ("/api/v1/review-items/", "/api/v1/rewards/"):
        counts = []
        for limit in (1, 100):
            with CaptureQueriesContext(connection) as queries:
                body = read_client.get(f"{url}?limit={limit}").json()
            counts.append(len(queries))
        assert body["count"] > 1 and counts[0] == counts[1], (url, counts)
    computations = {(i["uid"], i["kind"]): [c["computed_amount"] for c in i["computations"]] for i in read_client.get("/api/v1/review-items/").json()["results"]}
    assert computations[(1002, "leaderboard")] == ["4000.00", "3500.00"] and computations[(1001, "leaderboard")] == ["0.00"]


def test_accepting_an_approved_reward_takes_the_computed_amount_and_its_explanation(reviewed, ops_client):
    item = reviewed["items"][(1002, "leaderboard")]
    body = post(ops_client, "/api/v1/review-items/accept/", {"item_ids": [item.pk], "note": "1001's posts were deleted: 1002 is first"}).json()
    assert body == {"done": [item.pk], "refused": []}
    leaderboard = reward(1002, "leaderboard")
    assert (leaderboard.amount, leaderboard.state, leaderboard.approved_by, leaderboard.settlement_run_id) == (Decimal("4000.00"), "calculated", "", reviewed["second"].pk)
    assert leaderboard.detail == item.computed_detail
    item.refresh_from_db()
    assert (item.status, item.resolution, item.resolution_note) == ("resolved", "accept", "1001's posts were deleted: 1002 is first")
    assert item.resolved_by.startswith("user") and item.resolved_at is not None
    assert RewardEvent.objects.filter(reward=leaderboard, action="accept_review", from_state="approved", to_state="calculated").exists()
    assert not Adjustment.objects.exists()


def test_accepting_a_computed_zero_voids_the_reward(reviewed, ops_client):
    item = reviewed["items"][(1001, "content_pool")]
    assert post(ops_client, "/api/v1/review-items/accept/", {"item_ids": [item.pk], "note": "posts deleted"}).json()["done"] == [item.pk]
    assert (reward(1001, "content_pool").amount, reward(1001, "content_pool").state) == (Decimal("0.00"), "void")


def test_keeping_a_paid_reward_records_the_difference_as_an_adjustment_for_finance(reviewed, ops_client, read_client):
    item = reviewed["items"][(1001, "leaderboard")]
    payout_before = payout_rows(campaign=reviewed["campaign"])
    body = post(ops_client, "/api/v1/review-items/keep/", {"item_ids": [item.pk], "note": "  claw back from the next payout  "}).json()
    assert body == {"done": [item.pk], "refused": []}
    paid = reward(1001, "leaderboard")
    assert (paid.amount, paid.state, paid.payout_batch.reference) == (Decimal("4000.00"), "paid", "BANK-1")  # a paid row never changes
    adjustment = Adjustment.objects.get()
    assert (adjustment.reward_id, adjustment.review_item_id, adjustment.amount, adjustment.asset, adjustment.note) == (
        paid.pk, item.pk, Decimal("-4000.00"), "USDT", "claw back from the next payout"
    )
    assert payout_rows(campaign=reviewed["campaign"]) == payout_before  # never in the payout report

    listed = read_client.get("/api/v1/adjustments/?uid=1001&asset=USDT&campaign=star-lead-traders-2").json()
    assert [{k: v for k, v in row.items() if k != "created_at"} for row in listed["results"]] == [{
        "id": adjustment.pk, "campaign": "star-lead-traders-2", "uid": 1001, "nickname": "alpha", "reward": paid.pk, "kind": "leaderboard",
        "period": "ALL", "asset": "USDT", "amount": "-4000.00", "review_item": item.pk, "note": "claw back from the next payout",
        "created_by": adjustment.created_by,
    }]  # fmt: skip
    assert read_client.get("/api/v1/adjustments/?asset=TRIAL_FUND").json()["count"] == 0
    assert read_client.get("/api/v1/adjustments/?uid=1002").json()["count"] == 0

    # The rewards list shows the adjustment beside the paid reward, and no open review any more.
    row = read_client.get("/api/v1/rewards/?uid=1001&kind=leaderboard").json()["results"][0]
    assert (row["amount"], row["adjustments"], row["review"]) == ("4000.00", "-4000.00", None)
    assert read_client.get("/api/v1/review-items/?resolution=keep&uid=1001").json()["results"][0]["note"] == "claw back from the next payout"


def test_keeping_an_approved_reward_changes_nothing_but_the_item(reviewed, ops_client):
    item = reviewed["items"][(1002, "leaderboard")]
    assert post(ops_client, "/api/v1/review-items/keep/", {"item_ids": [item.pk], "note": "tiers are final"}).json()["done"] == [item.pk]
    assert (reward(1002, "leaderboard").amount, reward(1002, "leaderboard").state) == (Decimal("3000.00"), "approved")
    assert not Adjustment.objects.exists()


def test_closing_refuses_paid_accepts_closed_items_and_unknown_ids(reviewed, ops_client):
    paid = reviewed["items"][(1001, "first_post")]
    approved = reviewed["items"][(1001, "content_pool")]
    body = post(ops_client, "/api/v1/review-items/accept/", {"item_ids": [paid.pk, approved.pk, 999999], "note": "accept all"}).json()
    assert body["done"] == [approved.pk]
    assert body["refused"] == [
        {"id": paid.pk, "reason": f"review item {paid.pk}: the reward is paid; a paid reward can only be kept"},
        {"id": 999999, "reason": "no review item 999999"},
    ]
    assert reward(1001, "first_post").state == "paid" and ReviewItem.objects.get(pk=paid.pk).status == "open"

    again = post(ops_client, "/api/v1/review-items/keep/", {"item_ids": [approved.pk], "note": "keep it after all"}).json()
    assert again == {"done": [], "refused": [{"id": approved.pk, "reason": f"review item {approved.pk} is already closed (accept)"}]}
    assert ReviewItem.objects.get(pk=approved.pk).resolution == "accept"

    # Keeping the paid first-post bonus twice records one adjustment.
    for _ in range(2):
        post(ops_client, "/api/v1/review-items/keep/", {"item_ids": [paid.pk], "note": "finance claws back 30"})
    assert list(Adjustment.objects.values_list("amount", "asset")) == [(Decimal("-30.00"), "TRIAL_FUND")]


@pytest.mark.parametrize("body", [{"item_ids": [1]}, {"item_ids": [1], "note": ""}, {"item_ids": [1], "note": "   "}, {"item_ids": [], "note": "x"}])
def test_closing_needs_items_and_a_note(reviewed, ops_client, body):
    for action in ("accept", "keep"):
        response = post(ops_client, f"/api/v1/review-items/{action}/", body)
        assert response.status_code == 400 and response.json()["error"] == "invalid"
    assert not ReviewItem.objects.exclude(status="open").exists()


def test_only_an_ops_token_whose_user_may_approve_closes_review_items(reviewed, make_token, read_client):
    item = reviewed["items"][(1002, "leaderboard")]
    body = {"item_ids": [item.pk], "note": "n"}
    without_perm = token_client(make_token("ops", perms=("rewards.pay_reward",)))
    for client, status in ((APIClient(), 401), (read_client, 403), (without_perm, 403), (token_client(make_token("ingest")), 403)):
        for action in ("accept", "keep"):
            assert post(client, f"/api/v1/review-items/{action}/", body).status_code == status
    response = post(without_perm, "/api/v1/review-items/keep/", body)
    assert response.json() == {"error": "permission_denied", "detail": response.json()["detail"]} and "rewards.approve_reward" in response.json()["detail"]
    assert ReviewItem.objects.get(pk=item.pk).status == "open"
    # Reading needs the read (or ops) scope.
    assert APIClient().get("/api/v1/review-items/").status_code == 401
    assert token_client(make_token("ingest")).get("/api/v1/adjustments/").status_code == 403
    assert token_client(make_token("ingest")).get("/api/v1/campaigns/star-lead-traders-2/budgets/").status_code == 403


def budgets(client):
    return {(p["kind"], p["period"]): p for p in client.get("/api/v1/campaigns/star-lead-traders-2/budgets/").json()["pools"]}


def test_the_budget_view_shows_approved_and_paid_against_each_pool(reviewed, ops_client, read_client):
    campaign = reviewed["campaign"]
    body = read_client.get(f"/api/v1/campaigns/{campaign.slug}/budgets/").json()
    assert body["campaign"] == campaign.slug and body["pools"] == [b.as_json() for b in pool_budgets_get(campaign=campaign)]
    pools = budgets(read_client)
    # Leaderboard: 1001's 4000.00 paid and 1002's 3000.00 approved; 20,000.00 in the tiers.
    assert pools[("leaderboard", "ALL")] == {
        "kind": "leaderboard", "period": "ALL", "asset": "USDT", "pool": "20000.00", "max_rewards": None, "approved": "3000.00", "paid": "4000.00",
        "approved_and_paid": "7000.00", "calculated": "0.00", "approvable": "13000.00", "excess": "0.00",
    }  # fmt: skip
    assert (pools[("content_pool", "P1")]["approved"], pools[("content_pool", "P1")]["calculated"], pools[("content_pool", "P1")]["approvable"]) == ("100.00", "100.00", "400.00")
    first_post = pools[("first_post", "ALL")]
    assert (first_post["pool"], first_post["approvable"], first_post["paid"], first_post["calculated"], first_post["asset"]) == (None, None, "30.00", "60.00", "TRIAL_FUND")

    # Accept 1002's new first place and approve it again: 4000.00 paid + 4000.00 approved.
    item = reviewed["items"][(1002, "leaderboard")]
    post(ops_client, "/api/v1/review-items/accept/", {"item_ids": [item.pk], "note": "first place"})
    assert budgets(read_client)[("leaderboard", "ALL")]["calculated"] == "4000.00"
    assert post(ops_client, "/api/v1/rewards/approve/", {"reward_ids": [item.reward_id]}).json()["done"] == [item.reward_id]
    board = budgets(read_client)[("leaderboard", "ALL")]
    assert (board["approved"], board["paid"], board["approved_and_paid"], board["calculated"], board["approvable"]) == ("4000.00", "4000.00", "8000.00", "0.00", "12000.00")


def test_the_budget_view_shows_the_excess_of_calculated_rewards(reviewed, read_client):
    campaign = reviewed["campaign"]
    campaign.leaderboard_tiers = ["5000.00"]
    campaign.save(update_fields=["leaderboard_tiers"])
    board = budgets(read_client)[("leaderboard", "ALL")]
    # 7,000.00 committed of a 5,000.00 pool (ops shrank it after approving): nothing approvable.
    assert (board["pool"], board["approved_and_paid"], board["approvable"], board["excess"]) == ("5000.00", "7000.00", "-2000.00", "0.00")
    assert read_client.get("/api/v1/campaigns/nope/budgets/").status_code == 404


def test_a_settlement_run_carries_the_budget_view_in_its_summary(reviewed, read_client):
    run = read_client.get(f"/api/v1/settlement-runs/{reviewed['second'].pk}/").json()
    board = next(p for p in run["summary"]["budgets"] if p["kind"] == "leaderboard")
    assert (board["pool"], board["approved_and_paid"]) == ("20000.00", "7000.00")


def test_the_adjustments_report_downloads_as_csv_and_xlsx(reviewed, ops_client, read_client):
    items = reviewed["items"]
    post(ops_client, "/api/v1/review-items/keep/", {"item_ids": [items[(1001, "leaderboard")].pk, items[(1001, "first_post")].pk], "note": "=claw back"})
    response = read_client.get("/api/v1/campaigns/star-lead-traders-2/adjustments.csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="star-lead-traders-2-adjustments-')
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["uid"], r["kind"], r["period"], r["asset"], r["adjustment"], r["paid"], r["computed"], r["note"]) for r in rows] == [
        ("1001", "first_post", "ALL", "TRIAL_FUND", "-30.00", "30.00", "0.00", "'=claw back"),
        ("1001", "leaderboard", "ALL", "USDT", "-4000.00", "4000.00", "0.00", "'=claw back"),
    ]
    assert rows[1]["review_item"] == str(items[(1001, "leaderboard")].pk) and rows[1]["recorded_at"].endswith("+08:00")

    response = read_client.get("/api/v1/campaigns/star-lead-traders-2/adjustments.xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in sheet[3]][:8] == [1001, "alpha", "leaderboard", "ALL", "USDT", -4000, 4000, 0]
    response = read_client.get("/api/v1/campaigns/nope/adjustments.csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_a_reward_in_the_list_explains_its_stored_amount_and_shows_the_review_beside_it(reviewed, read_client):
    item = reviewed["items"][(1002, "leaderboard")]
    row = read_client.get("/api/v1/rewards/?uid=1002&kind=leaderboard").json()["results"][0]
    stored = reward(1002, "leaderboard")
    # The stored amount's explanation is the first settlement's (second place); the review the second's.
    assert (row["amount"], row["settlement_run"], row["explanation"]) == ("3000.00", reviewed["first"].pk, stored.detail)
    assert row["explanation"]["rank"] == 2 and row["adjustments"] is None
    assert row["review"] == {
        "id": item.pk, "computed_amount": "4000.00", "difference": "1000.00", "explanation": item.computed_detail,
        "settlement_run": reviewed["second"].pk, "settled_at": "2026-02-26T16:00:00Z",
    }
    calculated = read_client.get("/api/v1/rewards/?uid=1002&kind=content_pool").json()["results"][0]
    assert calculated["review"] is None and calculated["explanation"]["posts"]


@pytest.fixture
def status_of(reviewed):
    def get(uid):
        link = StatusLink.objects.create(campaign=reviewed["campaign"], trader=reward(uid, "leaderboard").trader)
        return APIClient().get(f"/api/v1/status/{status_link_token(link)}/").json()

    return get


def test_the_status_api_shows_the_stored_amount_and_the_review_beside_it(reviewed, status_of):
    item = reviewed["items"][(1002, "leaderboard")]
    status = status_of(1002)
    # The card is the reward's place (second), with the new computation's (first) beside it.
    assert status["standing"] == {
        "rank": 2, "score": reward(1002, "leaderboard").detail["score"], "due": True, "settled_at": "2026-02-25T16:00:00Z", "from_reward": True,
        "review": {"rank": 1, "score": item.computed_detail["score"], "settled_at": "2026-02-26T16:00:00Z"},
    }  # fmt: skip
    rewards = {r["kind"]: r for r in status["rewards"]}
    board = rewards["leaderboard"]
    assert (board["amount"], board["state"], board["settled_at"]) == ("3000.00", "approved", "2026-02-25T16:00:00Z")
    assert board["explanation"] == reward(1002, "leaderboard").detail
    assert board["review"] == {"amount": "4000.00", "settled_at": "2026-02-26T16:00:00Z", "explanation": item.computed_detail}
    assert rewards["content_pool"]["review"] is None and rewards["content_pool"]["explanation"]["posts"]


def test_the_status_reward_serializer_shows_an_explanation_and_review_only_when_there_are_any():
    def line(**kwargs):
        return RewardLine(kind="leaderboard", kind_label="", period="ALL", asset="USDT", amount=Decimal("3000.00"), state="approved",
                          state_label="", preview=False, **kwargs)  # fmt: skip

    bare = StatusRewardSerializer(line()).data
    assert (bare["settled_at"], bare["explanation"], bare["review"]) == (None, {}, None)
    new = Breakdown(kind="leaderboard", amount=Decimal("4000.00"), counted=[], not_counted=[], detail={"rank": 1})
    old = Breakdown(kind="leaderboard", amount=Decimal("3000.00"), counted=[], not_counted=[], detail={"rank": 2})
    full = StatusRewardSerializer(line(breakdown=old, settled_at=DUE, review=ReviewLine(amount=Decimal("4000"), settled_at=LATER, breakdown=new))).data
    assert (full["settled_at"], full["explanation"]) == ("2026-02-25T16:00:00Z", {"rank": 2})
    assert full["review"] == {"amount": "4000.00", "settled_at": "2026-02-26T16:00:00Z", "explanation": {"rank": 1}}
    assert StatusRewardSerializer(line(review=ReviewLine(amount=Decimal("1.00"), settled_at=LATER))).data["review"]["explanation"] == {}
