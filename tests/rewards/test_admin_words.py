"""Ops read words, not codes or JSON (issue 18): a flag's evidence, a settlement triggered by nobody
in particular, a refused approval of a post, the reward events, a refused close of a review item,
and the API token's scopes, each in English and in Chinese."""

import re
from datetime import datetime

import pytest
from django.contrib.auth.models import User

from campaign.models import ModerationDecision, Post
from core.models import ApiToken
from rewards.models import ReviewFlag, ReviewItem, Reward, SettlementRun
from rewards.services import review_items_close, rewards_approve, rewards_mark_paid, settle_campaign
from tests.factories import TraderFactory
from tests.pages import messages_of, visible

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


# --- 1. A review flag's page shows its evidence in words only ---------------------------------------


def test_a_review_flag_page_shows_the_evidence_in_words_and_not_its_json(root, campaign):
    flag = ReviewFlag.objects.create(campaign=campaign, trader=TraderFactory(uid=77), kind="burst", evidence={"count": 6, "minutes": 30, "posts": ["p1", "p2"]})
    response = root.get(f"/admin/rewards/reviewflag/{flag.pk}/change/", **EN)
    page, text = response.content.decode(), visible(response)
    assert "6 posts in less than 30 minutes: p1, p2" in text
    assert '"count"' not in text and "{" not in text.split("Evidence", 1)[1]
    assert 'name="evidence"' not in page  # nor offered to edit
    assert list(response.context["adminform"].form.fields) == []


# --- 2. The dashboard's latest settlement without a "triggered by" -----------------------------------


def test_the_dashboard_says_who_triggered_the_settlement_only_when_someone_did(root, loaded):
    run = settle_campaign(campaign=loaded, at=DUE)  # triggered by nobody named: the beat and the tests
    assert run.triggered_by == ""
    url = f"/admin/campaign/campaign/{loaded.pk}/dashboard/"
    english, chinese = visible(root.get(url, **EN)), visible(root.get(url, **ZH))
    assert f"Run #{run.pk} as of 2026-02-26 00:00:00 (UTC+8), finished " in english
    assert "triggered by" not in english
    assert f"结算 #{run.pk}，结算时点 2026-02-26 00:00:00（UTC+8），完成于 " in chinese
    assert "触发" not in chinese
    SettlementRun.objects.filter(pk=run.pk).update(triggered_by="lin")
    assert re.search(r"finished [\d\- :]+, triggered by lin\.", visible(root.get(url, **EN)))
    assert "由 lin 触发" in visible(root.get(url, **ZH))


# --- 3. A refused approval of a post, in words ------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "sentence"),
    [
        (EN, "Post d1 was not approved: author not enrolled, which ops may not override."),
        (ZH, "帖子 d1 未能人工通过：作者不具备参与资格，此项运营不可覆盖。"),
    ],
)
def test_a_refused_approval_says_why_in_words_from_the_post_page_and_the_list(root, loaded, headers, sentence):
    post = Post.objects.get(post_id="d1")  # trader 1004 registered for spot: not enrolled
    from_page = root.post(f"/admin/campaign/post/{post.pk}/moderate/", {"decision": "approve", "note": "looks fine"}, follow=True, **headers)
    from_list = root.post(
        "/admin/campaign/post/", {"action": "approve_posts", "_selected_action": [post.pk], "apply": "1", "note": "looks fine"}, follow=True, **headers
    )
    for response in (from_page, from_list):
        shown = messages_of(response)
        assert sentence in shown
        assert not any("not_enrolled" in message for message in shown)
    assert not ModerationDecision.objects.filter(post=post).exists()


# --- 4. Reward events and review items in words -----------------------------------------------------


