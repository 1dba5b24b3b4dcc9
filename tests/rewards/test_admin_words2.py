"""Ops read words, not codes (issue 18), the rest of it: why approve, mark paid and void refused a
reward, the notes the ledger writes on reward events, a what-if run's proposed changes and an API
token's scopes, each in English and in Chinese. The API keeps answering as it always has."""

import html as htmllib
import json
import re
from datetime import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import translation

from campaign.models import Campaign, Post
from core.api.tokens import api_token_create
from core.models import ApiToken
from rewards.exceptions import RewardError
from rewards.ledger_words import event_note_text
from rewards.models import PayoutBatch, ReviewItem, Reward, RewardEvent, SettlementRun, WhatIfRun
from rewards.services import review_items_close, rewards_approve, rewards_mark_paid, rewards_void, settle_campaign
from rewards.services.ledger import REFUSED_BUDGET, REFUSED_PREVIEW, REFUSED_STATE, Refusal
from rewards.services.whatif.runs import whatif_preview_start, whatif_run_execute
from tests.api.conftest import OPS_PERMS, grant, token_client
from tests.factories import CampaignFactory
from tests.pages import messages_of, visible

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
BEFORE_THE_END = datetime.fromisoformat("2026-02-20T12:00:00+08:00")
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@pytest.fixture
def ops():
    return User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456")


def reward(uid, kind, period="ALL") -> Reward:
    return Reward.objects.get(trader__uid=uid, kind=kind, period=period)


def act(client, action, rewards, headers, **fields):
    """A reward action of the list, confirmed, as the admin's forms post it."""
    data = {"action": action, "_selected_action": [r.pk for r in rewards], **fields}
    return messages_of(client.post("/admin/rewards/reward/", data, follow=True, **headers))


# --- 1. Refusals of approve, mark paid and void -----------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "approved", "calculated", "paid"),
    [
        (EN, "Reward #{} is approved, not calculated.", "Reward #{} is calculated, not approved.", "Reward #{} is paid: it cannot be voided."),
        (ZH, "奖励 #{} 的状态为已审批，不是已计算。", "奖励 #{} 的状态为已计算，不是已审批。", "奖励 #{} 的状态为已发放：不能作废。"),
    ],
)
def test_a_refused_approval_payment_or_void_says_the_state_in_words(root, ops, loaded, headers, approved, calculated, paid):
    settle_campaign(campaign=loaded, at=DUE)
    first, second = reward(1001, "first_post"), reward(1002, "first_post")
    rewards_approve(reward_ids=[first.pk], user=ops)
    rewards_mark_paid(reward_ids=[first.pk], reference="BANK-1", user=ops)
    rewards_approve(reward_ids=[reward(1003, "first_post").pk], user=ops)
    shown = act(root, "approve", [reward(1003, "first_post")], headers, post="yes")
    assert approved.format(reward(1003, "first_post").pk) in shown
    shown = act(root, "mark_paid", [second], headers, apply="1", reference="BANK-2", note="")
    assert calculated.format(second.pk) in shown
    shown = act(root, "void", [first], headers, apply="1", note="wrong trader")
    assert paid.format(first.pk) in shown


@pytest.mark.parametrize(
    ("headers", "sentence"),
    [(EN, "Reward #{} is a preview: its period is not yet due."), (ZH, "奖励 #{} 是预览：其周期尚未到期。")],
)
def test_approving_or_voiding_a_preview_says_its_period_is_not_yet_due(root, ops, loaded, headers, sentence):
    settle_campaign(campaign=loaded, at=BEFORE_THE_END)
    leaderboard = reward(1001, "leaderboard")
    assert leaderboard.preview
    assert rewards_approve(reward_ids=[leaderboard.pk], user=ops) == ([], [(leaderboard, Refusal(REFUSED_PREVIEW, "calculated"))])
    assert sentence.format(leaderboard.pk) in act(root, "approve", [leaderboard], headers, post="yes")
    assert sentence.format(leaderboard.pk) in act(root, "void", [leaderboard], headers, apply="1", note="no")


