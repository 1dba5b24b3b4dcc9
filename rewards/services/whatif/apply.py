"""The what-if apply: the one write of a what-if, and who may make it.

`whatif_apply` under the campaign row lock refuses a configuration that changed since the preview
(fingerprint), saves the changed fields through `campaign_update` (which logs them old -> new with
the note in the admin log), re-judges every post, and queues the settlement with
`settlement_enqueue`, as the dashboard does. Approved and paid rewards stay protected by
settlement (review items).
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.history import WHATIF_APPLIED
from campaign.models import Campaign
from campaign.services import campaign_lock, posts_qualify
from campaign.services.campaigns import campaign_update
from rewards.exceptions import RewardError
from rewards.services.settlement import settlement_enqueue
from rewards.services.whatif.changes import ConfigChange, campaign_with_changes, config_changes, config_fingerprint

CHANGE_PERMISSION = "campaign.change_campaign"
# Applying re-settles the campaign: the dashboard's own permission to settle is needed too.
APPLY_PERMISSIONS = (CHANGE_PERMISSION, "rewards.add_settlementrun")


@dataclass(frozen=True)
class WhatIfApplied:
    campaign: Campaign
    changes: tuple[ConfigChange, ...]
    log_entry: LogEntry
    verdicts_changed: int
    settle_at: datetime
    triggered_by: str = ""  # the settlement run it queued says so
    settlement_run_id: int | None = None  # that run, queued at once


def apply_permissions_check(user) -> None:
    """Raise `PermissionDenied` unless `user` holds every one of `APPLY_PERMISSIONS`."""
    missing = [perm for perm in APPLY_PERMISSIONS if not user.has_perm(perm)]
    if missing:
        raise PermissionDenied(f"{user.get_username() or 'anonymous'} lacks the permission(s) {', '.join(missing)}")


def whatif_apply(*, campaign: Campaign, changes: dict, note: str, user, expected_fingerprint: str, at: datetime | None = None) -> WhatIfApplied:
    """Apply a previewed configuration: one explicit, audited action. Needs `campaign.change_campaign`.

    In one transaction, under the campaign row lock: refuses when the stored configuration is no
    longer the one the preview showed (`expected_fingerprint`), when the note is empty, and when
    nothing changes; saves the changed fields with `campaign_update`, whose admin log entry lists
    each field old -> new and the note; rebuilds the duplicate links when the threshold changed;
    re-judges every post (`posts_qualify`). It queues the settlement as of `at` (default: now) with
    `settlement_enqueue`, as the dashboard does (the task is sent after commit), and re-syncs the
    settlement schedule when the grace changed.
    Approved and paid rewards are never touched: settlement turns a difference into a review item.
    Not idempotent by design: a second apply with the old fingerprint is refused as stale.
    """
    from rewards.services.schedule import settlement_schedule_sync

    apply_permissions_check(user)
    note = (note or "").strip()
    if not note:
        raise RewardError(_("A note is required to apply a what-if configuration."))
    settle_at = at or timezone.now()
    with transaction.atomic():
        locked = campaign_lock(campaign)
        if config_fingerprint(locked) != expected_fingerprint:
            raise RewardError(_("The campaign configuration changed since this preview; preview again before applying."))
        proposed = campaign_with_changes(campaign=locked, changes=changes)
        applied = config_changes(locked, proposed)
        if not applied:
            raise RewardError(_("Nothing to apply: the proposed configuration is the current one."))
        locked = campaign_update(campaign=locked, changes={c.field: c.proposed for c in applied}, by=user, note=note, action=WHATIF_APPLIED)
        # Its entry is the campaign's latest: every campaign_update holds the lock held here.
        entry = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Campaign), object_id=str(locked.pk)).order_by("-pk").first()
        # A new threshold relinks every post in there (the links remember their threshold).
        verdicts_changed = posts_qualify(campaign=locked)
        settlement = settlement_enqueue(campaign=locked, at=settle_at, by=f"admin what-if: {user.get_username()}")
        if any(c.field == "grace_hours" for c in applied):
            transaction.on_commit(lambda: settlement_schedule_sync(campaign=locked))
    return WhatIfApplied(
        campaign=locked, changes=applied, log_entry=entry, verdicts_changed=verdicts_changed, settle_at=settle_at,
        triggered_by=settlement.triggered_by, settlement_run_id=settlement.pk,
    )  # fmt: skip
