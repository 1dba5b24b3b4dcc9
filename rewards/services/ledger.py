"""Ledger state changes: approve, mark paid, void, and close review items. Each is audited.

Every change locks the campaign rows first and then the rewards in primary-key order, the order
settlement takes them, so a change and a settlement run one after the other and two changes over
overlapping rows cannot deadlock. Under that lock an approval sees every approval committed
before it, which is what keeps a pool's approved plus paid rewards within the pool (RULES.md
section 8) when two people approve at once.
"""

from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from campaign.page_cache import campaign_pages_changed
from campaign.services import campaigns_lock
from rewards.budgets import pool_budgets_get, pool_name
from rewards.exceptions import RewardError
from rewards.models import Adjustment, PayoutBatch, ReviewItem, Reward, RewardEvent
from rewards.rules.budget import approval_excess
from rewards.rules.money import format_money

ZERO = Decimal("0.00")


def _require(user, perm):
    if not user.has_perm(perm):
        raise PermissionDenied(f"{user.get_username() or 'anonymous'} lacks the permission {perm}")


def _note(note: str, what: str) -> str:
    note = (note or "").strip()
    if not note:
        raise RewardError(f"{what} needs a note")
    return note


def _locked(reward_ids) -> list[Reward]:
    reward_ids = list(reward_ids)
    campaigns = campaigns_lock(Reward.objects.filter(pk__in=reward_ids).values_list("campaign_id", flat=True))
    rewards = list(Reward.objects.select_for_update().filter(pk__in=reward_ids).select_related("trader").order_by("pk"))
    for reward in rewards:
        reward.campaign = campaigns[reward.campaign_id]  # the row just locked, not a query per reward
    return rewards


def _pages_changed(rewards) -> None:
    """A reward's state shows on its trader's status page."""
    for campaign_id in {reward.campaign_id for reward in rewards}:
        campaign_pages_changed(campaign_id=campaign_id)


def _event(reward, action, from_state, by, note=""):
    return RewardEvent(reward=reward, action=action, from_state=from_state, to_state=reward.state, by=by, note=note)


@transaction.atomic
def rewards_approve(*, reward_ids, user) -> tuple[list[Reward], list[tuple[Reward, str]]]:
    """Approve calculated, due rewards. Needs `rewards.approve_reward`.

    A preview (period not yet due), a reward in any other state, and a reward that would take its
    pool's approved plus paid rewards over the pool (or the first-post bonuses over
    `first_post_limit`) are refused with the reason, the last with the amount it would be over;
    the rest are approved, in primary-key order, each counted against its pool before the next.
    Idempotent in effect: an approved reward is refused, not re-approved.
    """
    _require(user, "rewards.approve_reward")
    now, by = timezone.now(), user.get_username()
    rewards = _locked(reward_ids)
    # What each pool holds approved or paid, read under the lock: every approval committed before
    # this one is in it. Counted up below as this action approves.
    budgets = {(r.campaign_id, *b.pool.key): b for r in {r.campaign_id: r for r in rewards}.values() for b in pool_budgets_get(campaign=r.campaign)}
    committed = {key: [b.committed, b.committed_rewards] for key, b in budgets.items()}
    done, refused, events = [], [], []
    for reward in rewards:
        if reward.state != Reward.State.CALCULATED:
            refused.append((reward, f"reward {reward.pk} is {reward.state}, not calculated"))
            continue
        if reward.preview:
            refused.append((reward, f"reward {reward.pk} is a preview: its period is not yet due"))
            continue
        key = (reward.campaign_id, reward.kind, reward.period)
        if key in budgets:  # a pool the configuration no longer has (a period dropped) has no budget
            pool, total = budgets[key].pool, committed[key]
            over = approval_excess(pool=pool, committed=total[0], committed_rewards=total[1], amount=reward.amount)
            if over > 0:
                refused.append((reward, _over_budget(reward, pool, total, over)))
                continue
            total[0] += reward.amount
            total[1] += 1
        reward.state, reward.approved_by, reward.approved_at, reward.updated_at = Reward.State.APPROVED, by, now, now
        done.append(reward)
        events.append(_event(reward, "approve", Reward.State.CALCULATED, by))
    Reward.objects.bulk_update(done, ["state", "approved_by", "approved_at", "updated_at"])
    RewardEvent.objects.bulk_create(events)
    _pages_changed(done)
    return done, refused


