"""Writes for rewards: settlement, ledger state changes, reports."""

from rewards.services.computation import rewards_compute
from rewards.services.ledger import review_items_close, rewards_approve, rewards_mark_paid, rewards_void
from rewards.services.reports import payout_report_store, payout_rows, render_csv, render_xlsx
from rewards.services.settlement import settle_campaign

__all__ = [
    "payout_report_store",
    "payout_rows",
    "render_csv",
    "render_xlsx",
    "review_items_close",
    "rewards_approve",
    "rewards_compute",
    "rewards_mark_paid",
    "rewards_void",
    "settle_campaign",
]