@pytest.mark.parametrize(
    ("headers", "content", "bonuses"),
    [
        (
            EN,
            "Reward #{} (UID 1002, content pool, period P1, 100.00 USDT) was not approved: approving it would take the content pool P1 "
            "to 200.00 approved and paid of 150.00 USDT, 50.00 USDT over.",
            "Reward #{} (UID 1002, first-post bonus, whole campaign, 30.00 TRIAL_FUND) was not approved: approving it would take the "
            "first-post bonuses to 60.00 approved and paid of 30.00 TRIAL_FUND, at most 1 bonus, 30.00 TRIAL_FUND over.",
        ),
        (
            ZH,
            "奖励 #{}（UID 1002，内容激励池，周期 P1，100.00 USDT）未审批：审批后 内容激励池 P1 的已审批与已发放金额将达 200.00，"
            "上限为 150.00 USDT，超出 50.00 USDT。",
            "奖励 #{}（UID 1002，首帖奖励，整个活动，30.00 TRIAL_FUND）未审批：审批后 首帖奖励 的已审批与已发放金额将达 60.00，"
            "上限为 30.00 TRIAL_FUND，最多 1 份奖励，超出 30.00 TRIAL_FUND。",
        ),
    ],
)
def test_an_approval_over_the_pool_says_the_pool_and_the_amounts_in_words(root, loaded, headers, content, bonuses):
    settle_campaign(campaign=loaded, at=DUE)
    # Smaller pools than settlement used, set behind the form's back: both 100.00 rewards no longer fit.
    Campaign.objects.filter(pk=loaded.pk).update(pool_amount=Decimal("150.00"), first_post_limit=1)
    pool = [reward(1001, "content_pool", "P1"), reward(1002, "content_pool", "P1")]
    assert content.format(pool[1].pk) in act(root, "approve", pool, headers, post="yes")
    first_posts = [reward(1001, "first_post"), reward(1002, "first_post")]
    assert bonuses.format(first_posts[1].pk) in act(root, "approve", first_posts, headers, post="yes")
    assert list(Reward.objects.filter(state="approved").order_by("pk")) == sorted([pool[0], first_posts[0]], key=lambda r: r.pk)


@pytest.mark.parametrize(
    ("headers", "other", "several"),
    [
        (
            EN,
            "Payout batch USED belongs to another campaign: nothing was marked paid. Use another reference.",
            "A payout batch belongs to one campaign: nothing was marked paid. Select rewards of one campaign.",
        ),
        (ZH, "发放批次 USED 属于其他活动：未标记任何发放。请使用其他外部编号。", "一个发放批次只属于一个活动：未标记任何发放。请只选择同一活动的奖励。"),
    ],
)
def test_a_payment_refused_whole_says_why_in_words(root, ops, loaded, headers, other, several):
    settle_campaign(campaign=loaded, at=DUE)
    first = reward(1001, "first_post")
    rewards_approve(reward_ids=[first.pk], user=ops)
    elsewhere = CampaignFactory()
    PayoutBatch.objects.create(campaign=elsewhere, reference="USED", created_by="x")
    assert other in act(root, "mark_paid", [first], headers, apply="1", reference="USED", note="")
    foreign = Reward.objects.create(
        campaign=elsewhere, trader=first.trader, kind="first_post", period="ALL", amount=Decimal("30.00"), asset="TRIAL_FUND", state="approved",
        settlement_run=SettlementRun.objects.create(campaign=elsewhere, at=DUE),
    )  # fmt: skip
    assert several in act(root, "mark_paid", [first, foreign], headers, apply="1", reference="NEW", note="")
    assert PayoutBatch.objects.count() == 1 and set(Reward.objects.values_list("state", flat=True)) == {"approved", "calculated"}
    # The API's 409 says it as it always has.
    with pytest.raises(RewardError, match="^payout batch USED belongs to another campaign$"):
        rewards_mark_paid(reward_ids=[first.pk], reference="USED", user=ops)


def test_the_services_refuse_with_codes_and_the_api_words_them_as_before(loaded, ops):
    settle_campaign(campaign=loaded, at=DUE)
    Campaign.objects.filter(pk=loaded.pk).update(pool_amount=Decimal("150.00"))
    one, two = reward(1001, "content_pool", "P1"), reward(1002, "content_pool", "P1")
    done, refused = rewards_approve(reward_ids=[one.pk, two.pk], user=ops)
    assert [r.pk for r in done] == [one.pk] and [r.pk for r, _ in refused] == [two.pk]
    refusal = refused[0][1]
    assert (refusal.code, refusal.state, refusal.committed, refusal.over, refusal.pool.key) == (REFUSED_BUDGET, "calculated", Decimal("200.00"), Decimal("50.00"), ("content_pool", "P1"))
    assert rewards_approve(reward_ids=[one.pk], user=ops)[1] == [(one, Refusal(REFUSED_STATE, "approved"))]
    assert rewards_mark_paid(reward_ids=[two.pk], reference="BANK-1", user=ops)[2] == [(two, Refusal(REFUSED_STATE, "calculated"))]
    rewards_mark_paid(reward_ids=[one.pk], reference="BANK-1", user=ops)
    assert rewards_void(reward_ids=[one.pk], user=ops, note="no")[1] == [(one, Refusal(REFUSED_STATE, "paid"))]
    # The API: the same refusals in the English it has always answered.
    user = grant(User.objects.create_user("api-ops"), OPS_PERMS)
    _, secret = api_token_create(user=user, name="ops", scopes=["ops"])
    body = token_client(secret).post("/api/v1/rewards/approve/", data=json.dumps({"reward_ids": [two.pk, one.pk]}), content_type="application/json").json()
    assert body == {
        "done": [],
        "refused": [
            {"id": one.pk, "reason": f"reward {one.pk} is paid, not calculated"},
            {"id": two.pk, "reason": f"reward {two.pk} (1002 content_pool P1 100.00 USDT) is refused: approving it would take the content pool P1 "
                                     "to 200.00 approved and paid of 150.00 USDT, 50.00 USDT over"},
        ],
    }  # fmt: skip


