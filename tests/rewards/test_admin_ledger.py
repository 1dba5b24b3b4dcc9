"""The ledger pages of the admin after approval: review items (read, accept, keep, one by one and in
bulk), adjustments for finance (totals, CSV and XLSX reports), reward totals, payout batch totals,
and the budget view of a settlement run. Through the Django test client with CSRF checks on, as
staff holding the real permissions, and as staff without them."""

import csv
import io
import re
from datetime import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from openpyxl import load_workbook

from campaign.models import Post
from rewards.models import Adjustment, PayoutBatch, ReviewItem, Reward, SettlementRun
from rewards.services import rewards_approve, rewards_mark_paid, settle_campaign
from tests.pages import messages_of

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
ITEMS = "/admin/rewards/reviewitem/"
ADJUSTMENTS = "/admin/rewards/adjustment/"
OPS_PERMISSIONS = (
    "view_reward", "approve_reward", "pay_reward", "view_reviewitem", "view_adjustment", "view_settlementrun", "view_payoutbatch",
)  # fmt: skip


def staff(username, *codenames):
    user = User.objects.create_user(username, password=f"pw-{username}-123456", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return user, client


@pytest.fixture
def ops():
    return staff("ops", *OPS_PERMISSIONS)


@pytest.fixture
def viewer():
    """Staff who may read the ledger pages but neither approve nor see adjustments."""
    return staff("viewer", "view_reward", "view_reviewitem", "view_settlementrun", "view_payoutbatch")


def settle(campaign) -> SettlementRun:
    return settle_campaign(campaign=campaign, at=DUE)


def approve_all(user):
    done, refused = rewards_approve(reward_ids=list(Reward.objects.values_list("pk", flat=True)), user=user)
    assert done and not refused
    return done


def pay_all(user, reference="BATCH-1"):
    _batch, done, refused = rewards_mark_paid(reward_ids=list(Reward.objects.filter(state="approved").values_list("pk", flat=True)), reference=reference, user=user)
    assert done and not refused
    return done


def drop_alpha_and_settle(campaign) -> SettlementRun:
    """Trader 1001 (alpha) loses every post: every reward of theirs computes 0.00, and 1002 moves
    from rank 2 (3,000.00) to rank 1 (4,000.00) of the leaderboard."""
    Post.objects.filter(author__uid=1001).update(deleted=True, judged_at=None)
    return settle(campaign)


@pytest.fixture
def approved(loaded, ops):
    """Every reward approved, then the second settlement opens a review item for four of them."""
    first = settle(loaded)
    approve_all(ops[0])
    second = drop_alpha_and_settle(loaded)
    return loaded, first, second


@pytest.fixture
def paid(loaded, ops):
    """Every reward approved and paid in one batch, then the second settlement opens four items."""
    first = settle(loaded)
    approve_all(ops[0])
    pay_all(ops[0])
    second = drop_alpha_and_settle(loaded)
    return loaded, first, second


def item_of(uid, kind) -> ReviewItem:
    return ReviewItem.objects.select_related("reward").get(reward__trader__uid=uid, reward__kind=kind, status="open")


def csrf(client, url):
    page = client.get(url)
    assert page.status_code == 200
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)


def section(html, testid):
    """The HTML of one labelled explanation column."""
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index("</section>", start)]


# --- Review items: reading them ------------------------------------------------------------------


def test_the_review_item_list_names_each_item_with_trader_amounts_and_signed_difference(approved, ops):
    _campaign, _first, second = approved
    response = ops[1].get(ITEMS, {"status__exact": "open"})
    html = response.content.decode()
    assert response.context["cl"].result_count == 4
    item = item_of(1002, "leaderboard")
    assert f"#{item.pk} 1002 leaderboard: 3000.00 -&gt; 4000.00 USDT" in html
    assert "ReviewItem object" not in html
    assert 'data-amount="+1000.00"' in html  # 1002: 3000.00 in the ledger, 4000.00 computed
    assert 'data-amount="-4000.00"' in html  # 1001: rank 1 before, out of the board now
    assert f"settlement #{second.pk} (2026-02-26 00:00 UTC+8)" in html
    assert html.count('<td class="field-trader_nickname">alpha</td>') == 3
    assert html.count('<td class="field-reward_state"><b style="color:#0969da">approved</b></td>') == 4
    assert ops[1].get(ITEMS, {"q": "1002"}).context["cl"].result_count == 1
    assert ops[1].get(ITEMS, {"q": "alpha"}).context["cl"].result_count == 3


