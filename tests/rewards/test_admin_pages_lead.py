"""Admin pages that lead somewhere (issue 18): a post's own page moderates it, a trader's page leads
to their status page, posts and rewards in each campaign, and the API token form picks its user by
a searchable select instead of a raw id."""

import html
import re
from datetime import datetime
from decimal import Decimal

import pytest
from django.contrib import messages
from django.contrib.auth.models import Permission, User

from campaign.models import ModerationDecision, Post
from rewards.models import Reward, StatusLink
from rewards.selectors.links import status_link_from_token
from rewards.services import settle_campaign
from tests.factories import TraderFactory
from tests.pages import messages_of
from tests.rewards.scenario import scenario_load
from traders.models import Trader

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")


def staff(client, *perms):
    """A staff user with exactly these permissions ("app.codename"), logged in."""
    user = User.objects.create_user("staff", "staff@example.com", "pw-staff-123456", is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    client.force_login(user)
    return client


@pytest.fixture
def ops(client):
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456"))
    return client


@pytest.fixture
def settled(campaign):
    scenario_load(campaign)
    settle_campaign(campaign=campaign, at=DUE)
    return campaign


def post_page(client, post):
    return client.get(f"/admin/campaign/post/{post.pk}/change/").content.decode()


def moderate(client, post, decision, note):
    return client.post(f"/admin/campaign/post/{post.pk}/moderate/", {"decision": decision, "note": note}, follow=True)


# The post's own page


def test_a_moderator_rejects_a_post_from_its_page_and_the_decision_keeps_the_note(client, loaded):
    moderator = staff(client, "campaign.view_post", "campaign.moderate_post")
    post = Post.objects.get(post_id="b1")
    page = post_page(moderator, post)
    assert 'id="post-moderate"' in page and 'data-testid="moderate-reject"' in page and 'data-testid="moderate-approve"' in page
    assert 'data-testid="moderate-clear"' not in page  # nobody moderated it: nothing to clear

    response = moderate(moderator, post, "reject", "copied from another channel")

    assert response.redirect_chain[-1][0] == f"/admin/campaign/post/{post.pk}/change/"
    decision = ModerationDecision.objects.get(post=post)
    assert (decision.action, decision.note, decision.decided_by, decision.verdict_before) == ("rejected", "copied from another channel", "staff", "qualified")
    post.refresh_from_db()
    assert (post.moderation, post.verdict) == ("rejected", Post.Verdict.REJECTED)
    assert any("b1" in m and "rejected" in m for m in messages_of(response))
    page = post_page(moderator, post)
    assert 'data-testid="moderate-reject"' not in page and 'data-testid="moderate-clear"' in page


def test_clearing_from_the_page_gives_the_post_its_own_verdict_back_and_is_kept_too(client, loaded):
    moderator = staff(client, "campaign.view_post", "campaign.moderate_post")
    post = Post.objects.get(post_id="b1")
    moderate(moderator, post, "reject", "looked copied")
    moderate(moderator, post, "clear", "rejected in error: the trader wrote it")
    post.refresh_from_db()
    assert (post.moderation, post.verdict) == ("", Post.Verdict.QUALIFIED)
    assert list(ModerationDecision.objects.filter(post=post).order_by("id").values_list("action", "note")) == [
        ("rejected", "looked copied"),
        ("", "rejected in error: the trader wrote it"),
    ]


def test_an_approval_the_rules_forbid_is_refused_with_the_reason_and_nothing_is_recorded(client, loaded):
    moderator = staff(client, "campaign.view_post", "campaign.moderate_post")
    post = Post.objects.get(post_id="d1")  # trader 1004 is on spot: not enrolled, which ops may not override
    response = moderate(moderator, post, "approve", "looks fine")
    assert [m.level for m in response.context["messages"] if "d1" in str(m)] == [messages.WARNING]  # the service's reason, and no success
    assert not ModerationDecision.objects.filter(post=post).exists()
    post.refresh_from_db()
    assert (post.moderation, post.verdict) == ("", Post.Verdict.NOT_ENROLLED)


def test_a_decision_without_a_note_does_nothing(client, loaded):
    moderator = staff(client, "campaign.view_post", "campaign.moderate_post")
    post = Post.objects.get(post_id="b1")
    response = moderate(moderator, post, "reject", "   ")
    assert any("a note is required" in m for m in messages_of(response))
    assert not ModerationDecision.objects.filter(post=post).exists()


def test_a_user_without_the_moderation_permission_sees_no_button_and_cannot_forge_one(client, loaded):
    editor = staff(client, "campaign.view_post", "campaign.change_post")
    post = Post.objects.get(post_id="b1")
    page = post_page(editor, post)
    assert "b1" in page and 'id="post-moderate"' not in page and "/moderate/" not in page
    assert client.post(f"/admin/campaign/post/{post.pk}/moderate/", {"decision": "reject", "note": "forged"}).status_code == 403
    assert not ModerationDecision.objects.filter(post=post).exists()
    post.refresh_from_db()
    assert post.verdict == Post.Verdict.QUALIFIED


def test_the_moderation_address_takes_no_get(ops, loaded):
    post = Post.objects.get(post_id="b1")
    assert ops.get(f"/admin/campaign/post/{post.pk}/moderate/").status_code == 405


# The trader's page


def trader_page(client, uid):
    return client.get(f"/admin/traders/trader/{Trader.objects.get(uid=uid).pk}/change/").content.decode()


def cell(page, campaign, testid):
    row = re.search(rf'<tr data-testid="trader-campaign-{campaign.slug}">(.*?)</tr>', page, re.S)
    assert row, page[:2000]
    found = re.search(rf'<td data-testid="{testid}">(.*?)</td>', row.group(1), re.S)
    return found.group(1) if found else None


def href(fragment):
    return html.unescape(re.search(r'<a href="([^"]+)"', fragment).group(1))


def test_the_trader_page_gives_the_status_link_of_each_campaign_made_when_missing(ops, settled):
    trader = Trader.objects.get(uid=1001)
    StatusLink.objects.filter(trader=trader).delete()
    links = cell(trader_page(ops, 1001), settled, "status-link")
    url = html.unescape(re.search(r'value="([^"]+)"[^>]*class="status-link"', links).group(1))
    link = status_link_from_token(token=url.rstrip("/").rsplit("/", 1)[-1])
    assert link is not None and (link.trader, link.campaign) == (trader, settled)
    assert href(links) == url  # "Open the status page" leads there too


def test_a_trader_the_campaign_does_not_know_gets_no_link(ops, settled):
    TraderFactory(uid=9999)
    assert "does not know this trader" in cell(trader_page(ops, 9999), settled, "status-link")
    assert not StatusLink.objects.filter(trader__uid=9999).exists()


def test_the_trader_page_counts_the_posts_and_leads_to_them(ops, settled):
    posts = cell(trader_page(ops, 1001), settled, "posts")
    assert "4 posts, 4 qualified" in posts
    listed = ops.get(href(posts))
    assert listed.status_code == 200
    assert sorted(p.post_id for p in listed.context["cl"].result_list) == ["a1", "a2", "a3", "a4"]


def test_the_trader_page_counts_the_rewards_with_their_total_per_asset_and_leads_to_them(ops, settled):
    trader = Trader.objects.get(uid=1002)
    rewards = Reward.objects.filter(trader=trader, campaign=settled)
    Reward.objects.filter(pk=rewards.order_by("pk").first().pk).update(state=Reward.State.VOID)  # left out of the total
    totals = {}
    for reward in rewards.exclude(state=Reward.State.VOID):
        totals[reward.asset] = totals.get(reward.asset, Decimal("0.00")) + reward.amount
    assert rewards.count() >= 2 and totals

    shown = cell(trader_page(ops, 1002), settled, "rewards")

    assert f"{rewards.count()} rewards" in shown and "1 void reward, not counted in the totals" in shown
    assert re.findall(r'data-testid="reward-total">([^<]+)<', shown) == [f"{total:.2f} {asset}" for asset, total in sorted(totals.items())]
    listed = ops.get(href(shown))
    assert listed.status_code == 200
    assert sorted(r.pk for r in listed.context["cl"].result_list) == sorted(rewards.values_list("pk", flat=True))


def test_a_user_who_may_only_view_traders_sees_no_link_posts_or_rewards_and_makes_no_link(client, settled):
    viewer = staff(client, "traders.view_trader")
    StatusLink.objects.all().delete()
    page = trader_page(viewer, 1001)
    assert "alpha" in page
    for testid in ("status-link", "posts", "rewards"):
        assert cell(page, settled, testid) is None
    assert not StatusLink.objects.exists()


# The API token form


def test_the_token_form_picks_its_user_by_a_searchable_select(ops):
    owner = User.objects.create_user("finance-bot", "bot@example.com", "pw-bot-123456")
    page = ops.get("/admin/core/apitoken/add/").content.decode()
    select = re.search(r'<select name="user"[^>]*>', page)
    assert select and "admin-autocomplete" in select.group(0) and "data-ajax--url" in select.group(0)
    assert "vForeignKeyRawIdAdminField" not in page

    found = ops.get("/admin/autocomplete/", {"term": "finance", "app_label": "core", "model_name": "apitoken", "field_name": "user"}).json()
    assert [r["id"] for r in found["results"]] == [str(owner.pk)]
