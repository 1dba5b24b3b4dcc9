"""The payout report of RULES.md section 9 (CSV exactly, and XLSX), stored and emailed daily; and the
adjustments report finance settles apart from it (RULES.md section 8)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.utils import timezone

from campaign.models import Campaign
from core.screen_time import screen_time
from core.spreadsheets import XLSX_TYPE, safe_cell, table_csv, table_xlsx
from rewards.models import Adjustment, PayoutReport, Reward
from rewards.rules.money import format_money

HEADER = ("uid", "nickname", "kind", "period", "asset", "amount", "status")


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


def render_csv(rows: list[PayoutRow]) -> str:
    return table_csv(HEADER, ([r.uid, safe_cell(r.nickname), r.kind, r.period, r.asset, format_money(r.amount), r.status] for r in rows))


def render_xlsx(rows: list[PayoutRow], *, title: str = "Payout") -> bytes:
    lines = ([r.uid, r.nickname, r.kind, r.period, r.asset, r.amount, r.status] for r in rows)
    return table_xlsx(HEADER, lines, title=title, text_columns={2, 3, 4, 5, 7}, money_columns={6}, widths=(12, 24, 14, 8, 12, 12, 12))


# --- Adjustments (RULES.md section 8): for finance, never in the payout report ------------------

ADJUSTMENT_HEADER = ("uid", "nickname", "kind", "period", "asset", "adjustment", "paid", "computed", "review_item", "recorded_at", "recorded_by", "note")


@dataclass(frozen=True)
class AdjustmentRow:
    uid: int
    nickname: str
    kind: str
    period: str
    asset: str
    amount: Decimal  # + underpaid (top up), - overpaid (claw back)
    paid: Decimal
    computed: Decimal
    review_item: int
    recorded_at: datetime
    recorded_by: str
    note: str


def adjustment_rows(*, campaign: Campaign) -> list[AdjustmentRow]:
    """Every adjustment of the campaign, by uid as a number, then kind, period and when recorded."""
    rows = [
        AdjustmentRow(*values)
        for values in Adjustment.objects.filter(campaign=campaign).values_list(
            "trader__uid", "trader__nickname", "reward__kind", "reward__period", "asset", "amount", "reward__amount",
            "review_item__computed_amount", "review_item_id", "created_at", "created_by", "note",
        )
    ]  # fmt: skip
    return sorted(rows, key=lambda r: (r.uid, r.kind, r.period, r.recorded_at, r.review_item))


def _adjustment_line(r: AdjustmentRow, *, money, text) -> list:
    recorded = timezone.localtime(r.recorded_at).isoformat(timespec="seconds")
    return [r.uid, text(r.nickname), r.kind, r.period, r.asset, money(r.amount), money(r.paid), money(r.computed), r.review_item, recorded,
            text(r.recorded_by), text(r.note)]  # fmt: skip


def render_adjustments_csv(rows: list[AdjustmentRow]) -> str:
    return table_csv(ADJUSTMENT_HEADER, (_adjustment_line(r, money=format_money, text=safe_cell) for r in rows))


def render_adjustments_xlsx(rows: list[AdjustmentRow], *, title: str = "Adjustments") -> bytes:
    lines = (_adjustment_line(r, money=lambda amount: amount, text=str) for r in rows)
    return table_xlsx(
        ADJUSTMENT_HEADER, lines, title=title, text_columns={2, 3, 4, 5, 10, 11, 12}, money_columns={6, 7, 8}, widths=(12, 24, 14, 8, 12, 12, 12, 12, 12, 26, 16, 40)
    )


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
            body=f"The payout report of {campaign.name} as of {screen_time(timezone.now())}: {len(rows)} rewards.\n",
            to=recipients,
        )
        message.attach(f"{name}.csv", csv_text, "text/csv")
        message.attach(f"{name}.xlsx", xlsx, XLSX_TYPE)
        message.send()
        report.emailed_to = ", ".join(recipients)
    report.save()
    return report
