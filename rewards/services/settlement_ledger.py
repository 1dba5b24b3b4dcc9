"""How a settlement changes the ledger (RULES.md section 8), key by key: `ledger_plan` reads what
writing the computed rewards would do, `ledger_write` does it inside `settle_campaign`.

`calculated` rows are created, changed or removed (a due row never goes back to a preview);
approved, paid and void rows never change, and a difference on one of them opens, updates or
withdraws its one review item (`rewards.rules.review`).
"""

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from django.utils import timezone

from campaign.models import Campaign
from rewards.models import Adjustment, ReviewComputation, ReviewItem, Reward, SettlementRun
from rewards.review_reasons import BY_SETTLEMENT, NOTE_WITHDRAWN, REASON_COMPUTES, REASON_GONE, review_reason_write
from rewards.rules.review import ReviewAction, review_action
from rewards.services.computation import Computed
from traders.models import Trader

ZERO = Decimal("0.00")


class Change(StrEnum):
    """What a settlement does to one ledger key (campaign, kind, period, trader)."""

    NONE = "none"
    CREATE = "create"  # a new calculated reward
    CHANGE = "change"  # a calculated reward takes another amount (or asset)
    DUE = "due"  # a calculated preview becomes payable, its amount unchanged
    REFRESH = "refresh"  # only the explanation moves (a calculated reward's, or an approved one's)
    REMOVE = "remove"  # a calculated reward the rules no longer give is deleted
    REVIEW_OPEN = "review_open"  # an approved, paid or void reward gets a review item
    REVIEW_UPDATE = "review_update"  # its open item gets another computed amount
    REVIEW_WITHDRAW = "review_withdraw"  # its open item is withdrawn: the difference is gone


REVIEW_CHANGES = {ReviewAction.OPEN: Change.REVIEW_OPEN, ReviewAction.UPDATE: Change.REVIEW_UPDATE, ReviewAction.WITHDRAW: Change.REVIEW_WITHDRAW}


@dataclass
class Planned:
    """One ledger key as a settlement would leave it. `reward` is the stored row (None for a new
    one); `computed` what the rules give now (None: nothing); `amount` the computed amount in the
    reward's asset (0.00 when nothing is computed in it); `held` what the trader holds (a paid
    reward's amount plus its adjustments); `item` the reward's open review item."""

    change: Change
    kind: str
    period: str
    uid: int
    computed: Computed | None
    reward: Reward | None = None
    item: ReviewItem | None = None
    held: Decimal | None = None
    amount: Decimal = ZERO
    preview: bool = False
    item_explained: bool = False  # the (still) open item takes the new computation's explanation
    reward_explained: bool = False  # the approved reward takes it (same amount, no item left open)


def ledger_plan(*, campaign: Campaign, computed: list[Computed], lock: bool = False) -> list[Planned]:
    """What writing `computed` does to the campaign's ledger, key by key: the one reading of
    RULES.md section 8 that `settle_campaign` applies and the dashboard's preview shows.

    `calculated` rows are created, changed or removed (a due row never goes back to a preview);
    approved, paid and void rows never change, and `rewards.rules.review` says what happens to
    their one review item. Reads only; with `lock` the rewards and open items are locked in
    primary-key order (the caller holds the campaign lock and writes the plan).
    """
    existing, open_by_reward, adjusted, last_kept = _ledger_read(campaign, lock=lock)
    given = {(c.kind, c.period, c.uid): c for c in computed}
    plan = []
    for key in [*given, *(key for key in existing if key not in given)]:
        c, reward = given.get(key), existing.get(key)
        if reward is None:
            plan.append(Planned(Change.CREATE, *key, c, amount=c.amount, preview=c.preview))
        elif reward.state == Reward.State.CALCULATED:
            plan.append(_calculated_planned(key, c, reward))
        else:
            held = reward.amount + adjusted.get(reward.pk, ZERO)
            plan.append(_frozen_planned(key, c, reward, item=open_by_reward.get(reward.pk), held=held, last_kept=last_kept.get(reward.pk)))
    return plan