# --- 2. The notes the ledger writes on reward events ------------------------------------------------


@pytest.fixture
def closed_items(loaded, ops):
    """Every reward approved (1003's first-post bonus voided by ops with a note); 1001's content
    pool reward paid in BATCH-7; then 1001's posts are deleted and the campaign settled again, and
    the three review items of 1001 are closed: the unpaid leaderboard reward kept, the paid content
    pool reward kept (an adjustment), the first-post bonus accepted."""
    settle_campaign(campaign=loaded, at=DUE)
    rewards_void(reward_ids=[reward(1003, "first_post").pk], user=ops, note="batch 9 was wrong; review item 3: typed by ops")
    rewards_approve(reward_ids=list(Reward.objects.filter(state="calculated").values_list("pk", flat=True)), user=ops)
    rewards_mark_paid(reward_ids=[reward(1001, "content_pool", "P1").pk], reference="BATCH-7", user=ops)
    Post.objects.filter(author__uid=1001).update(deleted=True, judged_at=None)
    settle_campaign(campaign=loaded, at=DUE)
    items = {item.reward.kind: item for item in ReviewItem.objects.filter(status="open", reward__trader__uid=1001).select_related("reward")}
    review_items_close(item_ids=[items["leaderboard"].pk], action="keep", user=ops, note="kept as ranked")
    review_items_close(item_ids=[items["content_pool"].pk], action="keep", user=ops, note="finance claws back")
    review_items_close(item_ids=[items["first_post"].pk], action="accept", user=ops, note="posts deleted")
    return items


@pytest.mark.parametrize(
    ("headers", "lines"),
    [
        (
            EN,
            [
                "payout batch BATCH-7",
                "review item #{first_post}: 30.00 becomes 0.00; note: posts deleted",
                "review item #{leaderboard}: keeps 4000.00, computed 0.00; note: kept as ranked",
                "review item #{content_pool}: keeps 100.00, computed 0.00; adjustment -100.00 USDT; note: finance claws back",
            ],
        ),
        (
            ZH,
            [
                "发放批次 BATCH-7",
                "复核项 #{first_post}：30.00 改为 0.00；备注：posts deleted",
                "复核项 #{leaderboard}：维持 4000.00，计算金额 0.00；备注：kept as ranked",
                "复核项 #{content_pool}：维持 100.00，计算金额 0.00；调整 -100.00 USDT；备注：finance claws back",
            ],
        ),
    ],
)
def test_the_event_list_and_the_reward_page_say_the_ledger_notes_in_words(root, closed_items, headers, lines):
    ids = {kind: item.pk for kind, item in closed_items.items()}
    # What is stored does not change: rows written before and after read the same.
    notes = list(RewardEvent.objects.exclude(action__in=["approve", "void"]).order_by("pk").values_list("note", flat=True))
    assert notes == [
        "batch BATCH-7",
        f"review item {ids['leaderboard']}: keeps 4000.00, computed 0.00; kept as ranked",
        f"review item {ids['content_pool']}: keeps 100.00, computed 0.00; adjustment -100.00 USDT; finance claws back",
        f"review item {ids['first_post']}: 30.00 -> 0.00; posts deleted",
    ]
    expected = [line.format(**ids) for line in lines]
    listed = visible(root.get("/admin/rewards/rewardevent/", **headers))
    for line in expected:
        assert line in listed
    assert "batch 9 was wrong; review item 3: typed by ops" in listed  # typed by ops: as typed
    ledger_notes = listed.replace("batch 9 was wrong; review item 3: typed by ops", "")
    assert " -> " not in ledger_notes and not re.search(r"review item \d+: ", ledger_notes)
    if headers is ZH:
        assert "batch BATCH-7" not in ledger_notes and "keeps" not in ledger_notes
    page = visible(root.get(f"/admin/rewards/reward/{reward(1001, 'content_pool', 'P1').pk}/change/", **headers))
    assert expected[0] in page and expected[3] in page
    event = RewardEvent.objects.get(action="pay")
    assert expected[0] in visible(root.get(f"/admin/rewards/rewardevent/{event.pk}/change/", **headers))


