"""The change set of a what-if: which settings it may change, the validated unsaved copy of the
campaign carrying them, the fields that differ, and the fingerprint that tells whether the stored
configuration moved between a preview and its apply.
"""

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from campaign.models import Campaign
from rewards.budgets import pool_budget_conflicts
from rewards.rules.money import format_money

# The configuration a what-if may change: qualification, the content pool and the leaderboard.
# The window, periods and assets are left out: they move schedules and enrolment, not a split.
WHATIF_FIELDS = (
    "grace_hours",
    "min_length",
    "score_cap",
    "duplicate_threshold",
    "latin_terms",
    "cjk_terms",
    "first_post_limit",
    "pool_amount",
    "pool_cap",
    "pool_min_score",
    "pool_top_posts",
    "leaderboard_min_posts",
    "leaderboard_strategy",
    "leaderboard_tiers",
    "leaderboard_pool",
)


@dataclass(frozen=True)
class ConfigChange:
    field: str
    label: str
    current: object
    proposed: object


def config_fingerprint(campaign: Campaign) -> str:
    """A digest of the whole stored configuration: any edit between a preview and its apply shows."""
    return hashlib.sha256(json.dumps(campaign.rules_config(), sort_keys=True, default=str).encode()).hexdigest()


def _field_value(campaign: Campaign, name: str):
    value = getattr(campaign, name)
    return list(value) if isinstance(value, list) else value


def campaign_with_changes(*, campaign: Campaign, changes: dict) -> Campaign:
    """An unsaved copy of `campaign` with `changes`, validated by the model's own validation.

    Raises `ValidationError` keyed by field: for a field a what-if may not change, for every
    value `Campaign.full_clean` refuses, and for a pool made smaller than the money already
    approved or paid in it (`pool_budget_conflicts`). The copy is never saved (it keeps the pk so that reads
    keyed by campaign, such as sign-ups, still find the campaign's rows).
    """
    errors = {name: [_("This setting cannot be changed in a what-if preview.")] for name in sorted(set(changes) - set(WHATIF_FIELDS))}
    copy = Campaign(**{f.attname: _field_value(campaign, f.attname) for f in Campaign._meta.concrete_fields})
    for name, value in changes.items():
        if name not in errors:
            setattr(copy, name, list(value) if isinstance(value, (list, tuple)) else value)
    others = [f.name for f in Campaign._meta.concrete_fields if f.name not in WHATIF_FIELDS]
    try:
        copy.full_clean(exclude=others, validate_unique=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not errors:
        # Money already approved or paid stays within its pool (RULES.md section 8).
        errors.update(pool_budget_conflicts(campaign=campaign, proposed=copy))
    if errors:
        raise ValidationError(errors)
    # As the database would store them: decimals to their places, tiers as two-decimal strings.
    for model_field in Campaign._meta.concrete_fields:
        if model_field.name in WHATIF_FIELDS and model_field.get_internal_type() == "DecimalField":
            value = getattr(copy, model_field.name)
            setattr(copy, model_field.name, value.quantize(Decimal(1).scaleb(-model_field.decimal_places)))
    copy.leaderboard_tiers = [format_money(Decimal(str(t))) for t in copy.leaderboard_tiers]
    return copy


def config_changes(current: Campaign, proposed: Campaign) -> tuple[ConfigChange, ...]:
    """The settings a what-if may change whose value differs, in `WHATIF_FIELDS` order."""
    return tuple(
        ConfigChange(name, str(Campaign._meta.get_field(name).verbose_name), getattr(current, name), getattr(proposed, name))
        for name in WHATIF_FIELDS
        if getattr(current, name) != getattr(proposed, name)
    )