def _ledger_read(campaign: Campaign, *, lock: bool) -> tuple[dict, dict, dict, dict]:
    """(rewards by ledger key, open review items by reward id, the sum of each reward's
    adjustments, the computed amount each reward's last kept review item had)."""
    rewards = Reward.objects.filter(campaign=campaign).select_related("trader").order_by("pk")
    # By campaign rather than by the rewards' ids: a campaign has few items and adjustments, and
    # thousands of approved rewards would make thousands of query parameters.
    items = ReviewItem.objects.filter(reward__campaign_id=campaign.pk)
    open_items = items.filter(status=ReviewItem.Status.OPEN).order_by("pk")
    if lock:
        rewards, open_items = rewards.select_for_update(), open_items.select_for_update(of=("self",))
    existing = {(r.kind, r.period, r.trader.uid): r for r in rewards}
    open_by_reward = {item.reward_id: item for item in open_items}
    adjusted: dict[int, Decimal] = {}
    for reward_id, amount in Adjustment.objects.filter(campaign_id=campaign.pk).values_list("reward_id", "amount"):
        adjusted[reward_id] = adjusted.get(reward_id, ZERO) + amount
    last_kept: dict[int, Decimal] = {}
    for reward_id, amount in items.filter(resolution=ReviewItem.Resolution.KEEP).order_by("reward_id", "-resolved_at", "-id").values_list("reward_id", "computed_amount"):
        last_kept.setdefault(reward_id, amount)
    return existing, open_by_reward, adjusted, last_kept


def _calculated_planned(key: tuple[str, str, int], c: Computed | None, reward: Reward) -> Planned:
    """A `calculated` reward: removed, changed, made due, given the new explanation, or left."""
    if c is None:
        return Planned(Change.REMOVE, *key, None, reward)
    preview = c.preview and reward.preview  # due is final, row by row too
    change = (
        Change.CHANGE if (c.asset, c.amount) != (reward.asset, reward.amount)
        else Change.DUE if preview != reward.preview
        else Change.REFRESH if c.detail != reward.detail
        else Change.NONE
    )  # fmt: skip
    return Planned(change, *key, c, reward, amount=c.amount, preview=preview)


def _frozen_planned(
    key: tuple[str, str, int], c: Computed | None, reward: Reward, *, item: ReviewItem | None, held: Decimal, last_kept: Decimal | None
) -> Planned:
    """An approved, paid or void reward, which never changes: what happens to its review item."""
    amount, detail = (c.amount, c.detail) if c is not None and c.asset == reward.asset else (ZERO, {})
    action = review_action(held=held, computed=amount, open_computed=item and item.computed_amount, last_kept=last_kept,
                           void=reward.state == Reward.State.VOID)  # fmt: skip
    still_open = action in (ReviewAction.OPEN, ReviewAction.UPDATE) or (action == ReviewAction.NONE and item is not None)
    # The open item carries the new computation's explanation, whatever its amount does.
    item_explained = still_open and action != ReviewAction.OPEN and item.computed_detail != detail
    # An approved reward the settlement gives the same amount again takes that
    # computation's explanation, so what a trader reads never contradicts the verdicts
    # behind the money; a paid reward's stays as it was paid.
    reward_explained = (
        not still_open and reward.state == Reward.State.APPROVED and c is not None and c.amount == reward.amount and reward.detail != c.detail
    )
    return Planned(REVIEW_CHANGES.get(action, Change.NONE), *key, c, reward, item, held, amount, reward.preview, item_explained, reward_explained)


@dataclass
class _Writes:
    """The rows one settlement's plan writes, gathered before any is written."""

    created: list[Reward] = field(default_factory=list)
    updated: list[Reward] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    opened: list[ReviewItem] = field(default_factory=list)
    changed: list[ReviewItem] = field(default_factory=list)
    withdrawn: list[ReviewItem] = field(default_factory=list)
    history: list[ReviewComputation] = field(default_factory=list)