@pytest.fixture
def paid_then_changed(loaded):
    """Every reward approved and paid; then trader 1001's posts are deleted and the campaign settled
    again, which opens review items on 1001's paid rewards."""
    ops = User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456")
    settle_campaign(campaign=loaded, at=DUE)
    rewards_approve(reward_ids=list(Reward.objects.values_list("pk", flat=True)), user=ops)
    rewards_mark_paid(reward_ids=list(Reward.objects.values_list("pk", flat=True)), reference="BATCH-1", user=ops)
    Post.objects.filter(author__uid=1001).update(deleted=True, judged_at=None)
    settle_campaign(campaign=loaded, at=DUE)
    return ReviewItem.objects.filter(status="open", reward__trader__uid=1001).order_by("pk").first()


def test_the_reward_events_show_actions_and_states_in_words_in_both_languages(root, paid_then_changed):
    english = visible(root.get("/admin/rewards/rewardevent/", **EN))
    chinese = visible(root.get("/admin/rewards/rewardevent/", **ZH))
    assert "marked paid approved paid" in english and "approved calculated approved" in english
    assert "已标记发放 已审批 已发放" in chinese and "已审批 已计算 已审批" in chinese
    for code in ("calculated", "approve ", " pay "):
        assert code not in chinese


@pytest.mark.parametrize(
    ("headers", "paid", "closed"),
    [
        (EN, "was not accepted: the reward is paid, and a paid reward can only be kept.", "is already closed: kept: the reward keeps its amount."),
        (ZH, "未被接受：该奖励状态为已发放，已发放的奖励只能保留。", "已关闭：已保留：奖励维持原金额。"),
    ],
)
def test_a_refused_close_of_a_review_item_says_why_in_words(root, paid_then_changed, headers, paid, closed):
    item = paid_then_changed
    close = f"/admin/rewards/reviewitem/{item.pk}/close/"
    accepted = messages_of(root.post(close, {"action": "accept", "note": "try"}, follow=True, **headers))
    assert [m for m in accepted if paid in m] and all("paid_keep_only" not in m for m in accepted)
    assert root.post(close, {"action": "keep", "note": "finance claws back"}, follow=True, **headers).status_code == 200
    again = messages_of(
        root.post("/admin/rewards/reviewitem/", {"action": "keep", "_selected_action": [item.pk], "apply": "1", "note": "again"}, follow=True, **headers)
    )
    assert [m for m in again if f"#{item.pk}" in m and closed in m] and all("already_closed" not in m for m in again)


def test_the_service_refuses_with_codes_and_the_api_words_them_as_before(paid_then_changed):
    item = paid_then_changed
    ops = User.objects.get(username="ops")
    assert review_items_close(item_ids=[item.pk], action="accept", user=ops, note="try") == ([], [(item, "paid_keep_only")])
    review_items_close(item_ids=[item.pk], action="keep", user=ops, note="keep")
    assert review_items_close(item_ids=[item.pk], action="keep", user=ops, note="again") == ([], [(item, "already_closed")])


# --- The API token's scopes are checkboxes, never JSON ---------------------------------------------


def test_the_api_token_form_offers_the_scopes_as_checkboxes_in_words(root):
    owner = User.objects.create_user("crm", password="pw-crm-123456")
    token = ApiToken.objects.create(name="CRM sync", user=owner, scopes=["ingest"], prefix="abc123", key_hash="0" * 64)
    page = root.get(f"/admin/core/apitoken/{token.pk}/change/", **EN).content.decode()
    boxes = {re.search(r'value="(\w+)"', tag)[1]: " checked" in tag for tag in re.findall(r'<input type="checkbox" name="scopes"[^>]*>', page)}
    assert boxes == {"ingest": True, "read": False, "ops": False}
    assert "ingest: push registrations, sign-ups, posts, trading stats" in page and "[&quot;ingest&quot;]" not in page
    response = root.post(f"/admin/core/apitoken/{token.pk}/change/", {"name": "CRM sync", "scopes": ["ingest", "read"], "expires_at": ""})
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).scopes == ["ingest", "read"]
