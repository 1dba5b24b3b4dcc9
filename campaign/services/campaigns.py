"""Changes to a campaign's settings: the one write every door that edits a campaign goes through
(the campaign's admin form, the what-if apply), so each change is locked, validated and audited
the same way whichever door it came through."""

from decimal import Decimal

from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from campaign.history import CHANGED, campaign_change_message
from campaign.models import Campaign
from campaign.page_cache import campaign_pages_changed
from campaign.services.locks import campaign_lock


def _editable(name: str) -> bool:
    try:
        field = Campaign._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return field.concrete and field.editable and not field.primary_key


@transaction.atomic
def campaign_update(*, campaign: Campaign, changes: dict, by, note: str, action: str = CHANGED) -> Campaign:
    """Write `changes` ({field name: new value}) to `campaign`; return the campaign as stored.

    Under the campaign lock (`campaign_lock`), so no judging or settlement sees half a change.
    The changed fields are validated with the model's own validation (`full_clean` of those
    fields, with `Campaign.clean` across all of them): a refused change raises `ValidationError`
    keyed by field and writes nothing, as does a field that is not an editable setting. Only the
    fields whose value differs from the stored one are written (with `updated_at`).

    The audit trail is the admin log, as for any edit in the admin: one LogEntry by the user
    `by`, now, keeping `action` (one of campaign/history.py's, in English), each changed field
    with its old and new value, and the note, exactly (`campaign_change_message`); the History
    page says them in the reader's language. A change that changes nothing writes nothing and
    logs nothing.
    """
    unknown = sorted(name for name in changes if not _editable(name))
    if unknown:
        raise ValidationError({name: [_("This is not a campaign setting that can be changed.")] for name in unknown})
    locked = campaign_lock(campaign)
    before = {name: getattr(locked, name) for name in changes}
    for name, value in changes.items():
        setattr(locked, name, list(value) if isinstance(value, tuple) else value)
    others = [f.name for f in Campaign._meta.concrete_fields if f.name not in changes]
    locked.full_clean(exclude=others)  # raises before anything is written
    for name in changes:
        field = Campaign._meta.get_field(name)
        if field.get_internal_type() == "DecimalField" and getattr(locked, name) is not None:
            # As the database stores it, so that 300 and 300.00 are no change and the log reads 300.00.
            setattr(locked, name, getattr(locked, name).quantize(Decimal(1).scaleb(-field.decimal_places)))
    changed = [name for name in changes if getattr(locked, name) != before[name]]
    if not changed:
        return locked
    locked.save(update_fields=[*changed, "updated_at"])
    message = campaign_change_message(action=action, changes=[(name, before[name], getattr(locked, name)) for name in changed], note=(note or "").strip())
    LogEntry.objects.log_actions(user_id=by.pk, queryset=[locked], action_flag=CHANGE, change_message=message, single_object=True)
    campaign_pages_changed(campaign_id=locked.pk)
    return locked