def test_an_open_review_item_page_shows_the_stored_and_the_new_explanation_each_labelled(approved, ops):
    _campaign, first, second = approved
    item = item_of(1002, "leaderboard")
    html = ops[1].get(f"{ITEMS}{item.pk}/change/").content.decode()
    stored, new = section(html, "explanation-stored"), section(html, "explanation-new")
    assert f"In the ledger: 3000.00 USDT, as computed by settlement #{first.pk} (2026-02-26 00:00 UTC+8)" in stored
    assert f"New computation (review item #{item.pk}, not in the ledger): 4000.00 USDT, by settlement #{second.pk} (2026-02-26 00:00 UTC+8)" in new
    rank = re.compile(r'data-testid="breakdown-rank">#(\d+)<')
    assert rank.findall(stored) == ["2"] and rank.findall(new) == ["1"]  # each column explains its own amount
    assert re.search(r'data-testid="breakdown-amount"><strong>3,000.00 USDT<', stored) and re.search(r'data-testid="breakdown-amount"><strong>4,000.00 USDT<', new)
    # The history of computed amounts, with the settlement of each.
    assert "4000.00 USDT" in html and f'/admin/rewards/settlementrun/{second.pk}/change/' in html
    assert f'/admin/rewards/reward/{item.reward_id}/change/' in html
    # Read-only: no save button, and the change form refuses a POST.
    assert 'name="_save"' not in html
    assert 'data-testid="accept"' in html and "disabled" not in re.search(r'<button[^>]*data-testid="accept"[^>]*>', html).group(0)


def test_a_computation_of_zero_says_the_settlement_gives_no_such_reward_any_more(approved, ops):
    item = item_of(1001, "leaderboard")
    html = ops[1].get(f"{ITEMS}{item.pk}/change/").content.decode()
    assert "This settlement gives no such reward any more" in section(html, "explanation-new")
    assert 'data-testid="breakdown-leaderboard"' in section(html, "explanation-stored")
    assert "the reward becomes void" in html


# --- Review items: accept and keep from the item's page ------------------------------------------------


def test_accept_from_the_item_page_puts_the_new_amount_in_the_ledger_to_be_approved_again(approved, ops):
    item = item_of(1002, "leaderboard")
    page = f"{ITEMS}{item.pk}/change/"
    token = csrf(ops[1], page)
    response = ops[1].post(f"{ITEMS}{item.pk}/close/", {"csrfmiddlewaretoken": token, "action": "accept", "note": "rank 1 now"}, follow=True)
    assert f"Review item #{item.pk} closed: accepted: the reward takes the computed amount." in messages_of(response)
    reward = Reward.objects.get(pk=item.reward_id)
    assert (reward.amount, reward.state, reward.approved_by) == (Decimal("4000.00"), "calculated", "")
    item.refresh_from_db()
    assert (item.status, item.resolution, item.resolved_by, item.resolution_note) == ("resolved", "accept", "ops", "rank 1 now")
    assert reward.events.filter(action="accept_review", by="ops").exists()
    assert not Adjustment.objects.exists()  # an approved reward was never paid: nothing for finance
    # Approved again, within the leaderboard pool.
    done, refused = rewards_approve(reward_ids=[reward.pk], user=ops[0])
    assert done and not refused
    # The closed item's page offers no buttons any more.
    assert 'data-testid="accept"' not in ops[1].get(page).content.decode()


