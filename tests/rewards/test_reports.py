"""Payout reports: XLSX content, formula injection, stored daily reports and their email."""

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest
from django.core import mail
from openpyxl import load_workbook

from campaign.services import posts_import_file, signups_import
from rewards.models import PayoutReport
from rewards.services import payout_report_store, payout_rows, render_csv, render_xlsx, settle_campaign
from rewards.services.reports import AdjustmentRow, PayoutRow, render_adjustments_xlsx, safe_cell
from rewards.tasks import payout_report_daily_task
from tests.rewards.scenario import REGISTRATIONS, SIGNUPS, STATS, posts_jsonl
from traders.services import registrations_import, trader_stats_import

pytestmark = pytest.mark.django_db
DUE = datetime.fromisoformat("2026-02-26T00:00:00+08:00")


@pytest.fixture
def settled(campaign):
    registrations_import(data=REGISTRATIONS.encode())
    signups_import(campaign=campaign, data=SIGNUPS.encode())
    trader_stats_import(data=STATS.encode())
    posts_import_file(campaign=campaign, data=posts_jsonl().encode())
    settle_campaign(campaign=campaign, at=DUE)
    return campaign


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_every_formula_trigger_is_defused(text):
    assert safe_cell(text) == "'" + text


def test_plain_text_is_left_alone():
    assert safe_cell("alpha") == "alpha" and safe_cell("合约老王") == "合约老王"


def test_the_xlsx_holds_the_csv_rows_with_text_cells_that_never_run(settled):
    rows = payout_rows(campaign=settled)
    sheet = load_workbook(io.BytesIO(render_xlsx(rows))).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == ["uid", "nickname", "kind", "period", "asset", "amount", "status"]
    csv_lines = render_csv(rows).splitlines()[1:]
    assert len(values) - 1 == len(csv_lines) == 7
    nick = values[4][1]
    assert nick == "=cmd|' /C calc'!A0" and sheet.cell(row=5, column=2).data_type == "s"  # text as typed, never a formula
    assert "'=cmd|' /C calc'!A0" in render_csv(rows)  # a CSV has no cell types: its text keeps the mark
    assert values[3][:5] == [1001, "alpha", "leaderboard", "ALL", "USDT"]
    amount = sheet.cell(row=4, column=6)
    assert amount.value == 4000 and amount.number_format == "0.00"  # a number, shown with two decimals


HYPERLINK = '=HYPERLINK("https://evil.example/x","click me")'


def test_a_formula_like_text_is_a_string_cell_in_the_xlsx_without_a_leading_apostrophe():
    rows = [
        PayoutRow(1001, HYPERLINK, "leaderboard", "ALL", "USDT", Decimal("4000.00"), "approved"),
        PayoutRow(1002, "@bob", "first_post", "ALL", "TRIAL_FUND", Decimal("30.00"), "paid"),
    ]
    sheet = load_workbook(io.BytesIO(render_xlsx(rows))).active
    for cell, text in ((sheet["B2"], HYPERLINK), (sheet["B3"], "@bob")):
        assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True)  # Excel shows it as typed and never runs it
    assert (sheet["A2"].value, sheet["A2"].data_type, sheet["F2"].value, sheet["F2"].data_type) == (1001, "n", 4000, "n")
    assert sheet["C2"].quotePrefix is False  # only formula-like text is marked
    assert sheet.auto_filter.ref == "A1:G3" and sheet.freeze_panes == "A2"
    csv_rows = list(csv.reader(io.StringIO(render_csv(rows))))
    assert [line[1] for line in csv_rows[1:]] == ["'" + HYPERLINK, "'@bob"]  # a CSV has no cell types: its text keeps the mark


def test_the_adjustments_xlsx_keeps_notes_as_typed_text_with_negative_amounts_as_numbers():
    at = datetime.fromisoformat("2026-03-01T10:00:00+08:00")
    row = AdjustmentRow(1001, "alpha", "leaderboard", "ALL", "USDT", Decimal("-4000.00"), Decimal("4000.00"), Decimal("0.00"), 7, at, "=ops", "-claw back")
    sheet = load_workbook(io.BytesIO(render_adjustments_xlsx([row]))).active
    line = [(cell.value, cell.data_type) for cell in sheet[2]]
    assert line[5] == (-4000, "n") and line[10:] == [("=ops", "s"), ("-claw back", "s")]
    assert sheet.auto_filter.ref == "A1:L2"


def test_the_daily_report_is_stored_and_emailed_with_both_files(settled, settings, eager_tasks):
    settings.PAYOUT_REPORT_RECIPIENTS = ["finance@example.com"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = settings.BASE_DIR / "var" / "test-media"
    assert list(payout_report_daily_task.apply().get()) == [settled.slug]  # one task queued (and run: eager)
    report = PayoutReport.objects.get(campaign=settled)
    assert report.rows == 7 and report.emailed_to == "finance@example.com"
    assert report.csv_file.read().decode() == render_csv(payout_rows(campaign=settled))
    (message,) = mail.outbox
    assert message.to == ["finance@example.com"]
    assert [name.rsplit(".", 1)[-1] for name, _, _ in message.attachments] == ["csv", "xlsx"]


def test_a_report_without_recipients_is_stored_but_not_sent(settled, settings):
    settings.PAYOUT_REPORT_RECIPIENTS = []
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = settings.BASE_DIR / "var" / "test-media"
    report = payout_report_store(campaign=settled, created_by="ops", email=True)
    assert report.emailed_to == "" and mail.outbox == []


def test_the_admin_serves_a_stored_report_only_to_staff(settled, settings, client, admin_client):
    settings.MEDIA_ROOT = settings.BASE_DIR / "var" / "test-media"
    report = payout_report_store(campaign=settled, created_by="ops")
    url = f"/admin/rewards/payoutreport/{report.pk}/download/csv/"
    assert client.get(url).status_code == 302  # to the login page
    response = admin_client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content).decode() == render_csv(payout_rows(campaign=settled))
