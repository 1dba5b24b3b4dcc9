"""Review items (RULES.md section 8): what a settlement does when it computes, for a reward that
ops already approved, paid or voided, an amount other than the one the trader holds.

The settlement never changes such a reward. A difference opens the reward's one review item, or
updates the item already open; an item whose difference is gone is withdrawn. Ops close items
(`accept` or `keep`); an amount they kept is not raised again until the computation moves on.
"""

from decimal import Decimal
from enum import StrEnum

ZERO = Decimal("0.00")


class ReviewAction(StrEnum):
    NONE = "none"  # nothing to raise, or the open item already says it
    OPEN = "open"
    UPDATE = "update"  # the open item gets the new computed amount
    WITHDRAW = "withdraw"  # the open item's difference is gone


def review_action(*, held: Decimal, computed: Decimal, open_computed: Decimal | None, last_kept: Decimal | None, void: bool) -> ReviewAction:
    """What a settlement does about one approved, paid or void reward.

    ``held`` is what the trader holds (the reward's amount, plus the adjustments of a paid one);
    ``computed`` is what the settlement gives now (0.00 when it gives nothing); ``open_computed``
    is the computed amount of the reward's open item (None when there is none); ``last_kept`` is
    the computed amount ops last kept for it (None when they never did). A void reward that
    nothing is computed for needs nothing: nobody is owed money on it.
    """
    differs = computed != held and not (void and computed == ZERO)
    if open_computed is not None:
        if not differs:
            return ReviewAction.WITHDRAW
        return ReviewAction.UPDATE if computed != open_computed else ReviewAction.NONE
    if differs and computed != last_kept:
        return ReviewAction.OPEN
    return ReviewAction.NONE
