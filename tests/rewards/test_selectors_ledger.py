"""The reads behind the ledger pages of the admin (rewards.selectors.ledger) and the services the
admin's bulk actions and buttons call (rewards.services.bulk), on a small ledger written by hand:
two traders, two assets, every state, one paid reward under review."""

from datetime import datetime
from decimal import Decimal

import pytest

from campaign.models import Campaign
from rewards.models import Adjustment, PayoutBatch, ReviewItem, Reward, SettlementRun, StatusLink, WeeklyStar
from rewards.selectors.ledger import (
    AdjustmentTotal,
    RewardTotal,
    adjustment_report_campaigns,
    adjustment_report_get,
    adjustment_totals,
    amounts_per_asset,
    review_item_adjustment_get,
    review_item_close_options,
    review_item_open_get,
    review_items_close_preview,
    reward_totals,
)
from rewards.services.bulk import (
    review_flags_refresh_all,
    status_links_ensure_all,
    traffic_refresh_all,
    weekly_stars_set,
)
from rewards.services.farming import review_flags_refresh
from rewards.services.ledger import ACCEPT, KEEP
from rewards.services.traffic import traffic_refresh
from traders.models import Trader

pytestmark = pytest.mark.django_db
AT = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
D = Decimal


@pytest.fixture
def ledger(campaign):
    """Alpha: first-post 10.00 USDT approved, pool 25.50 USDT paid, leaderboard 100.00 GT void.
    Beta: first-post 10.00 USDT approved, pool 4.25 USDT calculated, leaderboard 50.00 GT paid.
    Open review items: alpha's paid pool (computed 20.00, -5.50), alpha's void board (computed 0.00)
    and beta's approved first post (computed 12.00, +2.00). Beta's paid board was kept once (+7.00)."""
    run = SettlementRun.objects.create(campaign=campaign, at=AT)
    batch = PayoutBatch.objects.create(campaign=campaign, reference="B-1", created_by="ops")
    alpha, beta = Trader.objects.create(uid=5001, nickname="alpha"), Trader.objects.create(uid=5002, nickname="beta")

    def reward(trader, kind, asset, amount, state, period="all"):
        return Reward.objects.create(
            campaign=campaign, kind=kind, period=period, trader=trader, asset=asset, amount=D(amount), state=state,
            settlement_run=run, payout_batch=batch if state == Reward.State.PAID else None,
        )  # fmt: skip

    K, S = Reward.Kind, Reward.State
    rows = {
        "alpha_first": reward(alpha, K.FIRST_POST, "USDT", "10.00", S.APPROVED),
        "alpha_pool": reward(alpha, K.CONTENT_POOL, "USDT", "25.50", S.PAID, period="W1"),
        "alpha_board": reward(alpha, K.LEADERBOARD, "GT", "100.00", S.VOID),
        "beta_first": reward(beta, K.FIRST_POST, "USDT", "10.00", S.APPROVED),
        "beta_pool": reward(beta, K.CONTENT_POOL, "USDT", "4.25", S.CALCULATED, period="W1"),
        "beta_board": reward(beta, K.LEADERBOARD, "GT", "50.00", S.PAID),
    }

    def item(name, stored, computed, **fields):
        return ReviewItem.objects.create(reward=rows[name], settlement_run=run, stored_amount=D(stored), computed_amount=D(computed), reason="test", **fields)

    rows["pool_item"] = item("alpha_pool", "25.50", "20.00")
    rows["board_item"] = item("alpha_board", "100.00", "0.00")
    rows["first_item"] = item("beta_first", "10.00", "12.00")
    kept = item("beta_board", "50.00", "57.00", status=ReviewItem.Status.RESOLVED, resolution=ReviewItem.Resolution.KEEP, resolved_by="ops")
    rows["kept_item"] = kept
    rows["kept"] = Adjustment.objects.create(
        campaign=campaign, trader=beta, reward=rows["beta_board"], review_item=kept, asset="GT", amount=D("7.00"), note="kept", created_by="ops"
    )
    Adjustment.objects.create(
        campaign=campaign, trader=alpha, reward=rows["alpha_pool"], review_item=item("alpha_pool", "25.50", "25.00", status="resolved", resolution="keep"),
        asset="USDT", amount=D("-0.50"), note="kept", created_by="ops",
    )  # fmt: skip
    return rows


def test_reward_totals_count_and_add_per_asset_and_state_in_the_order_of_the_states(ledger):
    assert reward_totals(rewards=Reward.objects.all()) == [
        RewardTotal(asset="GT", state="paid", n=1, total=D("50.00")),
        RewardTotal(asset="GT", state="void", n=1, total=D("100.00")),
        RewardTotal(asset="USDT", state="calculated", n=1, total=D("4.25")),
        RewardTotal(asset="USDT", state="approved", n=2, total=D("20.00")),
        RewardTotal(asset="USDT", state="paid", n=1, total=D("25.50")),
    ]


def test_reward_totals_cover_only_the_rewards_given(ledger):
    assert reward_totals(rewards=Reward.objects.filter(trader__uid=5002, asset="USDT")) == [
        RewardTotal(asset="USDT", state="calculated", n=1, total=D("4.25")),
        RewardTotal(asset="USDT", state="approved", n=1, total=D("10.00")),
    ]
    assert reward_totals(rewards=Reward.objects.none()) == []


