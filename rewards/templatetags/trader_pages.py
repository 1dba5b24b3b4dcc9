"""How the trader's pages (status, breakdown, public) write assets and figures for people.

Codes stay in the data, the reports and the API; on a page an asset reads as a word ("trial
fund", "体验金") and a figure with the precision it is meant at: amounts to the cent, with more
digits only where the stored value has them (an explanation never rounds a number it computes
with), weights with two to four decimals. `{% load trader_pages %}`.
"""

from decimal import Decimal, InvalidOperation

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from rewards.rules.money import CENT, cents_or_exact

register = template.Library()

ELLIPSIS = "…"  # an exact share cut after its eighth decimal (rewards.selectors.breakdown)
# An asset without a name here (USDT) is shown by its code, which is already a word to traders.
ASSET_NAMES = {"TRIAL_FUND": _("trial fund")}


def asset_label(code: str) -> str:
    """The name traders read for an asset code: "trial fund" for TRIAL_FUND, USDT as USDT."""
    return str(ASSET_NAMES.get(code, code))


def _decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


def money_text(value) -> str:
    """An amount to the cent, grouped as the language groups digits ("1,250.40" from
    "1250.40000000"); the stored digits beyond the cent are kept when they are not zero, and a
    value cut short (ending in "…") keeps its mark. Anything else is shown as it is."""
    text = "" if value is None else str(value)
    cut = text.endswith(ELLIPSIS)
    number = _decimal(text.removesuffix(ELLIPSIS))
    if number is None or not number.is_finite():
        return text
    return number_format(cents_or_exact(number), force_grouping=True) + (ELLIPSIS if cut else "")


def weight_text(value) -> str:
    """A weight with two to four decimals ("0.01" from "0.0100", "2.00", "0.0125"); more only
    when the stored value has them."""
    number = _decimal(value)
    if number is None or not number.is_finite():
        return "" if value is None else str(value)
    shown = number.normalize()
    if -shown.as_tuple().exponent < 2:
        shown = number.quantize(CENT)
    return format(shown, "f")


register.filter("asset_name", asset_label)
register.filter("money", money_text)
register.filter("weight", weight_text)
