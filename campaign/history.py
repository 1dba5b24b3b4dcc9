"""A campaign's audit trail (issue 18): what `campaign_update` keeps in the admin log for each
change, and how the campaign's History page says it in the reader's language.

The facts are kept exactly, in Django's own JSON form of a change message with one extra key:

    [{"changed": {"fields": ["content pool cap per creator"]},
      "campaign_update": {"action": "What-if applied", "note": "raise the cap",
                          "changes": [{"field": "pool_cap", "old": "100.00", "new": "300.00"}]}}]

Django's displays (`LogEntry.get_change_message`) read only "changed" and translate it ("Changed
content pool cap per creator."); they skip a key they do not know. The History page
(templates/admin/campaign/campaign/object_history.html) reads "campaign_update": the action, each
setting by its verbose name with its value before and after (`setting_lines`), and the note, all
in the active language. Entries written before (plain English text) and Django's own entries
have no such key and show as Django shows them.

Who and when are the LogEntry's own `user` and `action_time`.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.contrib.admin.models import LogEntry
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext, gettext_noop

from campaign.setting_words import setting_label, setting_lines

AUDIT_KEY = "campaign_update"

# The doors' actions: stored in English as written here, said in the reader's language when shown.
CHANGED = gettext_noop("Changed")
CHANGED_IN_ADMIN = gettext_noop("Changed in the admin")
WHATIF_APPLIED = gettext_noop("What-if applied")


@dataclass(frozen=True)
class SettingChange:
    field: str
    label: str
    before: tuple[str, ...]
    after: tuple[str, ...]


@dataclass(frozen=True)
class CampaignChange:
    action: str
    changes: tuple[SettingChange, ...]
    note: str


def audit_value(value):
    """A setting's value as the audit keeps it, exactly and as JSON: a decimal as its string
    ("300.00", as the database stores it), an instant in UTC (one offset, whichever the door
    typed), a list as a list."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, (list, tuple)):
        return [audit_value(v) for v in value]
    return value


def campaign_change_message(*, action: str, changes: list[tuple[str, object, object]], note: str) -> str:
    """The change_message of one campaign change: `changes` as (field, old, new), in order.

    The field names of Django's "changed" part are stored untranslated (as Django's admin stores
    them), so that each reader's language translates them when they are shown.
    """
    with translation.override(None):
        fields = [setting_label(name) for name, _old, _new in changes]
    record = {"action": action, "changes": [{"field": name, "old": audit_value(old), "new": audit_value(new)} for name, old, new in changes], "note": note}
    # default=str: a value of a kind JSON lacks is kept as its text, as the plain-text log kept every value.
    return json.dumps([{"changed": {"fields": fields}, AUDIT_KEY: record}], ensure_ascii=False, default=str)


def _is_record(record) -> bool:
    return (
        isinstance(record, dict)
        and isinstance(record.get("action"), str)
        and isinstance(record.get("note"), str)
        and isinstance(record.get("changes"), list)
        and all(isinstance(c, dict) and isinstance(c.get("field"), str) and {"old", "new"} <= c.keys() for c in record["changes"])
    )


def campaign_change_record(message: str) -> dict | None:
    """The facts `campaign_change_message` stored in `message`, or None for any other message
    (plain text, or Django's own JSON)."""
    if not message or not message.startswith("["):
        return None
    try:
        parts = json.loads(message)
    except json.JSONDecodeError:
        return None
    if not isinstance(parts, list):
        return None
    return next((part[AUDIT_KEY] for part in parts if isinstance(part, dict) and _is_record(part.get(AUDIT_KEY))), None)


def campaign_change_read(*, entry: LogEntry) -> CampaignChange | None:
    """`entry` as the History page says it, in the active language; None when `campaign_update`
    did not write it this way (then Django's `get_change_message` says it)."""
    record = campaign_change_record(entry.change_message)
    if record is None:
        return None
    return CampaignChange(
        action=gettext(record["action"]) if record["action"] else "",  # gettext("") would be the catalogue's header
        changes=tuple(
            SettingChange(c["field"], capfirst(setting_label(c["field"])), tuple(setting_lines(c["field"], c["old"])), tuple(setting_lines(c["field"], c["new"])))
            for c in record["changes"]
        ),
        note=record["note"],
    )
