"""The ledger's codes in the reader's words, for the admin (issue 18): why approve, mark paid or
void left a reward as it was (or why mark paid refused the whole operation), and the notes the
ledger services write on reward events.

The services say a refusal as a `Refusal` (a code and the facts), never a sentence, so the admin
words it here in the active language, states by their `Reward.State` labels, while the API keeps
the English it has always answered (rewards/api/views/ledger.py `refusal_reason`).

Event notes are stored as the services write them, in English, and rows already written stay so.
`event_note_text` recognises the exact shapes those services write, by the event's action:

- pay: ``batch <reference>``
- accept_review: ``review item <id>: <stored> -> <computed>; <ops' note>``
- keep_review: ``review item <id>: keeps <held>, computed <computed>[; adjustment <±amount> <asset>]; <ops' note>``

and says them in the reader's language; any other note (a void's, typed by ops) shows unchanged.
"""

import re

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from rewards.admin_display import period_text
from rewards.budgets import pool_text
from rewards.models import Reward
from rewards.rules.budget import Pool
from rewards.rules.money import format_money
from rewards.rules.types import ALL
from rewards.services.ledger import BATCH_OF_ANOTHER_CAMPAIGN, BATCH_OF_SEVERAL_CAMPAIGNS, REFUSED_BUDGET, REFUSED_PREVIEW, PayoutRefused, Refusal

# The state each action starts from: a reward in another state is refused (`REFUSED_STATE`).
NEEDED_STATE = {"approve": Reward.State.CALCULATED, "pay": Reward.State.APPROVED}


def state_text(state: str) -> str:
    """A reward state's label in the active language; a code the model no longer has, as stored."""
    return str(Reward.State(state).label) if state in Reward.State.values else state


def _limit_text(pool: Pool) -> str:
    money = f"{format_money(pool.budget)} {pool.asset}" if pool.budget is not None else ""
    if pool.max_rewards is None:
        return money
    bonuses = ngettext("%(n)s bonus", "%(n)s bonuses", pool.max_rewards) % {"n": pool.max_rewards}
    return _("%(budget)s, at most %(bonuses)s") % {"budget": money, "bonuses": bonuses} if money else bonuses


def refusal_text(reward: Reward, refusal: Refusal, *, action: str) -> str:
    """Why `action` ("approve", "pay" or "void") left `reward` as it was, as one sentence."""
    if refusal.code == REFUSED_PREVIEW:
        return _("Reward #%(reward)s is a preview: its period is not yet due.") % {"reward": reward.pk}
    if refusal.code == REFUSED_BUDGET:
        pool = refusal.pool
        return _(
            "Reward #%(reward)s (UID %(uid)s, %(kind)s, %(period)s, %(amount)s %(asset)s) was not approved: approving it would take the "
            "%(pool)s to %(committed)s approved and paid of %(limit)s, %(over)s %(pool_asset)s over."
        ) % {
            "reward": reward.pk,
            "uid": reward.trader.uid,
            "kind": reward.get_kind_display(),
            "period": period_text(reward.period) if reward.period == ALL else _("period %(period)s") % {"period": reward.period},
            "amount": format_money(reward.amount),
            "asset": reward.asset,
            "pool": pool_text(pool),
            "committed": format_money(refusal.committed),
            "limit": _limit_text(pool),
            "over": format_money(refusal.over),
            "pool_asset": pool.asset,
        }
    if action in NEEDED_STATE:
        return _("Reward #%(reward)s is %(state)s, not %(needed)s.") % {
            "reward": reward.pk, "state": state_text(refusal.state), "needed": NEEDED_STATE[action].label,
        }  # fmt: skip
    return _("Reward #%(reward)s is %(state)s: it cannot be voided.") % {"reward": reward.pk, "state": state_text(refusal.state)}


def ledger_error_text(exc: Exception) -> str:
    """A whole operation the ledger refused, in words: a mark paid by its code, anything else as
    the service said it."""
    if isinstance(exc, PayoutRefused) and exc.code == BATCH_OF_ANOTHER_CAMPAIGN:
        return _("Payout batch %(reference)s belongs to another campaign: nothing was marked paid. Use another reference.") % {"reference": exc.reference}
    if isinstance(exc, PayoutRefused) and exc.code == BATCH_OF_SEVERAL_CAMPAIGNS:
        return _("A payout batch belongs to one campaign: nothing was marked paid. Select rewards of one campaign.")
    return str(exc)


# --- Event notes -----------------------------------------------------------------------------------

_UNSIGNED = r"\d+(?:\.\d+)?"
_AMOUNT = rf"-?{_UNSIGNED}"
SYSTEM_NOTES = {
    "pay": re.compile(r"batch (?P<reference>.+)", re.S),
    "accept_review": re.compile(rf"review item (?P<item>\d+): (?P<stored>{_AMOUNT}) -> (?P<computed>{_AMOUNT}); (?P<note>.+)", re.S),
    "keep_review": re.compile(
        rf"review item (?P<item>\d+): keeps (?P<held>{_AMOUNT}), computed (?P<computed>{_AMOUNT})"
        rf"(?:; adjustment (?P<adjustment>[+-]{_UNSIGNED}) (?P<asset>\S+))?; (?P<note>.+)",
        re.S,
    ),
}


def event_note_text(*, action: str, note: str) -> str:
    """A reward event's note as the reader reads it: the ledger's own notes in the active
    language, every other note (what ops typed) exactly as stored."""
    pattern = SYSTEM_NOTES.get(action)
    match = pattern.fullmatch(note) if pattern is not None and note else None
    if match is None:
        return note
    parts = match.groupdict()
    if action == "pay":
        return _("payout batch %(reference)s") % parts
    if action == "accept_review":
        return _("review item #%(item)s: %(stored)s becomes %(computed)s; note: %(note)s") % parts
    if parts["adjustment"] is None:
        return _("review item #%(item)s: keeps %(held)s, computed %(computed)s; note: %(note)s") % parts
    return _("review item #%(item)s: keeps %(held)s, computed %(computed)s; adjustment %(adjustment)s %(asset)s; note: %(note)s") % parts