def test_closing_from_the_item_page_needs_a_note_a_post_and_the_approve_permission(approved, ops, viewer):
    item = item_of(1002, "leaderboard")
    page, close = f"{ITEMS}{item.pk}/change/", f"{ITEMS}{item.pk}/close/"
    token = csrf(ops[1], page)
    response = ops[1].post(close, {"csrfmiddlewaretoken": token, "action": "accept", "note": "   "}, follow=True)
    assert "A note is required to close a review item; nothing was changed." in messages_of(response)
    assert ops[1].get(close).status_code == 405
    assert Client().post(close, {"action": "accept", "note": "x"}).status_code == 302  # to the login page
    assert ops[1].post(close, {"action": "accept", "note": "no token"}).status_code == 403  # CSRF
    viewer_page = viewer[1].get(page).content.decode()
    assert 'data-testid="explanation-new"' in viewer_page and 'data-testid="keep"' not in viewer_page
    viewer_token = csrf(viewer[1], page)
    assert viewer[1].post(close, {"csrfmiddlewaretoken": viewer_token, "action": "keep", "note": "x"}).status_code == 403
    item.refresh_from_db()
    assert item.status == "open" and Reward.objects.get(pk=item.reward_id).amount == Decimal("3000.00")


def test_a_paid_reward_can_only_be_kept_and_keeping_it_records_the_adjustment(paid, ops):
    item = item_of(1002, "leaderboard")
    page, close = f"{ITEMS}{item.pk}/change/", f"{ITEMS}{item.pk}/close/"
    html = ops[1].get(page).content.decode()
    assert " disabled " in re.search(r'<button[^>]*data-testid="accept"[^>]*>', html).group(0)
    assert 'data-testid="accept-unavailable"' in html and "a paid reward can only be kept" in html
    assert "Keep 3000.00 USDT and record an adjustment of +1000.00 USDT for finance" in html
    token = csrf(ops[1], page)
    refused = ops[1].post(close, {"csrfmiddlewaretoken": token, "action": "accept", "note": "try"}, follow=True)
    assert any("a paid reward can only be kept" in m for m in messages_of(refused))
    assert Reward.objects.get(pk=item.reward_id).state == "paid"
    kept = ops[1].post(close, {"csrfmiddlewaretoken": token, "action": "keep", "note": "top up next week"}, follow=True)
    assert "Adjustment recorded for finance: +1000.00 USDT." in messages_of(kept)
    adjustment = Adjustment.objects.get(review_item=item)
    assert (adjustment.amount, adjustment.asset, adjustment.created_by, adjustment.note) == (Decimal("1000.00"), "USDT", "ops", "top up next week")
    reward = Reward.objects.get(pk=item.reward_id)
    assert (reward.amount, reward.state) == (Decimal("3000.00"), "paid")  # a paid reward never changes
    # The reward's page lists the adjustment.
    reward_page = ops[1].get(f"/admin/rewards/reward/{reward.pk}/change/").content.decode()
    listed = reward_page[reward_page.index('data-testid="reward-adjustments"') :]
    assert 'data-amount="+1000.00"' in listed and "top up next week" in listed


# --- Review items: the bulk actions --------------------------------------------------------------------


def test_bulk_keep_confirms_the_selected_items_with_the_difference_per_asset_then_records_adjustments(paid, ops):
    ids = list(ReviewItem.objects.filter(status="open").values_list("pk", flat=True))
    assert len(ids) == 4  # 1001: first post, content pool, leaderboard; 1002: leaderboard
    token = csrf(ops[1], ITEMS)
    confirm = ops[1].post(ITEMS, {"csrfmiddlewaretoken": token, "action": "keep", "_selected_action": ids})
    html = confirm.content.decode()
    assert confirm.status_code == 200 and "4 review items selected" in html
    for item in ReviewItem.objects.filter(pk__in=ids):
        assert f'data-item="{item.pk}"' in html
    totals = html[html.index('id="difference-totals"') :]
    # USDT: -100.00 (content pool) - 4000.00 + 1000.00 (leaderboard); TRIAL_FUND: -30.00; never one sum.
    assert '<tr data-asset="USDT"><td>USDT</td><td style="text-align:right">-3100.00 USDT</td>' in totals
    assert '<tr data-asset="TRIAL_FUND"><td>TRIAL_FUND</td><td style="text-align:right">-30.00 TRIAL_FUND</td>' in totals
    assert 'data-adjustment-asset="USDT">-3100.00 USDT' in html
    assert not ReviewItem.objects.filter(status="resolved").exists()  # nothing happens before the note

    done = ops[1].post(ITEMS, {"csrfmiddlewaretoken": token, "action": "keep", "_selected_action": ids, "apply": "1", "note": "finance settles"}, follow=True)
    assert "Kept: 4 review item(s)." in messages_of(done)
    amounts = sorted((a.trader.uid, a.reward.kind, a.asset, a.amount) for a in Adjustment.objects.select_related("trader", "reward"))
    assert amounts == [
        (1001, "content_pool", "USDT", Decimal("-100.00")),
        (1001, "first_post", "TRIAL_FUND", Decimal("-30.00")),
        (1001, "leaderboard", "USDT", Decimal("-4000.00")),
        (1002, "leaderboard", "USDT", Decimal("1000.00")),
    ]
    assert set(Reward.objects.values_list("state", flat=True)) == {"paid"}


