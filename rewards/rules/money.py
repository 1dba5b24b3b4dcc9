"""Money arithmetic for the reward rules: exact values in, whole cents out.

Amounts are ``Decimal`` built from ``str`` or ``int``; inside a split they are ``Fraction`` so
that no digit is ever lost before the one rounding step. ``float`` is refused everywhere: it
cannot represent 0.01 and would make tie-breaks depend on binary noise.

Rounding has exactly one choke point, :func:`quantize_money`. It rounds toward zero to the cent,
which for the non-negative amounts that payouts are means *down* (a trader is never paid a
fraction of a cent that the pool does not hold). Every other helper goes through it.
"""

from collections.abc import Callable, Hashable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

CENT = Decimal("0.01")
CENTS_PER_UNIT = 100

K = TypeVar("K", bound=Hashable)


def to_fraction(value: Decimal | Fraction | int) -> Fraction:
    """Return ``value`` as an exact ``Fraction``.

    Accepts ``Decimal`` (finite), ``Fraction`` and ``int``. Refuses ``float`` and ``bool`` with
    ``TypeError``: a float already lost digits, and a bool is almost certainly a bug.
    """
    if isinstance(value, bool) or not isinstance(value, (Decimal, Fraction, int)):
        raise TypeError(f"money must be Decimal, Fraction or int, not {type(value).__name__}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"money must be finite, got {value}")
    return Fraction(value)


def to_cents(value: Decimal | Fraction | int) -> int:
    """Return ``value`` in whole cents, rounded toward zero (floor for non-negative values).

    This is the integer form of :func:`quantize_money`; both share this one rounding step.
    """
    exact = to_fraction(value) * CENTS_PER_UNIT
    # int() of a Fraction truncates toward zero: floor for the non-negative amounts we pay, and
    # the same direction as Decimal's ROUND_DOWN for anything else.
    return int(exact)


def from_cents(cents: int) -> Decimal:
    """Return a whole number of cents as a ``Decimal`` with exactly two decimals.

    Built from a string, so no context precision or rounding is involved.
    """
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError(f"cents must be int, not {type(cents).__name__}")
    return Decimal(f"{cents}E-2")


def quantize_money(value: Decimal | Fraction | int) -> Decimal:
    """Round ``value`` to 0.01 toward zero: THE rounding choke point of the reward rules.

    Invariants: the result has exactly two decimals; for ``value >= 0`` it is the largest
    multiple of 0.01 not above ``value`` (floor), so a payout never exceeds its exact amount;
    ``Fraction`` values are handled exactly (``1/3`` gives ``0.33``), never through float.
    Negative values also round toward zero (``-1.239`` gives ``-1.23``), matching
    ``Decimal.quantize(CENT, rounding=ROUND_DOWN)``.
    """
    return from_cents(to_cents(value))


def is_whole_cents(value: Decimal | Fraction | int) -> bool:
    """Tell whether ``value`` is an exact multiple of 0.01 (``4000``, ``12.50``, ``1.000`` are)."""
    return (to_fraction(value) * CENTS_PER_UNIT).denominator == 1


def require_whole_cents(value: Decimal | Fraction | int, *, name: str) -> int:
    """Return ``value`` in cents, or raise ``ValueError`` naming ``name`` if it has sub-cent digits.

    Used on configured amounts (pools, caps, tiers), which must already be exact to the cent:
    silently rounding a configuration value would pay something nobody configured.
    """
    if not is_whole_cents(value):
        raise ValueError(
            f"{name} must be a whole number of cents (two decimals at most), got {value}"
        )
    return to_cents(value)


def cents_or_exact(value: Decimal) -> Decimal:
    """`value` to the cent when that loses nothing, else with the digits it carries (trailing
    zeros dropped): how a stored figure is shown without rounding it ("1250.40000000" ->
    1250.40, "0.12500000" -> 0.125)."""
    cents = value.quantize(CENT)
    return cents if cents == value else value.normalize()


def format_money(value: Decimal | int) -> str:
    """Format an amount with exactly two decimals (``Decimal("4000")`` gives ``"4000.00"``).

    It never rounds: an amount with sub-cent digits raises ``ValueError``, because formatting is
    the wrong place to decide a rounding (that belongs to :func:`quantize_money`).
    """
    return f"{from_cents(require_whole_cents(value, name='amount')):f}"


def largest_remainder(
    exact: Mapping[K, Fraction],
    *,
    total: Decimal,
    priority: Callable[[K], tuple],
    cap: Decimal | None = None,
) -> dict[K, Decimal]:
    """Round exact shares to cents so that they sum to ``total`` exactly (largest remainder).

    Each share is floored to 0.01; the cents between the floored sum and ``total`` then go one
    cent each to the keys that lost the largest remainder, ties to the smallest ``priority(key)``
    tuple, never pushing a key above ``cap``. Every key of ``exact`` is in the result (a 0.00 share
    included; callers decide whether a zero gets a row).

    Invariants (checked, ``ValueError`` otherwise): shares are non-negative and at most ``cap``;
    ``total`` is whole cents and lies between the floored sum and the exact sum, so every extra
    cent is backed by remainders actually lost. Under these, each key receives at most one extra
    cent, only a key with a positive remainder receives one, and no key exceeds its exact share
    rounded up to the cent. The result does not depend on the iteration order of ``exact``.
    """
    total_cents = require_whole_cents(total, name="total")
    cap_cents = None if cap is None else require_whole_cents(cap, name="cap")
    exact = {key: to_fraction(share) for key, share in exact.items()}
    for key, share in exact.items():
        if share < 0:
            raise ValueError(f"share of {key!r} is negative: {share}")
        if cap is not None and share > to_fraction(cap):
            raise ValueError(f"share of {key!r} ({share}) is above the cap {cap}")

    floored = {key: to_cents(share) for key, share in exact.items()}
    exact_sum = sum(exact.values(), Fraction(0))
    if not sum(floored.values()) <= total_cents <= exact_sum * CENTS_PER_UNIT:
        raise ValueError(
            f"total {total} is outside [floored sum, exact sum] = "
            f"[{from_cents(sum(floored.values()))}, {exact_sum}]"
        )

    leftover = total_cents - sum(floored.values())
    lost = {key: exact[key] * CENTS_PER_UNIT - floored[key] for key in exact}
    # Sorting on the exact remainder then on priority gives one order whatever order the
    # mapping came in, so re-running a settlement can never move a cent.
    candidates = sorted(
        (key for key in exact if lost[key] > 0),
        key=lambda key: (-lost[key], priority(key)),
    )
    for key in candidates:
        if leftover == 0:
            break
        if cap_cents is not None and floored[key] + 1 > cap_cents:
            continue
        floored[key] += 1
        leftover -= 1
    if leftover:
        # Unreachable under the checks above (fewer than `leftover` positive remainders would
        # sum to less than `leftover` cents); kept so that a broken invariant fails loudly.
        raise ValueError(f"{leftover} cent(s) of {total} could not be placed")
    return {key: from_cents(cents) for key, cents in floored.items()}