def _over_budget(reward, pool, total, over) -> str:
    name = pool_name(pool)
    limit = f"{format_money(pool.budget)} {pool.asset}" if pool.budget is not None else ""
    if pool.max_rewards is not None:
        limit += f" ({pool.max_rewards} bonuses)"
    return (
        f"reward {reward.pk} ({reward.trader.uid} {reward.kind} {reward.period} {format_money(reward.amount)} {reward.asset}) is refused: "
        f"approving it would take the {name} to {format_money(total[0] + reward.amount)} approved and paid "
        f"of {limit.strip()}, {format_money(over)} {pool.asset} over"
    )


@transaction.atomic
def rewards_mark_paid(*, reward_ids, reference: str, user, note: str = "") -> tuple[PayoutBatch | None, list[Reward], list[tuple[Reward, str]]]:
    """Mark approved rewards paid in the payout batch with this external reference. Needs
    `rewards.pay_reward`. Only approved rewards become paid; the others are refused with the reason.

    The batch is created when the first reward is paid into it, never empty: when every reward is
    refused, no batch is created and the batch returned is the one already under the reference,
    or None. A reference another campaign uses is refused whole. Idempotent in effect: a paid
    reward is refused, not paid twice. The campaigns and rewards are locked (in that order) before
    the batch is looked up, so two calls for one campaign take turns; across campaigns the
    reference's unique key decides, and the loser is refused.
    """
    _require(user, "rewards.pay_reward")
    reference = (reference or "").strip()
    if not reference:
        raise RewardError("marking rewards paid needs the payout batch's external reference")
    rewards = _locked(reward_ids)
    campaigns = {r.campaign_id for r in rewards}
    if len(campaigns) > 1:
        raise RewardError("a payout batch belongs to one campaign; select rewards of one campaign")
    if not rewards:
        raise RewardError("no rewards selected")
    campaign_id = rewards[0].campaign_id
    batch = PayoutBatch.objects.filter(reference=reference).first()
    if batch is not None and batch.campaign_id != campaign_id:
        raise RewardError(f"payout batch {reference} belongs to another campaign")
    payable = [reward for reward in rewards if reward.state == Reward.State.APPROVED]
    refused = [(reward, f"reward {reward.pk} is {reward.state}, not approved") for reward in rewards if reward.state != Reward.State.APPROVED]
    if not payable:
        return batch, [], refused
    by, now = user.get_username(), timezone.now()
    if batch is None:
        batch, _ = PayoutBatch.objects.get_or_create(reference=reference, defaults={"campaign_id": campaign_id, "created_by": by, "note": note})
        if batch.campaign_id != campaign_id:  # another campaign's call created it meanwhile
            raise RewardError(f"payout batch {reference} belongs to another campaign")
    events = []
    for reward in payable:
        reward.state, reward.payout_batch, reward.paid_at, reward.updated_at = Reward.State.PAID, batch, now, now
        events.append(_event(reward, "pay", Reward.State.APPROVED, by, f"batch {reference}"))
    Reward.objects.bulk_update(payable, ["state", "payout_batch", "paid_at", "updated_at"])
    RewardEvent.objects.bulk_create(events)
    _pages_changed(payable)
    return batch, payable, refused


@transaction.atomic
def rewards_void(*, reward_ids, user, note: str) -> tuple[list[Reward], list[tuple[Reward, str]]]:
    """Void calculated or approved rewards (never paid ones) with a note. Needs approve permission."""
    _require(user, "rewards.approve_reward")
    note = _note(note, "voiding a reward")
    by, now = user.get_username(), timezone.now()
    done, refused, events = [], [], []
    for reward in _locked(reward_ids):
        if reward.state not in (Reward.State.CALCULATED, Reward.State.APPROVED) or reward.preview:
            refused.append((reward, f"reward {reward.pk} is {'a preview' if reward.preview else reward.state}; it cannot be voided"))
            continue
        before = reward.state
        reward.state, reward.updated_at = Reward.State.VOID, now
        done.append(reward)
        events.append(_event(reward, "void", before, by, note))
    Reward.objects.bulk_update(done, ["state", "updated_at"])
    RewardEvent.objects.bulk_create(events)
    _pages_changed(done)
    return done, refused


