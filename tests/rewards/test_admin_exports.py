"""Ops take the rewards list to a spreadsheet (issue 18): the file holds the rewards the list's
filters and search select, every amount exact to the cent, kinds, periods and states in words of
the reader's language, and no nickname or batch reference that runs as a formula."""

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from openpyxl import load_workbook

from rewards.models import Reward, SettlementRun
from rewards.rules.money import format_money
from rewards.services import rewards_approve, rewards_mark_paid, settle_campaign
from tests.factories import TraderFactory

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")
REWARDS = "/admin/rewards/reward/"
EVIL = "=cmd|' /C calc'!A0"  # trader 1002's nickname in the scenario
REFERENCE = '=HYPERLINK("http://x","y")'


@pytest.fixture
def ops(client):
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456"))
    return client


@pytest.fixture
def ledger(loaded, ops):
    """The scenario settled; trader 1002's rewards approved and paid in a batch whose reference is
    a formula; plus one reward of 1,234,567.89 for trader 3001 to read the cents of."""
    settle_campaign(campaign=loaded, at=DUE)
    user = User.objects.get(username="ops")
    ids = list(Reward.objects.filter(trader__uid=1002).values_list("pk", flat=True))
    assert rewards_approve(reward_ids=ids, user=user)[0]
    assert rewards_mark_paid(reward_ids=ids, reference=REFERENCE, user=user)[1]
    Reward.objects.create(campaign=loaded, kind="content_pool", period="P2", trader=TraderFactory(uid=3001, nickname="+big"), asset="USDT",
                          amount=Decimal("1234567.89"), settlement_run=SettlementRun.objects.filter(campaign=loaded).latest("pk"))  # fmt: skip
    return loaded


def csv_rows(response):
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].endswith('.csv"') and "no-store" in response["Cache-Control"]
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_the_rewards_file_holds_the_filtered_rewards_with_every_amount_exact(ops, ledger):
    rows = csv_rows(ops.get(REWARDS + "export/csv/", {"kind__exact": "content_pool"}, HTTP_ACCEPT_LANGUAGE="en"))
    assert rows[0] == ["campaign", "trader UID", "nickname", "kind", "period", "asset", "amount", "state", "preview (not yet due)", "approved by",
                       "payout batch", "created"]  # fmt: skip
    expected = Reward.objects.filter(kind="content_pool")
    assert len(rows) - 1 == expected.count() and expected.count() < Reward.objects.count()
    assert sorted((int(row[1]), row[4], row[6]) for row in rows[1:]) == sorted((r.trader.uid, r.period, format_money(r.amount)) for r in expected)
    assert [row[6] for row in rows[1:] if row[1] == "3001"] == ["1234567.89"]
    assert {row[3] for row in rows[1:]} == {"content pool"}
    assert sum(Decimal(row[6]) for row in rows[1:]) == sum(r.amount for r in expected)  # to the cent
    searched = csv_rows(ops.get(REWARDS + "export/csv/", {"q": "1002"}))
    assert {row[1] for row in searched[1:]} == {"1002"} and len(searched) - 1 == Reward.objects.filter(trader__uid=1002).count()


def test_a_paid_reward_says_who_approved_it_and_its_batch_and_formulas_stay_text(ops, ledger):
    rows = csv_rows(ops.get(REWARDS + "export/csv/", {"q": "1002"}, HTTP_ACCEPT_LANGUAGE="en"))
    for row in rows[1:]:
        assert row[2] == "'" + EVIL and row[7] == "paid" and row[8] == "no" and row[9] == "ops" and row[10] == "'" + REFERENCE
        assert row[11].endswith(" UTC+8")
    big = csv_rows(ops.get(REWARDS + "export/csv/", {"q": "3001"}))[1]
    assert big[2] == "'+big" and big[4] == "P2" and big[7] == "calculated" and big[9:11] == ["", ""]
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@")]


def test_the_xlsx_has_amounts_as_numbers_with_two_decimals_and_texts_as_string_cells(ops, ledger):
    response = ops.get(REWARDS + "export/xlsx/", {"q": "1002"})
    assert response.status_code == 200 and response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows())[1:]
    assert len(rows) == Reward.objects.filter(trader__uid=1002).count() > 0
    for row in rows:
        nickname, amount, reference = row[2], row[6], row[10]
        assert (nickname.value, nickname.data_type, nickname.quotePrefix) == (EVIL, "s", True)
        assert (reference.value, reference.data_type, reference.quotePrefix) == (REFERENCE, "s", True)
        assert amount.data_type == "n" and amount.number_format == "0.00"
    amounts = sorted(Decimal(str(row[6].value)).quantize(Decimal("0.01")) for row in rows)
    assert amounts == sorted(Reward.objects.filter(trader__uid=1002).values_list("amount", flat=True))
    assert not [cell.coordinate for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]
    big = load_workbook(io.BytesIO(ops.get(REWARDS + "export/xlsx/", {"q": "3001"}).content)).active["G2"]
    assert (big.value, big.number_format) == (1234567.89, "0.00")


def test_a_chinese_reader_gets_chinese_headers_and_labels(ops, ledger):
    rows = csv_rows(ops.get(REWARDS + "export/csv/", {"q": "1002"}, HTTP_ACCEPT_LANGUAGE="zh-hans"))
    assert rows[0] == ["活动", "交易员 UID", "昵称", "类型", "周期", "资产", "金额", "状态", "预览（尚未到期）", "审批人", "发放批次", "创建时间"]
    leaderboard = next(row for row in rows[1:] if row[3] == "排行榜")  # trader 1002 ranks on the leaderboard
    assert leaderboard[4] == "整个活动" and leaderboard[7] == "已发放" and leaderboard[8] == "否"


def test_the_rewards_list_links_its_exports_with_its_filters(ops, ledger):
    html = ops.get(REWARDS, {"state__exact": "paid", "p": 1}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'href="/admin/rewards/reward/export/csv/?state__exact=paid"' in html and 'href="/admin/rewards/reward/export/xlsx/?state__exact=paid"' in html
    assert 'id="reward-totals"' in html  # the list's own totals are still there


def test_the_export_needs_the_view_permission_of_rewards(client, ledger):
    staff = User.objects.create_user("staff", password="pw-staff-123456", is_staff=True)
    client.force_login(staff)
    assert client.get(REWARDS + "export/csv/").status_code == 403
    assert client.get(REWARDS + "export/xlsx/").status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_reward"))
    client.force_login(User.objects.get(pk=staff.pk))
    assert len(csv_rows(client.get(REWARDS + "export/csv/"))) - 1 == Reward.objects.count()
    assert client.get(REWARDS + "export/pdf/").status_code == 404