def test_bulk_accept_refuses_paid_rewards_and_says_so_before_and_after(paid, ops):
    ids = list(ReviewItem.objects.filter(status="open").values_list("pk", flat=True))
    token = csrf(ops[1], ITEMS)
    confirm = ops[1].post(ITEMS, {"csrfmiddlewaretoken": token, "action": "accept", "_selected_action": ids}).content.decode()
    assert "4 selected items are of paid rewards: accept refuses them" in confirm
    done = ops[1].post(ITEMS, {"csrfmiddlewaretoken": token, "action": "accept", "_selected_action": ids, "apply": "1", "note": "try"}, follow=True)
    shown = messages_of(done)
    assert "Accepted: 0 review item(s)." in shown and sum("a paid reward can only be kept" in m for m in shown) == 4
    assert ReviewItem.objects.filter(status="open").count() == 4 and not Adjustment.objects.exists()


def test_bulk_accept_of_approved_rewards_voids_the_zeros_and_recalculates_the_rest(approved, ops):
    ids = list(ReviewItem.objects.filter(status="open").values_list("pk", flat=True))
    token = csrf(ops[1], ITEMS)
    done = ops[1].post(ITEMS, {"csrfmiddlewaretoken": token, "action": "accept", "_selected_action": ids, "apply": "1", "note": "moderated"}, follow=True)
    assert "Accepted: 4 review item(s)." in messages_of(done)
    states = {(r.trader.uid, r.kind): (r.state, r.amount) for r in Reward.objects.select_related("trader")}
    assert states[(1001, "leaderboard")] == ("void", Decimal("0.00"))
    assert states[(1001, "content_pool")] == ("void", Decimal("0.00"))
    assert states[(1001, "first_post")] == ("void", Decimal("0.00"))
    assert states[(1002, "leaderboard")] == ("calculated", Decimal("4000.00"))
    assert states[(1002, "content_pool")] == ("approved", Decimal("100.00"))  # no item: untouched


def test_the_bulk_actions_are_not_offered_without_the_approve_permission(approved, viewer):
    page = viewer[1].get(ITEMS)
    assert page.status_code == 200 and 'value="accept"' not in page.content.decode()
    ids = list(ReviewItem.objects.filter(status="open").values_list("pk", flat=True))
    token = csrf(viewer[1], ITEMS)
    viewer[1].post(ITEMS, {"csrfmiddlewaretoken": token, "action": "keep", "_selected_action": ids, "apply": "1", "note": "x"})
    assert ReviewItem.objects.filter(status="open").count() == 4


# --- Adjustments ----------------------------------------------------------------------------------


@pytest.fixture
def adjusted(paid, ops):
    """The four items of the paid scenario kept: four adjustments in two assets."""
    from rewards.services import review_items_close

    done, refused = review_items_close(item_ids=list(ReviewItem.objects.filter(status="open").values_list("pk", flat=True)), action="keep", user=ops[0], note="kept")
    assert len(done) == 4 and not refused
    return paid[0]