def ledger_write(*, campaign: Campaign, run: SettlementRun, computed: list[Computed]) -> dict:
    """Write one settlement's `ledger_plan`: calculated rows created, replaced or deleted; review
    items opened, given the new amount (every amount stays in its computations) or withdrawn."""
    plan = ledger_plan(campaign=campaign, computed=computed, lock=True)
    w = _writes_gather(campaign, run, plan)
    Reward.objects.filter(pk__in=w.deleted).delete()
    Reward.objects.bulk_create(w.created, batch_size=1000)
    Reward.objects.bulk_update(w.updated, ["asset", "amount", "preview", "detail", "settlement_run", "updated_at"], batch_size=1000)
    ReviewItem.objects.bulk_update(w.withdrawn, ["status", "resolution", "resolved_at", "resolved_by", "resolution_note", "updated_at"])
    ReviewItem.objects.bulk_update(w.changed, ["computed_amount", "computed_detail", "stored_amount", "settlement_run", "updated_at"])
    ReviewItem.objects.bulk_create(w.opened)
    w.history += [ReviewComputation(item=item, settlement_run=run, computed_amount=item.computed_amount) for item in w.opened]
    ReviewComputation.objects.bulk_create(w.history)
    return {
        "created": len(w.created),
        "updated": len(w.updated),
        "deleted": len(w.deleted),
        "review_items": len(w.opened),
        "review_items_updated": len(w.changed),
        "review_items_withdrawn": len(w.withdrawn),
    }


def _writes_gather(campaign: Campaign, run: SettlementRun, plan: list[Planned]) -> _Writes:
    """The rows each planned change writes, in the plan's order."""
    trader_ids = dict(Trader.objects.filter(uid__in={p.uid for p in plan if p.reward is None}).values_list("uid", "id"))
    now = timezone.now()
    w = _Writes()
    for p in plan:
        reward, c, item = p.reward, p.computed, p.item
        if p.change == Change.CREATE:
            w.created.append(Reward(campaign=campaign, kind=c.kind, period=c.period, trader_id=trader_ids[c.uid], asset=c.asset, amount=c.amount,
                                    preview=c.preview, settlement_run=run, detail=c.detail))  # fmt: skip
        elif p.change in (Change.CHANGE, Change.DUE, Change.REFRESH) and reward.state == Reward.State.CALCULATED:
            reward.asset, reward.amount, reward.preview, reward.detail, reward.settlement_run, reward.updated_at = c.asset, c.amount, p.preview, c.detail, run, now
            w.updated.append(reward)
        elif p.change == Change.REMOVE:
            w.deleted.append(reward.pk)
        elif p.change == Change.REVIEW_OPEN:
            held = {"run": run.pk, "state": reward.state, "held": p.held}
            reason = review_reason_write(REASON_COMPUTES, amount=p.amount, asset=reward.asset, **held) if c is not None else review_reason_write(REASON_GONE, **held)
            w.opened.append(ReviewItem(reward=reward, settlement_run=run, stored_amount=p.held, computed_amount=p.amount, computed_detail=c.detail if c and c.asset == reward.asset else {},
                                       reason=reason))  # fmt: skip
        elif p.change == Change.REVIEW_WITHDRAW:
            item.status, item.resolution, item.resolved_at, item.resolved_by = ReviewItem.Status.RESOLVED, ReviewItem.Resolution.WITHDRAWN, now, review_reason_write(BY_SETTLEMENT, run=run.pk)
            item.resolution_note, item.updated_at = review_reason_write(NOTE_WITHDRAWN, run=run.pk, amount=p.amount, asset=reward.asset), now
            w.withdrawn.append(item)
        if p.change == Change.REVIEW_UPDATE or p.item_explained:
            if item.computed_amount != p.amount:
                w.history.append(ReviewComputation(item=item, settlement_run=run, computed_amount=p.amount))
            detail = c.detail if c is not None and c.asset == reward.asset else {}
            item.computed_amount, item.computed_detail, item.stored_amount, item.settlement_run, item.updated_at = p.amount, detail, p.held, run, now
            w.changed.append(item)
        if p.reward_explained:
            reward.detail, reward.settlement_run, reward.updated_at = c.detail, run, now
            w.updated.append(reward)
    return w
