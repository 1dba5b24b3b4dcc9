"""A campaign setting's value as ops read it (issue 18), never its code or JSON: a list one item a
line (tier amounts with their ranks, as the campaign form shows them), a choice by its label, no
first-post limit as "no limit", an instant in screen time.

Here in the campaign layer, which rewards may import, so that both pages that show settings before and after say them
the same way: the campaign's History page (campaign/history.py) and the what-if pages
(rewards/admin_whatif.py).
"""

from datetime import datetime

from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext as _

from campaign.models import Campaign
from core.screen_time import screen_time


def _field(name: str):
    try:
        return Campaign._meta.get_field(name)
    except FieldDoesNotExist:  # a setting a later version no longer has: its value as stored
        return None


def setting_label(name: str) -> str:
    """The setting's name in the active language: its field's verbose name, or `name` itself for a
    field the campaign no longer has."""
    field = _field(name)
    return str(field.verbose_name) if field is not None else name


def setting_lines(name: str, value) -> list[str]:
    """`value` of the setting `name` as lines of text in the active language. Takes the value as
    the model holds it or as JSON keeps it (decimals as strings, instants as ISO 8601 strings)."""
    if value is None:
        return [_("no limit")]
    if isinstance(value, (list, tuple)):
        return [f"{rank}: {amount}" for rank, amount in enumerate(value, 1)] if name == "leaderboard_tiers" else [str(v) for v in value]
    field = _field(name)
    if field is not None and field.choices:
        return [str(dict(field.flatchoices).get(value, value))]
    if field is not None and field.get_internal_type() == "DateTimeField":
        try:
            return [screen_time(value if isinstance(value, datetime) else datetime.fromisoformat(value))]
        except (TypeError, ValueError):  # not an aware instant: shown as stored rather than guessed
            return [str(value)]
    return [str(value)]
