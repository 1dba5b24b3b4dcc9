"""The payout report of RULES.md section 9 (CSV exactly, and XLSX), stored and emailed daily."""

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.utils import timezone

from campaign.models import Campaign
from rewards.models import PayoutReport, Reward
from rewards.rules.money import format_money

HEADER = ("uid", "nickname", "kind", "period", "asset", "amount", "status")
# A cell that starts with one of these is run as a formula by spreadsheet programs.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class PayoutRow:
    uid: int
    nickname: str
    kind: str
    period: str
    asset: str
    amount: Decimal
    status: str


def payout_rows(*, campaign: Campaign) -> list[PayoutRow]:
    """One row per reward that is not a preview, sorted by uid as a number, then kind and period
    as strings. Void rewards are listed with their status, so finance sees what was cancelled."""
    rows = [
        PayoutRow(uid, nickname, kind, period, asset, amount, state)
        for uid, nickname, kind, period, asset, amount, state in Reward.objects.filter(campaign=campaign, preview=False).values_list(
            "trader__uid", "trader__nickname", "kind", "period", "asset", "amount", "state"
        )
    ]
    return sorted(rows, key=lambda r: (r.uid, r.kind, r.period))


def safe_cell(value: str) -> str:
    """Defuse spreadsheet formula injection: a text starting with a trigger gets a leading `'`."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def render_csv(rows: list[PayoutRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for r in rows:
        writer.writerow([r.uid, safe_cell(r.nickname), r.kind, r.period, r.asset, format_money(r.amount), r.status])
    return out.getvalue()


def render_xlsx(rows: list[PayoutRow], *, title: str = "Payout") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook(write_only=False)
    ws = wb.active
    ws.title = title[:31]
    ws.append(list(HEADER))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row, r in enumerate(rows, start=2):
        ws.append([r.uid, safe_cell(r.nickname), r.kind, r.period, r.asset, r.amount, r.status])
        # Text cells stay text whatever they start with (openpyxl would read "=..." as a formula).
        # (A counter, not ws.max_row: max_row rescans the sheet, which made the export quadratic.)
        for col in (2, 3, 4, 5, 7):
            ws.cell(row=row, column=col).data_type = "s"
        ws.cell(row=row, column=6).number_format = "0.00"
    ws.freeze_panes = "A2"
    for letter, width in zip("ABCDEFG", (12, 24, 14, 8, 12, 12, 12)):
        ws.column_dimensions[letter].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def payout_report_store(*, campaign: Campaign, created_by: str, email: bool = False) -> PayoutReport:
    """Generate both files, keep them as a PayoutReport, and email them to the recipients of
    PAYOUT_REPORT_RECIPIENTS when `email` is set. The report reflects the ledger as committed."""
    rows = payout_rows(campaign=campaign)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    name = f"{campaign.slug}-payout-{stamp}"
    report = PayoutReport(campaign=campaign, created_by=created_by, rows=len(rows))
    csv_text = render_csv(rows)
    xlsx = render_xlsx(rows)
    report.csv_file.save(f"{name}.csv", ContentFile(csv_text.encode("utf-8")), save=False)
    report.xlsx_file.save(f"{name}.xlsx", ContentFile(xlsx), save=False)
    recipients = list(settings.PAYOUT_REPORT_RECIPIENTS) if email else []
    if recipients:
        message = EmailMessage(
            subject=f"[{campaign.slug}] payout report {stamp} ({len(rows)} rows)",
            body=f"The payout report of {campaign.name} as of {timezone.now():%Y-%m-%d %H:%M %Z}: {len(rows)} rewards.\n",
            to=recipients,
        )
        message.attach(f"{name}.csv", csv_text, "text/csv")
        message.attach(f"{name}.xlsx", xlsx, XLSX_TYPE)
        message.send()
        report.emailed_to = ", ".join(recipients)
    report.save()
    return report
