"""The rewards list as ops filter it in the admin, as a CSV or XLSX file (issue 18).

Amounts are exact: the CSV writes them with `format_money` (two decimals, never rounded), the
XLSX as numbers shown with two decimals. Kinds, periods and states are in words, instants in UTC+8
as `core.screen_time` writes them. Every text (a nickname, who approved, a batch reference) is
written by `core.spreadsheets`, so none runs as a formula.
"""

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.screen_time import screen_time
from core.spreadsheets import MONEY, NUMBER, TEXT, Column, SpreadsheetFile, table_export
from rewards.models import Reward
from rewards.rules.money import format_money
from rewards.rules.types import ALL
from traders.models import Trader

REWARD_FIELDS = ("campaign__slug", "trader__uid", "trader__nickname", "kind", "period", "asset", "amount", "state", "preview",
                 "approved_by", "payout_batch__reference", "created_at")  # fmt: skip


def _reward_columns() -> list[Column]:
    field = Reward._meta.get_field
    return [
        Column(_("campaign"), TEXT, 20),
        Column(_("trader UID"), NUMBER, 12),
        Column(Trader._meta.get_field("nickname").verbose_name, TEXT, 20),
        Column(field("kind").verbose_name, TEXT, 16),
        Column(field("period").verbose_name, TEXT, 14),
        Column(field("asset").verbose_name, TEXT, 12),
        Column(field("amount").verbose_name, MONEY, 14),
        Column(field("state").verbose_name, TEXT, 12),
        Column(field("preview").verbose_name, TEXT, 10),
        Column(field("approved_by").verbose_name, TEXT, 16),
        Column(_("payout batch"), TEXT, 24),
        Column(_("created"), TEXT, 24),
    ]


def rewards_export(*, rewards: QuerySet, fmt: str) -> SpreadsheetFile:
    """The rewards of `rewards` (the admin list's query, with its filters, search and order) as a
    CSV or XLSX file: campaign, trader UID and nickname, kind, period, asset, amount, state, whether
    it is a preview (not yet due), who approved it, its payout batch reference, and when it was
    created (UTC+8).

    Labels are taken in the language active now, before the rows are read, so a CSV streamed
    after the request still speaks the reader's language.
    """
    kinds = {code: str(label) for code, label in Reward.Kind.choices}
    states = {code: str(label) for code, label in Reward.State.choices}
    yes_no = {True: str(_("yes")), False: str(_("no"))}
    whole_campaign = str(_("whole campaign"))

    def line(values):
        slug, uid, nickname, kind, period, asset, amount, state, preview, approved_by, reference, created = values
        return [slug, uid, nickname, kinds.get(kind, kind), whole_campaign if period == ALL else period, asset, amount, states.get(state, state),
                yes_no[preview], approved_by, reference, screen_time(created, seconds=True)]  # fmt: skip

    rows = (line(values) for values in rewards.values_list(*REWARD_FIELDS).iterator(chunk_size=2000))
    name = f"rewards-{timezone.localtime():%Y%m%d-%H%M%S}"
    return table_export(fmt=fmt, name=name, title="Rewards", columns=_reward_columns(), rows=rows, money_text=format_money)
