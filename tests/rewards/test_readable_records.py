"""Records read as people name them: every model of ours has a short name of its own (never
"ReviewItem object (13)"), in the language of the page, and the run and reward pages show what a
settlement stored ("Configuration used", "Summary", "How it was computed") as labelled tables,
never as raw JSON."""

import html as htmllib
import re
from datetime import datetime

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission, User
from django.db import models
from django.test import Client
from django.utils import translation

from campaign.models import Post
from rewards.admin_records import config_sections, detail_sections, summary_sections
from rewards.models import Adjustment, PayoutBatch, ReviewComputation, ReviewItem, Reward, SettlementRun
from rewards.services import review_items_close, rewards_approve, rewards_mark_paid, settle_campaign

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
OUR_APPS = ("core", "traders", "campaign", "rewards")


@pytest.fixture
def kept(loaded, ledger_invariants):
    """Every reward approved and paid, settled again without trader 1001's posts, and the review
    item of 1002's leaderboard reward (3,000.00 paid, 4,000.00 computed) kept: an adjustment."""
    ops = User.objects.create_user("ops", password="pw-ops-123456", is_staff=True)
    ops.user_permissions.add(*Permission.objects.filter(codename__in=["approve_reward", "pay_reward"]))
    settle_campaign(campaign=loaded, at=DUE)
    rewards_approve(reward_ids=list(Reward.objects.values_list("pk", flat=True)), user=ops)
    rewards_mark_paid(reward_ids=list(Reward.objects.values_list("pk", flat=True)), reference="BATCH-7", user=ops)
    Post.objects.filter(author__uid=1001).update(deleted=True, judged_at=None)
    settle_campaign(campaign=loaded, at=DUE)
    item = ReviewItem.objects.get(reward__trader__uid=1002, reward__kind="leaderboard", status="open")
    closed, refused = review_items_close(item_ids=[item.pk], action="keep", user=ops, note="paid as ranked then")
    assert closed and not refused
    return item


def test_every_model_of_ours_names_its_rows_itself():
    nameless = [model.__name__ for app in OUR_APPS for model in apps.get_app_config(app).get_models() if model.__str__ is models.Model.__str__]
    assert nameless == []


def test_the_ledger_rows_are_named_in_words_with_trader_reward_amount_and_asset(kept):
    item = kept
    reward = item.reward
    run = SettlementRun.objects.order_by("pk").last()
    assert str(reward) == "1002 leaderboard: 3000.00 USDT"
    assert str(Reward.objects.get(trader__uid=1002, kind="content_pool")) == "1002 content pool P1: 100.00 USDT"
    assert str(item) == f"#{item.pk} 1002 leaderboard: 3000.00 -> 4000.00 USDT"
    assert str(Adjustment.objects.get()) == "1002 leaderboard: +1000.00 USDT"
    assert str(reward.events.get(action="pay")) == "1002 leaderboard: marked paid by ops"
    assert str(reward.events.get(action="keep_review")) == "1002 leaderboard: review item kept by ops"
    assert str(run) == f"star-lead-traders-2: settlement #{run.pk} (2026-02-26 00:00 UTC+8)"
    assert str(PayoutBatch.objects.get()) == "BATCH-7"
    assert str(ReviewComputation.objects.get(item=item)) == f"4000.00 by settlement #{run.pk}"


def test_every_row_of_the_scenario_has_a_short_name_and_none_is_object_n(kept):
    named = 0
    for app in OUR_APPS:
        for model in apps.get_app_config(app).get_models():
            row = model.objects.first()
            if row is not None:
                name = str(row)
                assert name and "object (" not in name and len(name) <= 120, (model.__name__, name)
                named += 1
    assert named >= 15  # the scenario fills most tables: this is not a test of empty ones


def test_names_follow_the_language_of_the_page(kept):
    reward = kept.reward
    with translation.override("zh-hans"):
        assert str(reward) == "1002 排行榜: 3000.00 USDT"
        assert str(Reward.objects.get(trader__uid=1002, kind="content_pool")) == "1002 内容激励池 P1: 100.00 USDT"
        assert "结算 #" in str(SettlementRun.objects.order_by("pk").last())


def visible_text(page: str) -> str:
    """What a reader sees: the page without tags, attributes, scripts and styles."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", body))


def block(page: str, testid: str) -> str:
    """The HTML of one record block, up to the next field of the page or the end of its fieldset."""
    start = page.index(f'data-testid="{testid}"')
    return page[start : min(page.find(end, start) % (len(page) + 1) for end in ('<div class="form-row', "</fieldset>"))]


@pytest.fixture
def superuser_client():
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="pw-root-123456"))
    return client


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_settlement_run_page_reads_its_configuration_and_summary_as_tables_not_json(kept, superuser_client, language):
    run = SettlementRun.objects.order_by("pk").last()
    page = superuser_client.get(f"/admin/rewards/settlementrun/{run.pk}/change/", headers={"accept-language": language}).content.decode()
    text = visible_text(page)
    assert '{"' not in text and '":' not in text and "<pre" not in page
    config, summary = block(page, "run-config"), block(page, "run-summary")
    assert "4000.00" in config and "<table" in config and "做多" in config  # tiers by rank; terms as words
    assert "2026-02-12 18:00 UTC+8" in visible_text(config)  # the window in UTC+8, as the form shows it
    assert "<table" in summary and "P1" in summary and "2026-02-26 00:00 UTC+8" in visible_text(summary)
    assert "not_enrolled" not in visible_text(summary)  # verdicts in words
    if language == "en":
        assert "Tier amounts by rank" in config and "Trading terms (substrings)" in config
        assert "Paid ranks" in summary and "fixed tiers by rank" in summary and "Author not enrolled" in summary


@pytest.mark.parametrize("kind", ["first_post", "content_pool", "leaderboard"])
def test_a_reward_page_reads_how_it_was_computed_as_labelled_values_and_edits_nothing_of_it(kept, superuser_client, kind):
    reward = Reward.objects.get(trader__uid=1002, kind=kind)
    page = superuser_client.get(f"/admin/rewards/reward/{reward.pk}/change/").content.decode()
    text = visible_text(page)
    assert '{"' not in text and '":' not in text and "<pre" not in page
    detail = visible_text(block(page, "reward-detail"))
    for post in (p["post_id"] for p in reward.detail.get("posts", [])):
        assert f" {post} " in detail
    if kind == "first_post":
        assert "Published" in detail and "UTC+8" in detail
    if kind == "leaderboard":
        assert "Copier PnL (USDT)" in detail and "fixed tiers by rank" in detail
    assert 'name="detail"' not in page and 'name="settlement_run"' not in page  # stored, never edited here


def test_the_blocks_show_keys_they_do_not_know_under_their_own_names():
    sections = summary_sections({"qualified_posts": 3, "new_counter": 5, "ledger": {"created": 1}})
    texts = {field.label: field.text for section in sections for field in section.fields}
    assert texts == {"qualified posts": "3", "new counter": "5"}  # the ledger has a row of its own
    assert [s.title for s in config_sections({"pool_cap": "100.00", "something_new": [1, 2]})] == ["Content pool", "Other"]
    assert detail_sections({}) == []
    (field,) = detail_sections({"copier_pnl_usdt": "100.50000000"})[0].fields
    assert field.text == "100.50"  # trailing zeros past the cent dropped, nothing rounded
    assert detail_sections({"post_id": "12.500"})[0].fields[0].text == "12.500"  # an id is never read as a number