def test_the_adjustments_list_shows_each_trader_signed_with_totals_per_asset(adjusted, ops):
    response = ops[1].get(ADJUSTMENTS)
    html = response.content.decode()
    assert response.context["cl"].result_count == 4
    totals = html[html.index('id="adjustment-totals"') : html.index("</table>", html.index('id="adjustment-totals"'))]
    usdt = re.search(r'<tr data-asset="USDT">(.*?)</tr>', totals).group(1)
    assert ">3<" in usdt and ">1000.00<" in usdt and ">-4100.00<" in usdt and "-3100.00 USDT" in usdt
    trial = re.search(r'<tr data-asset="TRIAL_FUND">(.*?)</tr>', totals).group(1)
    assert ">1<" in trial and "-30.00 TRIAL_FUND" in trial
    assert "7100" not in totals and "3130" not in totals  # assets never added together
    assert 'data-amount="+1000.00"' in html and "color:#1a7f37" in html and 'data-amount="-4000.00"' in html
    assert "alpha" in html and "4000.00" in html  # nickname; the paid amount of the leaderboard reward
    # The filtered list totals only what it lists.
    filtered = ops[1].get(ADJUSTMENTS, {"asset__exact": "TRIAL_FUND"}).content.decode()
    assert 'data-asset="USDT"' not in filtered[filtered.index('id="adjustment-totals"') :].split("</table>")[0]
    assert ops[1].get(ADJUSTMENTS, {"q": "1002"}).context["cl"].result_count == 1
    # Read-only, each row with its review item and reward.
    assert "/admin/rewards/adjustment/add/" not in html
    adjustment = Adjustment.objects.get(trader__uid=1002)
    page = ops[1].get(f"{ADJUSTMENTS}{adjustment.pk}/change/").content.decode()
    assert f'/admin/rewards/reviewitem/{adjustment.review_item_id}/change/' in page and f'/admin/rewards/reward/{adjustment.reward_id}/change/' in page
    assert 'name="_save"' not in page
    assert ops[1].post(f"{ADJUSTMENTS}{adjustment.pk}/delete/", {"csrfmiddlewaretoken": csrf(ops[1], ADJUSTMENTS), "post": "yes"}).status_code == 403
    assert Adjustment.objects.count() == 4


