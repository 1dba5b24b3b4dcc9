"""The campaign's settings as ops type them: trading terms one a line, tier amounts one a line with
their ranks, never JSON (issue 18). Ops are not developers; a list they edit is text they read.

These fields only turn lines into the list the model stores and back. Whether the list is valid is
still the model's to say (`Campaign.clean`: `terms.validate_terms`, `terms.tiers_from_config`),
so its messages show on the field, the same in the campaign form and on the what-if page
(rewards/admin_whatif.py), which both build their fields with `campaign_setting_field`.
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from campaign import terms
from campaign.models import Campaign
from campaign.setting_words import setting_lines

# "3: 2500.00", or "3：2500.00" as a Chinese input method types the colon.
RANKED_LINE = re.compile(r"^(\d+)\s*[:：]\s*(.*)$")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class TermLinesField(forms.CharField):
    """A list of trading terms, one a line: surrounding spaces trimmed, blank lines ignored."""

    widget = forms.Textarea(attrs={"rows": 8, "cols": 40})

    def to_python(self, value) -> list[str]:
        return _lines(super().to_python(value))

    def prepare_value(self, value):
        return "\n".join(str(term) for term in value) if isinstance(value, (list, tuple)) else value


class TierLinesField(forms.CharField):
    """The tier amounts by rank, one a line, rank 1 first, shown as "1: 4000.00".

    A line may carry its rank before a colon, as the field shows it; the rank is the line's place
    all the same, so a written rank that is not that place is refused rather than silently moved
    (a line dropped or inserted above it would otherwise pay another rank). A valid table is
    stored as the model stores it, two-decimal strings ("4000.00"), the spelling settlement reads
    (`Decimal(str(tier))`); an invalid one goes to the model as typed, for its message.
    """

    widget = forms.Textarea(attrs={"rows": 10, "cols": 24})
    default_error_messages = {
        "rank": _(
            "The line “%(line)s” says rank %(written)s but is the amount of rank %(rank)s: amounts go in rank order, "
            "one a line. Correct the rank or leave it out."
        ),
    }

    def to_python(self, value) -> list[str]:
        amounts = []
        for rank, line in enumerate(_lines(super().to_python(value)), 1):
            match = RANKED_LINE.match(line)
            if match is None:
                amounts.append(line)
                continue
            if int(match[1]) != rank:
                raise ValidationError(self.error_messages["rank"], code="rank", params={"line": line, "written": match[1], "rank": rank})
            amounts.append(match[2].strip())
        return amounts

    def clean(self, value) -> list[str]:
        amounts = super().clean(value)
        try:
            return [str(amount) for amount in terms.tiers_from_config(amounts)]
        except terms.ConfigurationError:
            return amounts  # Campaign.clean refuses them with its own sentence (TIERS_MESSAGES)

    def has_changed(self, initial, data) -> bool:
        try:
            return self.clean(data) != list(initial or [])
        except ValidationError:
            return True

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return "\n".join(setting_lines("leaderboard_tiers", value))  # "1: 4000.00", as every page shows tiers
        return value


HELP_TEXTS = {
    "latin_terms": _("One term a line, found as a whole word in any letter case; a term of several words takes single spaces. Blank lines are ignored."),
    "cjk_terms": _("One term a line, found anywhere in a post's text. Blank lines are ignored."),
    "leaderboard_tiers": _(
        "One amount a line, rank 1 first, such as “1: 4000.00” or just “4000.00”. Used when the leaderboard split is fixed tiers by rank. "
        "Blank lines are ignored."
    ),
}
LINE_FIELDS = {"latin_terms": TermLinesField, "cjk_terms": TermLinesField, "leaderboard_tiers": TierLinesField}


def campaign_setting_field(name: str) -> forms.Field:
    """The form field of the campaign setting `name` as ops edit it: lines for the lists the model
    keeps as JSON, the model field's own form field for the others."""
    model_field = Campaign._meta.get_field(name)
    if name not in LINE_FIELDS:
        return model_field.formfield()
    return LINE_FIELDS[name](
        label=capfirst(model_field.verbose_name),
        required=not model_field.blank,
        initial=model_field.default,  # a new campaign's form starts from the rulebook's lists
        help_text=HELP_TEXTS[name],
    )


class CampaignForm(forms.ModelForm):
    """The campaign's change form: the JSON settings as lines (`campaign_setting_field`)."""

    latin_terms = campaign_setting_field("latin_terms")
    cjk_terms = campaign_setting_field("cjk_terms")
    leaderboard_tiers = campaign_setting_field("leaderboard_tiers")