# --- Review items ---------------------------------------------------------------------------------

ACCEPT = "accept"
KEEP = "keep"


def _locked_items(item_ids) -> list[ReviewItem]:
    """Open review items with their rewards locked (campaigns, then rewards, then the items)."""
    item_ids = list(item_ids)
    reward_ids = ReviewItem.objects.filter(pk__in=item_ids).values_list("reward_id", flat=True)
    rewards = {r.pk: r for r in _locked(reward_ids)}
    items = list(ReviewItem.objects.select_for_update().filter(pk__in=item_ids).order_by("pk"))
    for item in items:
        item.reward = rewards[item.reward_id]
    return items


@transaction.atomic
def review_items_close(*, item_ids, action: str, user, note: str) -> tuple[list[ReviewItem], list[tuple[ReviewItem, str]]]:
    """Close open review items with a note, by `accept` or `keep` (RULES.md section 8). Needs
    `rewards.approve_reward`.

    - `accept` (approved or void rewards): the reward takes the computed amount and its
      explanation and goes back to `calculated`, to be approved again (within its pool); a
      computed 0.00 makes it `void`. A paid reward cannot be accepted: it can only be kept.
    - `keep`: the reward keeps its amount. On a paid reward the difference (computed minus what
      the trader holds) becomes an Adjustment for finance: positive underpaid, negative overpaid.

    Items already closed, and accepts of paid rewards, are refused with the reason; the rest are
    closed. Safe to repeat: a closed item is refused, never closed twice, so no adjustment is
    recorded twice (its one-to-one key on the item is the final guard).
    """
    _require(user, "rewards.approve_reward")
    if action not in (ACCEPT, KEEP):
        raise RewardError(f"a review item is closed by accept or keep, not {action!r}")
    note = _note(note, f"closing a review item ({action})")
    by, now = user.get_username(), timezone.now()
    done, refused, events, adjustments, changed = [], [], [], [], []
    for item in _locked_items(item_ids):
        reward = item.reward
        if item.status != ReviewItem.Status.OPEN:
            refused.append((item, f"review item {item.pk} is already closed ({item.resolution})"))
            continue
        before = reward.state
        if action == ACCEPT:
            if reward.state not in (Reward.State.APPROVED, Reward.State.VOID):
                refused.append((item, f"review item {item.pk}: the reward is {reward.state}; a paid reward can only be kept"))
                continue
            reward.amount, reward.detail, reward.settlement_run_id = item.computed_amount, item.computed_detail, item.settlement_run_id
            reward.state = Reward.State.VOID if item.computed_amount == ZERO else Reward.State.CALCULATED
            reward.approved_by, reward.approved_at, reward.updated_at = "", None, now
            changed.append(reward)
            events.append(_event(reward, "accept_review", before, by, f"review item {item.pk}: {item.stored_amount} -> {item.computed_amount}; {note}"))
        else:
            held = reward.amount + sum(Adjustment.objects.filter(reward=reward).values_list("amount", flat=True), ZERO)
            difference = item.computed_amount - held
            text = f"review item {item.pk}: keeps {held}, computed {item.computed_amount}"
            if reward.state == Reward.State.PAID and difference != ZERO:
                adjustments.append(Adjustment(campaign_id=reward.campaign_id, trader_id=reward.trader_id, reward=reward, review_item=item,
                                              asset=reward.asset, amount=difference, note=note, created_by=by))  # fmt: skip
                text += f"; adjustment {'+' if difference > 0 else ''}{difference} {reward.asset}"
            events.append(_event(reward, "keep_review", before, by, f"{text}; {note}"))
        item.status, item.resolution, item.resolved_by, item.resolved_at, item.resolution_note = ReviewItem.Status.RESOLVED, action, by, now, note
        item.updated_at = now
        done.append(item)
    ReviewItem.objects.bulk_update(done, ["status", "resolution", "resolved_by", "resolved_at", "resolution_note", "updated_at"])
    Reward.objects.bulk_update(changed, ["amount", "detail", "settlement_run", "state", "approved_by", "approved_at", "updated_at"])
    Adjustment.objects.bulk_create(adjustments)
    RewardEvent.objects.bulk_create(events)
    _pages_changed([item.reward for item in done])
    return done, refused
