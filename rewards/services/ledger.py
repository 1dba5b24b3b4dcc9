"""Ledger state changes: approve, mark paid, void, and close review items. Each is audited.

Every change locks the campaign rows first and then the rewards in primary-key order, the order
settlement takes them, so a change and a settlement run one after the other and two changes over
overlapping rows cannot deadlock. Under that lock an approval sees every approval committed
before it, which is what keeps a pool's approved plus paid rewards within the pool (RULES.md
section 8) when two people approve at once.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from campaign.page_cache import campaign_pages_changed
from campaign.services import campaigns_lock
from rewards.budgets import pool_budgets_get
from rewards.exceptions import RewardError
from rewards.models import Adjustment, PayoutBatch, ReviewItem, Reward, RewardEvent
from rewards.rules.budget import Pool, approval_excess

ZERO = Decimal("0.00")

# Why approve, mark paid or void leaves a reward as it was: codes, not sentences, so each door
# words them for its reader (the admin in the reader's language, the API as it always has).
REFUSED_STATE = "wrong_state"  # not in the state the action starts from (calculated, approved)
REFUSED_PREVIEW = "preview"  # its period is not yet due
REFUSED_BUDGET = "over_budget"  # approving it would take its pool over


@dataclass(frozen=True)
class Refusal:
    """A refused reward's code and the facts a door needs to say it: the state it was in (read
    under the lock) and, for `REFUSED_BUDGET`, the pool, what approving it would make approved
    plus paid in that pool, and by how much that is over."""

    code: str
    state: str
    pool: Pool | None = None
    committed: Decimal | None = None
    over: Decimal | None = None


# Why mark paid refuses the whole operation. The English message stays the exception's text (the
# API answers it as its 409 detail); the admin words the code.
BATCH_OF_ANOTHER_CAMPAIGN = "batch_of_another_campaign"
BATCH_OF_SEVERAL_CAMPAIGNS = "batch_of_several_campaigns"


class PayoutRefused(RewardError):
    """`rewards_mark_paid` refused the whole operation: `code`, and the batch's `reference`."""

    def __init__(self, message: str, *, code: str, reference: str):
        super().__init__(message)
        self.code, self.reference = code, reference


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
def rewards_approve(*, reward_ids, user) -> tuple[list[Reward], list[tuple[Reward, Refusal]]]:
    """Approve calculated, due rewards. Needs `rewards.approve_reward`.

    A reward in any other state (`REFUSED_STATE`), a preview (`REFUSED_PREVIEW`: period not yet
    due), and a reward that would take its pool's approved plus paid rewards over the pool (or the
    first-post bonuses over `first_post_limit`: `REFUSED_BUDGET`, with the amount it would be over)
    are refused with a `Refusal`;
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
            refused.append((reward, Refusal(REFUSED_STATE, reward.state)))
            continue
        if reward.preview:
            refused.append((reward, Refusal(REFUSED_PREVIEW, reward.state)))
            continue
        key = (reward.campaign_id, reward.kind, reward.period)
        if key in budgets:  # a pool the configuration no longer has (a period dropped) has no budget
            pool, total = budgets[key].pool, committed[key]
            over = approval_excess(pool=pool, committed=total[0], committed_rewards=total[1], amount=reward.amount)
            if over > 0:
                refused.append((reward, Refusal(REFUSED_BUDGET, reward.state, pool=pool, committed=total[0] + reward.amount, over=over)))
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


@transaction.atomic
def rewards_mark_paid(*, reward_ids, reference: str, user, note: str = "") -> tuple[PayoutBatch | None, list[Reward], list[tuple[Reward, Refusal]]]:
    """Mark approved rewards paid in the payout batch with this external reference. Needs
    `rewards.pay_reward`. Only approved rewards become paid; the others are refused
    (`REFUSED_STATE`).

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
        raise PayoutRefused("a payout batch belongs to one campaign; select rewards of one campaign", code=BATCH_OF_SEVERAL_CAMPAIGNS, reference=reference)
    if not rewards:
        raise RewardError("no rewards selected")
    campaign_id = rewards[0].campaign_id
    batch = PayoutBatch.objects.filter(reference=reference).first()
    if batch is not None and batch.campaign_id != campaign_id:
        raise PayoutRefused(f"payout batch {reference} belongs to another campaign", code=BATCH_OF_ANOTHER_CAMPAIGN, reference=reference)
    payable = [reward for reward in rewards if reward.state == Reward.State.APPROVED]
    refused = [(reward, Refusal(REFUSED_STATE, reward.state)) for reward in rewards if reward.state != Reward.State.APPROVED]
    if not payable:
        return batch, [], refused
    by, now = user.get_username(), timezone.now()
    if batch is None:
        batch, _ = PayoutBatch.objects.get_or_create(reference=reference, defaults={"campaign_id": campaign_id, "created_by": by, "note": note})
        if batch.campaign_id != campaign_id:  # another campaign's call created it meanwhile
            raise PayoutRefused(f"payout batch {reference} belongs to another campaign", code=BATCH_OF_ANOTHER_CAMPAIGN, reference=reference)
    events = []
    for reward in payable:
        reward.state, reward.payout_batch, reward.paid_at, reward.updated_at = Reward.State.PAID, batch, now, now
        events.append(_event(reward, "pay", Reward.State.APPROVED, by, f"batch {reference}"))
    Reward.objects.bulk_update(payable, ["state", "payout_batch", "paid_at", "updated_at"])
    RewardEvent.objects.bulk_create(events)
    _pages_changed(payable)
    return batch, payable, refused


@transaction.atomic
def rewards_void(*, reward_ids, user, note: str) -> tuple[list[Reward], list[tuple[Reward, Refusal]]]:
    """Void calculated or approved rewards (never paid ones) with a note. Needs approve permission.
    A preview is refused (`REFUSED_PREVIEW`), as is a reward in another state (`REFUSED_STATE`)."""
    _require(user, "rewards.approve_reward")
    note = _note(note, "voiding a reward")
    by, now = user.get_username(), timezone.now()
    done, refused, events = [], [], []
    for reward in _locked(reward_ids):
        if reward.state not in (Reward.State.CALCULATED, Reward.State.APPROVED) or reward.preview:
            refused.append((reward, Refusal(REFUSED_PREVIEW if reward.preview else REFUSED_STATE, reward.state)))
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
# Why `review_items_close` refuses an item: codes, not sentences, so each door words them for its reader.
REFUSED_CLOSED = "already_closed"
REFUSED_PAID = "paid_keep_only"


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

    Items already closed (`REFUSED_CLOSED`), and accepts of paid rewards (`REFUSED_PAID`), are
    refused with that code beside the item as it was read under the lock; the rest are closed. Safe to repeat: a closed item is refused, never closed twice, so no adjustment is
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
            refused.append((item, REFUSED_CLOSED))
            continue
        before = reward.state
        if action == ACCEPT:
            if reward.state not in (Reward.State.APPROVED, Reward.State.VOID):
                refused.append((item, REFUSED_PAID))
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