def test_a_note_that_only_looks_like_the_ledgers_is_shown_as_stored():
    with translation.override("zh-hans"):
        assert event_note_text(action="void", note="batch 12") == "batch 12"  # a void's note is ops' own
        assert event_note_text(action="approve", note="") == ""
        assert event_note_text(action="keep_review", note="review item 4: kept by hand") == "review item 4: kept by hand"
        assert event_note_text(action="pay", note="batch B-1") != "batch B-1"


# --- 3. A what-if run's proposed changes ------------------------------------------------------------


CHANGES = {"pool_cap": Decimal("300"), "leaderboard_strategy": "equal", "leaderboard_tiers": ["5000", "1000"], "first_post_limit": 2}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            EN,
            [
                "Content pool cap per creator 100.00 300.00",
                "First-post bonuses at most no limit 2",
                "Leaderboard split fixed tiers by rank equal shares",
                "Tier amounts by rank 1: 4000.00 2: 3000.00 3: 2500.00",
                "1: 5000.00 2: 1000.00",
            ],
        ),
        (
            ZH,
            ["每位创作者内容激励上限 100.00 300.00", "首帖奖励名额上限 不限 2", "按名次固定档位", "各名次档位金额 1: 4000.00 2: 3000.00", "1: 5000.00 2: 1000.00"],
        ),
    ],
)
def test_a_whatif_run_page_shows_the_proposed_changes_in_words(root, loaded, ops, headers, expected):
    finished = whatif_preview_start(campaign=loaded, changes=CHANGES, at=DUE, user=ops)
    whatif_run_execute(run_id=finished.pk)
    finished.refresh_from_db()
    assert finished.state == "finished"
    queued = whatif_preview_start(campaign=loaded, changes={"pool_cap": Decimal("300")}, at=DUE, user=ops)
    shown = {}
    for run in (finished, queued):
        page = root.get(f"/admin/rewards/whatifrun/{run.pk}/change/", **headers).content.decode()
        table = re.search(r'<table data-testid="whatif-run-changes">.*?</table>', page, re.S)[0]
        shown[run] = re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", table)))
        assert expected[0] in shown[run]
        assert "pool_cap" not in page and not set("{}[]\"'") & set(shown[run])
        # A queued run kept no outcome yet: its proposal is set against the configuration now, and says so.
        assert ("<caption>" in table) is (run == queued)
    for line in expected[1:]:
        assert line in shown[finished]
    assert "equal" not in shown[finished].replace("equal shares", "")  # the split by its label, never its code


def test_a_run_whose_proposal_the_configuration_now_refuses_shows_it_as_typed(root, loaded):
    run = WhatIfRun.objects.create(campaign=loaded, kind="preview", state="failed", changes={"duplicate_threshold": "0.5", "min_length": loaded.min_length + 5}, at=DUE)
    page = root.get(f"/admin/rewards/whatifrun/{run.pk}/change/", **EN)
    text = visible(page)
    assert "Set against the configuration now" in text and f"{loaded.duplicate_threshold} 0.5" in text
    assert f"Minimum length (characters) {loaded.min_length} {loaded.min_length + 5}" in text
    assert "duplicate_threshold" not in page.content.decode()


# --- 4. An API token's scopes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "labels"),
    [
        (EN, ["ingest: push registrations, sign-ups, posts, trading stats", "read: rewards, settlement runs, payout reports"]),
        (ZH, ["写入：推送注册、报名、帖子和交易数据", "读取：奖励、结算记录、发放报表"]),
    ],
)
def test_the_token_list_names_the_scopes_by_their_labels(root, headers, labels):
    ApiToken.objects.create(name="CRM sync", user=User.objects.create_user("crm"), scopes=["ingest", "read"], prefix="gsq_ab12", key_hash="0" * 64)
    text = visible(root.get("/admin/core/apitoken/", **headers))
    assert all(label in text for label in labels)
    assert "ingest, read" not in text
