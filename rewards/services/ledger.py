"""Ledger state changes: approve, mark paid, void, resolve review items. Each is audited."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from campaign.page_cache import campaign_pages_changed
from rewards.exceptions import RewardError
from rewards.models import PayoutBatch, Reward, RewardEvent, ReviewItem


def _require(user, perm):
    if not user.has_perm(perm):
        raise PermissionDenied(f"{user.get_username() or 'anonymous'} lacks the permission {perm}")


def _locked(reward_ids):
    # Locks in primary-key order, so two bulk actions over overlapping rows cannot deadlock.
    return list(Reward.objects.select_for_update().filter(pk__in=list(reward_ids)).select_related("trader").order_by("pk"))


def _pages_changed(rewards) -> None:
    """A reward's state shows on its trader's status page."""
    for campaign_id in {reward.campaign_id for reward in rewards}:
        campaign_pages_changed(campaign_id=campaign_id)


def _event(reward, action, from_state, by, note=""):
    return RewardEvent(reward=reward, action=action, from_state=from_state, to_state=reward.state, by=by, note=note)


@transaction.atomic
def rewards_approve(*, reward_ids, user) -> tuple[list[Reward], list[tuple[Reward, str]]]:
    """Approve calculated, due rewards. Needs `rewards.approve_reward`.

    A preview (period not yet due) and a reward in any other state are refused with the reason;
    the rest are approved. Idempotent in effect: an approved reward is refused, not re-approved.
    """
    _require(user, "rewards.approve_reward")
    now, by = timezone.now(), user.get_username()
    done, refused, events = [], [], []
    for reward in _locked(reward_ids):
        if reward.state != Reward.State.CALCULATED:
            refused.append((reward, f"reward {reward.pk} is {reward.state}, not calculated"))
        elif reward.preview:
            refused.append((reward, f"reward {reward.pk} is a preview: its period is not yet due"))
        else:
            reward.state, reward.approved_by, reward.approved_at, reward.updated_at = Reward.State.APPROVED, by, now, now
            done.append(reward)
            events.append(_event(reward, "approve", Reward.State.CALCULATED, by))
    Reward.objects.bulk_update(done, ["state", "approved_by", "approved_at", "updated_at"])
    RewardEvent.objects.bulk_create(events)
    _pages_changed(done)
    return done, refused


@transaction.atomic
def rewards_mark_paid(*, reward_ids, reference: str, user, note: str = "") -> tuple[PayoutBatch, list[Reward], list[tuple[Reward, str]]]:
    """Mark approved rewards paid in the payout batch with this external reference. Needs
    `rewards.pay_reward`. The batch is created on first use; a reference already used by another
    campaign is refused. Only approved rewards become paid; the others are refused with the reason.
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
    by, now = user.get_username(), timezone.now()
    batch, _ = PayoutBatch.objects.get_or_create(reference=reference, defaults={"campaign_id": rewards[0].campaign_id, "created_by": by, "note": note})
    if batch.campaign_id != rewards[0].campaign_id:
        raise RewardError(f"payout batch {reference} belongs to another campaign")
    done, refused, events = [], [], []
    for reward in rewards:
        if reward.state != Reward.State.APPROVED:
            refused.append((reward, f"reward {reward.pk} is {reward.state}, not approved"))
            continue
        reward.state, reward.payout_batch, reward.paid_at, reward.updated_at = Reward.State.PAID, batch, now, now
        done.append(reward)
        events.append(_event(reward, "pay", Reward.State.APPROVED, by, f"batch {reference}"))
    Reward.objects.bulk_update(done, ["state", "payout_batch", "paid_at", "updated_at"])
    RewardEvent.objects.bulk_create(events)
    _pages_changed(done)
    return batch, done, refused


@transaction.atomic
def rewards_void(*, reward_ids, user, note: str) -> tuple[list[Reward], list[tuple[Reward, str]]]:
    """Void calculated or approved rewards (never paid ones) with a note. Needs approve permission."""
    _require(user, "rewards.approve_reward")
    note = (note or "").strip()
    if not note:
        raise RewardError("voiding a reward needs a note")
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


@transaction.atomic
def review_items_resolve(*, item_ids, user, note: str) -> int:
    """Close open review items with a note (what ops did about the difference)."""
    _require(user, "rewards.approve_reward")
    note = (note or "").strip()
    if not note:
        raise RewardError("resolving a review item needs a note")
    return ReviewItem.objects.filter(pk__in=list(item_ids), status=ReviewItem.Status.OPEN).update(
        status=ReviewItem.Status.RESOLVED, resolved_by=user.get_username(), resolved_at=timezone.now(), resolution_note=note
    )