def test_the_adjustments_reports_download_as_csv_and_xlsx_with_every_row(adjusted, ops):
    html = ops[1].get(ADJUSTMENTS, {"campaign__id__exact": adjusted.pk}).content.decode()
    csv_url = re.search(r'href="([^"]+)" class="adjustments-report" data-format="csv"', html).group(1)
    xlsx_url = re.search(r'href="([^"]+)" class="adjustments-report" data-format="xlsx"', html).group(1)
    response = ops[1].get(csv_url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f"{adjusted.slug}-adjustments-" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    got = sorted((r["uid"], r["kind"], r["asset"], r["adjustment"], r["paid"], r["computed"]) for r in rows)
    assert got == [
        ("1001", "content_pool", "USDT", "-100.00", "100.00", "0.00"),
        ("1001", "first_post", "TRIAL_FUND", "-30.00", "30.00", "0.00"),
        ("1001", "leaderboard", "USDT", "-4000.00", "4000.00", "0.00"),
        ("1002", "leaderboard", "USDT", "1000.00", "3000.00", "4000.00"),
    ]
    sheet = load_workbook(io.BytesIO(ops[1].get(xlsx_url).content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0][:6] == ["uid", "nickname", "kind", "period", "asset", "adjustment"]
    assert sorted((r[0], r[2], r[5]) for r in values[1:]) == [(1001, "content_pool", -100), (1001, "first_post", -30), (1001, "leaderboard", -4000), (1002, "leaderboard", 1000)]


def test_the_adjustments_report_needs_the_view_permission(adjusted, viewer):
    url = f"{ADJUSTMENTS}report/{adjusted.pk}/csv/"
    assert viewer[1].get(url).status_code == 403
    assert viewer[1].get(ADJUSTMENTS).status_code == 403
    assert Client().get(url).status_code == 302  # to the login page


# --- Rewards, payout batches, settlement runs ---------------------------------------------------------


def test_the_reward_totals_have_two_decimals_per_asset_and_state_on_every_database(loaded, ops):
    # A pool cap above the pool makes shares with cents: 500 x 33/69 = 239.13 and 260.87.
    loaded.pool_cap = Decimal("500.00")
    loaded.save()
    settle(loaded)
    html = ops[1].get("/admin/rewards/reward/", {"q": "1001"}).content.decode()
    totals = html[html.index('id="reward-totals"') : html.index("</table>", html.index('id="reward-totals"'))]
    cells = re.findall(r'<tr data-asset="([A-Z_]+)" data-state="(\w+)">.*?<td class="total"[^>]*>([^<]+)</td>', totals)
    expected_usdt = sum(Reward.objects.filter(trader__uid=1001, asset="USDT").values_list("amount", flat=True), Decimal("0.00"))
    assert expected_usdt == Decimal("4239.13")
    assert cells == [("TRIAL_FUND", "calculated", "30.00 TRIAL_FUND"), ("USDT", "calculated", "4239.13 USDT")]


def test_the_reward_list_and_page_point_to_the_open_review_item_and_label_both_computations(approved, ops):
    _campaign, first, second = approved
    item = item_of(1002, "leaderboard")
    listing = ops[1].get("/admin/rewards/reward/", {"q": "1002"}).content.decode()
    assert f'href="/admin/rewards/reviewitem/{item.pk}/change/">#{item.pk}: computed 4000.00</a>' in listing
    page = ops[1].get(f"/admin/rewards/reward/{item.reward_id}/change/").content.decode()
    assert f"as computed by settlement #{first.pk} (2026-02-26 00:00 UTC+8)" in section(page, "explanation-stored")
    assert f"New computation (review item #{item.pk}, not in the ledger): 4000.00 USDT, by settlement #{second.pk}" in section(page, "explanation-new")
    # A reward without an open item shows its own explanation only.
    calm = Reward.objects.get(trader__uid=1002, kind="content_pool")
    calm_page = ops[1].get(f"/admin/rewards/reward/{calm.pk}/change/").content.decode()
    assert 'data-testid="explanation-stored"' in calm_page and 'data-testid="explanation-new"' not in calm_page


def test_a_payout_batch_shows_its_total_per_asset_and_its_reward_count(loaded, ops):
    settle(loaded)
    approve_all(ops[0])
    pay_all(ops[0], reference="GATE-2026-03")
    batch = PayoutBatch.objects.get()
    html = ops[1].get("/admin/rewards/payoutbatch/").content.decode()
    assert "90.00 TRIAL_FUND · 7,200.00 USDT" in html  # 3 x 30; 4000 + 3000 + 100 + 100
    assert re.search(r'<td class="field-reward_count">7</td>', html)
    page = ops[1].get(f"/admin/rewards/payoutbatch/{batch.pk}/change/").content.decode()
    assert "90.00 TRIAL_FUND · 7,200.00 USDT" in page


def test_a_settlement_run_page_shows_the_budget_table_and_the_ledger_changes_in_words(loaded, ops):
    settle(loaded)
    alpha_pool = Reward.objects.get(trader__uid=1001, kind="content_pool")
    done, _refused = rewards_approve(reward_ids=[alpha_pool.pk], user=ops[0])
    assert done
    # The pool shrinks to 150.00 after 100.00 of it was approved: 50.00 is still approvable, and
    # the calculated share of 1002 exceeds it.
    loaded.pool_amount = Decimal("150.00")
    loaded.save()
    run = settle(loaded)
    html = ops[1].get(f"/admin/rewards/settlementrun/{run.pk}/change/").content.decode()
    calculated = Reward.objects.get(trader__uid=1002, kind="content_pool").amount
    row = re.search(r'<tr data-pool="content_pool-P1" class="over"[^>]*>(.*?)</tr>', html, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert cells[2].strip() == "150.00" and cells[3].startswith("100.00") and cells[4] == format(calculated, "f") and cells[5] == "50.00"
    assert f'data-testid="excess">{calculated - Decimal("50.00")}</b>' in row
    board = re.search(r'<tr data-pool="leaderboard-ALL">(.*?)</tr>', html, re.S).group(1)
    assert "20000.00" in board and 'data-testid="excess"' not in board  # nothing approved there: no excess
    ledger = run.summary["ledger"]
    assert (
        f"Rewards: {ledger['created']} created, {ledger['updated']} updated, {ledger['deleted']} deleted. "
        f"Review items: 1 opened, 0 updated, 0 withdrawn."
    ) in html
    assert "review_items_withdrawn" not in html and "approved_and_paid" not in html  # no raw JSON for those parts
    listing = ops[1].get("/admin/rewards/settlementrun/").content.decode()
    unallocated = run.summary["content_pool"]["P1"]["unallocated"]
    assert f"content pool P1: {unallocated} USDT · leaderboard: 13000.00 USDT" in listing