def test_adjustment_totals_split_top_ups_from_claw_backs_per_asset(ledger):
    totals = adjustment_totals(adjustments=Adjustment.objects.all())
    assert totals == [
        AdjustmentTotal(asset="GT", n=1, top_up=D("7.00"), claw_back=D("0.00")),
        AdjustmentTotal(asset="USDT", n=1, top_up=D("0.00"), claw_back=D("-0.50")),
    ]
    assert [t.net for t in totals] == [D("7.00"), D("-0.50")]


def test_amounts_per_asset_never_add_assets_together():
    pairs = [("USDT", D("1.10")), ("GT", D("2.00")), ("USDT", D("-0.10")), ("BTC", D("0.01"))]
    assert amounts_per_asset(pairs) == [("BTC", D("0.01")), ("GT", D("2.00")), ("USDT", D("1.00"))]


def test_close_options_say_a_paid_reward_can_only_be_kept_and_its_difference_becomes_an_adjustment(ledger):
    paid = review_item_close_options(item=ledger["pool_item"])
    assert (paid.can_accept, paid.accept_voids, paid.keep_adjustment) == (False, False, D("-5.50"))
    void = review_item_close_options(item=ledger["board_item"])
    assert (void.can_accept, void.accept_voids, void.keep_adjustment) == (True, True, None)
    approved = review_item_close_options(item=ledger["first_item"])
    assert (approved.can_accept, approved.accept_voids, approved.keep_adjustment) == (True, False, None)


def test_keeping_a_selection_previews_its_differences_and_the_adjustments_of_its_paid_rewards(ledger):
    ids = [ledger[name].pk for name in ("pool_item", "board_item", "first_item", "kept_item")]
    preview = review_items_close_preview(items=ReviewItem.objects.filter(pk__in=ids), action=KEEP)
    assert [item.pk for item in preview.items] == sorted(ids)
    assert preview.differences == [("GT", D("-100.00")), ("USDT", D("-3.50"))]
    assert preview.adjustments == [("USDT", D("-5.50"))]
    assert preview.paid_refused == []
    assert [item.pk for item in preview.closed] == [ledger["kept_item"].pk]


def test_accepting_a_selection_previews_the_paid_rewards_it_would_refuse(ledger):
    ids = [ledger[name].pk for name in ("pool_item", "first_item")]
    preview = review_items_close_preview(items=ReviewItem.objects.filter(pk__in=ids), action=ACCEPT)
    assert preview.differences == [("USDT", D("-3.50"))]
    assert preview.adjustments == []
    assert [item.pk for item in preview.paid_refused] == [ledger["pool_item"].pk]
    assert preview.closed == []


def test_a_rewards_open_item_and_an_items_adjustment_are_found_or_none(ledger):
    assert review_item_open_get(reward=ledger["alpha_pool"]) == ledger["pool_item"]
    assert review_item_open_get(reward=ledger["beta_board"]) is None
    assert review_item_adjustment_get(item=ledger["kept_item"]) == ledger["kept"]
    assert review_item_adjustment_get(item=ledger["pool_item"]) is None


def test_the_adjustment_report_is_of_the_selected_campaign_or_of_each_by_slug(ledger, campaign):
    assert list(adjustment_report_campaigns(campaign_id=str(campaign.pk))) == [campaign]
    assert list(adjustment_report_campaigns(campaign_id="")) == list(Campaign.objects.order_by("slug"))
    assert list(adjustment_report_campaigns(campaign_id="x")) == list(Campaign.objects.order_by("slug"))


def test_the_adjustment_report_file_names_the_campaign_and_lists_each_adjustment(ledger, campaign):
    report = adjustment_report_get(campaign=campaign, fmt="csv")
    assert report.name.startswith(f"{campaign.slug}-adjustments-") and report.name.endswith(".csv")
    assert report.content_type == "text/csv; charset=utf-8"
    text = report.content.decode("utf-8")
    assert "7.00" in text and "-0.50" in text and "5001" in text and "5002" in text
    assert adjustment_report_get(campaign=campaign, fmt="xlsx").content.startswith(b"PK")
    with pytest.raises(ValueError):
        adjustment_report_get(campaign=campaign, fmt="pdf")


def test_status_links_are_ensured_for_every_campaign_once(ledger, campaign):
    assert status_links_ensure_all() == 2  # alpha and beta hold rewards
    assert status_links_ensure_all() == 0
    assert sorted(StatusLink.objects.values_list("trader__uid", flat=True)) == [5001, 5002]


def test_weekly_stars_set_by_hand_become_manual_rows(ledger, campaign):
    week = campaign.weeks()[0].code
    rows = [WeeklyStar.objects.create(campaign=campaign, week=week, trader=t, rank=i, score=10 - i) for i, t in enumerate(Trader.objects.order_by("uid"), 1)]
    assert weekly_stars_set(star_ids=[rows[0].pk], star=False, by="ops") == 1
    assert weekly_stars_set(star_ids=[rows[1].pk], star=True, by="ops") == 1
    assert list(WeeklyStar.objects.order_by("trader__uid").values_list("trader__uid", "source", "removed", "rank", "set_by")) == [
        (5001, "manual", True, None, "ops"),
        (5002, "manual", False, None, "ops"),
    ]


def test_the_sweeps_run_the_per_campaign_service_once_for_each_campaign(ledger, campaign):
    traffic = traffic_refresh_all()
    assert [o.campaign for o in traffic] == list(Campaign.objects.all())
    assert traffic[0].result == traffic_refresh(campaign=campaign)  # nothing to feature, twice the same
    flags = review_flags_refresh_all()
    assert [o.campaign for o in flags] == list(Campaign.objects.all())
    assert flags[0].result == review_flags_refresh(campaign=campaign) == {"created": 0, "updated": 0, "deleted": 0}
