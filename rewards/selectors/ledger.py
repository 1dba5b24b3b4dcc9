"""Reads of the ledger pages: totals per asset, what closing review items would do, and the
adjustments report of a campaign. Amounts are summed in Python with exactly two decimals (SQLite
adds decimals as floats) and never across assets (RULES.md section 8).
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from campaign.models import Campaign
from rewards.models import Adjustment, ReviewItem, Reward
from rewards.services.ledger import ACCEPT, KEEP
from rewards.services.reports import XLSX_TYPE, adjustment_rows, render_adjustments_csv, render_adjustments_xlsx

ZERO = Decimal("0.00")
REPORT_FORMATS = ("csv", "xlsx")


def amounts_per_asset(pairs: Iterable[tuple[str, Decimal]]) -> list[tuple[str, Decimal]]:
    """Totals of (asset, amount) pairs per asset, by asset; never one total across assets."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for asset, amount in pairs:
        totals[asset] += amount
    return sorted(totals.items())


@dataclass(frozen=True)
class RewardTotal:
    asset: str
    state: str
    n: int
    total: Decimal


def reward_totals(*, rewards: QuerySet) -> list[RewardTotal]:
    """How many rewards and their total per asset and state, by asset then in the order of the
    states (calculated, approved, paid, void)."""
    totals: dict[tuple[str, str], list] = {}
    for asset, state, amount in rewards.values_list("asset", "state", "amount").order_by():
        entry = totals.setdefault((asset, state), [0, ZERO])
        entry[0] += 1
        entry[1] += amount
    order = {state: i for i, state in enumerate(Reward.State.values)}
    keys = sorted(totals, key=lambda key: (key[0], order.get(key[1], 99)))
    return [RewardTotal(asset=asset, state=state, n=totals[asset, state][0], total=totals[asset, state][1]) for asset, state in keys]


@dataclass(frozen=True)
class AdjustmentTotal:
    asset: str
    n: int
    top_up: Decimal  # the positive adjustments: traders underpaid
    claw_back: Decimal  # the negative ones: traders overpaid

    @property
    def net(self) -> Decimal:
        return self.top_up + self.claw_back


def adjustment_totals(*, adjustments: QuerySet) -> list[AdjustmentTotal]:
    """Per asset: how many adjustments, the top-ups and the claw-backs, by asset."""
    totals: dict[str, list] = {}
    for asset, amount in adjustments.values_list("asset", "amount").order_by():
        entry = totals.setdefault(asset, [0, ZERO, ZERO])
        entry[0] += 1
        entry[1 if amount > 0 else 2] += amount
    return [AdjustmentTotal(asset=asset, n=n, top_up=up, claw_back=back) for asset, (n, up, back) in sorted(totals.items())]


@dataclass(frozen=True)
class CloseOptions:
    """What closing one open review item would do, as `review_items_close` decides it."""

    can_accept: bool  # a paid reward can only be kept
    accept_voids: bool  # accepting a computed 0.00 voids the reward
    keep_adjustment: Decimal | None  # keeping a paid reward with a difference records it for finance


def review_item_close_options(*, item: ReviewItem) -> CloseOptions:
    paid = item.reward.state == Reward.State.PAID
    return CloseOptions(
        can_accept=not paid,
        accept_voids=item.computed_amount == 0,
        keep_adjustment=item.difference if paid and item.difference else None,
    )


@dataclass(frozen=True)
class ClosePreview:
    """The selected items and what closing them by `action` would do, before ops confirm."""

    items: list[ReviewItem]
    differences: list[tuple[str, Decimal]]  # per asset, of the open items (computed minus ledger)
    adjustments: list[tuple[str, Decimal]] = field(default_factory=list)  # keep: recorded per asset for finance
    paid_refused: list[ReviewItem] = field(default_factory=list)  # accept: refused, a paid reward can only be kept
    closed: list[ReviewItem] = field(default_factory=list)  # refused: already closed


def review_items_close_preview(*, items: QuerySet, action: str) -> ClosePreview:
    """What `review_items_close(action=...)` would do to these items; writes nothing."""
    rows = list(items.select_related("reward", "reward__trader").order_by("pk"))
    open_items = [item for item in rows if item.status == ReviewItem.Status.OPEN]
    paid = [item for item in open_items if item.reward.state == Reward.State.PAID]
    return ClosePreview(
        items=rows,
        differences=amounts_per_asset((item.reward.asset, item.difference) for item in open_items),
        adjustments=amounts_per_asset((item.reward.asset, item.difference) for item in paid if item.difference) if action == KEEP else [],
        paid_refused=paid if action == ACCEPT else [],
        closed=[item for item in rows if item.status != ReviewItem.Status.OPEN],
    )


def review_item_open_get(*, reward: Reward) -> ReviewItem | None:
    """The reward's open review item, if any (at most one: the database says so)."""
    return reward.review_items.filter(status=ReviewItem.Status.OPEN).select_related("settlement_run").first()


def review_item_adjustment_get(*, item: ReviewItem) -> Adjustment | None:
    """The adjustment recorded by keeping this item, if any (at most one: a one-to-one key)."""
    return Adjustment.objects.filter(review_item=item).first()


def adjustment_report_campaigns(*, campaign_id: str = "") -> QuerySet:
    """The campaign selected (by id, as a list filter gives it), or every campaign by slug: a
    report never mixes campaigns, whose rows it could not tell apart."""
    return Campaign.objects.filter(pk=campaign_id) if campaign_id.isdigit() else Campaign.objects.order_by("slug")


@dataclass(frozen=True)
class ReportFile:
    name: str
    content: bytes
    content_type: str


def adjustment_report_get(*, campaign: Campaign, fmt: str) -> ReportFile:
    """The adjustments report of one campaign as a CSV or XLSX file, named after the campaign and
    the local instant it was made."""
    if fmt not in REPORT_FORMATS:
        raise ValueError(f"a report is csv or xlsx, not {fmt!r}")
    rows = adjustment_rows(campaign=campaign)
    name = f"{campaign.slug}-adjustments-{timezone.localtime():%Y%m%d-%H%M%S}.{fmt}"
    if fmt == "csv":
        return ReportFile(name=name, content=render_adjustments_csv(rows).encode("utf-8"), content_type="text/csv; charset=utf-8")
    return ReportFile(name=name, content=render_adjustments_xlsx(rows), content_type=XLSX_TYPE)
