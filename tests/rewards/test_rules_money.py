"""Money helpers of the reward rules: the one rounding choke point and largest remainder."""

from decimal import ROUND_DOWN, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewards.rules.money import (
    CENT,
    cents_or_exact,
    format_money,
    from_cents,
    is_whole_cents,
    largest_remainder,
    quantize_money,
    to_cents,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1.239"), "1.23"),
        (Decimal("1.999"), "1.99"),
        (Decimal("4000"), "4000.00"),
        (Decimal("0.001"), "0.00"),
        (Fraction(1, 3), "0.33"),
        (Fraction(2, 3), "0.66"),
        (Fraction(50000, 3), "16666.66"),
        (7, "7.00"),
        (0, "0.00"),
    ],
)
def test_quantize_money_floors_to_the_cent(value, expected):
    result = quantize_money(value)
    assert result == Decimal(expected)
    assert str(result) == expected


def test_quantize_money_rounds_negative_amounts_toward_zero():
    assert quantize_money(Decimal("-1.239")) == Decimal("-1.23")
    assert quantize_money(Fraction(-1, 3)) == Decimal("-0.33")


def test_quantize_money_keeps_digits_beyond_the_decimal_context_precision():
    # 33 significant digits: Decimal arithmetic with the default 28-digit context would round.
    value = Decimal("1234567890123456789012345678901.239")
    assert quantize_money(value) == Decimal("1234567890123456789012345678901.23")


def test_quantize_money_refuses_floats_and_non_finite_values():
    with pytest.raises(TypeError):
        quantize_money(0.1)
    with pytest.raises(TypeError):
        quantize_money(True)
    with pytest.raises(ValueError):
        quantize_money(Decimal("NaN"))


@given(st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, places=6))
def test_quantize_money_matches_decimal_round_down(value):
    assert quantize_money(value) == value.quantize(CENT, rounding=ROUND_DOWN)


@given(st.fractions(min_value=0, max_value=10**6))
def test_quantize_money_never_exceeds_a_non_negative_amount_by_any_amount(value):
    result = quantize_money(value)
    assert Fraction(result) <= value < Fraction(result) + Fraction(1, 100)


def test_cents_round_trip_with_two_decimals():
    assert from_cents(0) == Decimal("0.00") and str(from_cents(0)) == "0.00"
    assert str(from_cents(-5)) == "-0.05"
    assert to_cents(Decimal("12.34")) == 1234
    assert is_whole_cents(Decimal("1.000")) and not is_whole_cents(Decimal("1.005"))


def test_format_money_always_shows_two_decimals():
    assert format_money(Decimal("4000")) == "4000.00"
    assert format_money(Decimal("0.5")) == "0.50"
    assert format_money(Decimal("6666.67")) == "6666.67"
    assert format_money(12) == "12.00"


def test_format_money_refuses_to_round_sub_cent_amounts():
    with pytest.raises(ValueError):
        format_money(Decimal("1.005"))


def test_largest_remainder_gives_the_leftover_cent_by_priority_when_remainders_tie():
    # 1.00 / 3 = 0.333...; floors 0.33 x 3 = 0.99; 1 cent left, all remainders tie at 1/3 cent,
    # so the smallest priority tuple ("a") takes it.
    exact = {"a": Fraction(1, 3), "b": Fraction(1, 3), "c": Fraction(1, 3)}
    result = largest_remainder(exact, total=Decimal("1.00"), priority=lambda key: (key,))
    assert result == {"a": Decimal("0.34"), "b": Decimal("0.33"), "c": Decimal("0.33")}


def test_largest_remainder_gives_cents_to_the_largest_remainders_first():
    # 0.104 -> 0.10 (lost 0.4 cent), 0.207 -> 0.20 (lost 0.7), 0.689 -> 0.68 (lost 0.9).
    # Sum exact 1.000; floors 0.98; 2 cents go to the 0.9 and the 0.7 losers.
    exact = {1: Fraction("0.104"), 2: Fraction("0.207"), 3: Fraction("0.689")}
    result = largest_remainder(exact, total=Decimal("1.00"), priority=lambda key: (key,))
    assert result == {1: Decimal("0.10"), 2: Decimal("0.21"), 3: Decimal("0.69")}


def test_largest_remainder_keeps_keys_whose_share_rounds_to_zero():
    result = largest_remainder(
        {1: Fraction(1, 1000), 2: Fraction(0)}, total=Decimal("0.00"), priority=lambda k: (k,)
    )
    assert result == {1: Decimal("0.00"), 2: Decimal("0.00")}


def test_largest_remainder_refuses_a_total_that_the_exact_shares_do_not_cover():
    exact = {1: Fraction(1, 3), 2: Fraction(1, 3)}
    with pytest.raises(ValueError):
        largest_remainder(exact, total=Decimal("0.67"), priority=lambda k: (k,))
    with pytest.raises(ValueError):
        largest_remainder(exact, total=Decimal("0.65"), priority=lambda k: (k,))
    with pytest.raises(ValueError):
        largest_remainder(exact, total=Decimal("0.665"), priority=lambda k: (k,))


def test_largest_remainder_refuses_a_share_above_the_cap():
    with pytest.raises(ValueError):
        largest_remainder(
            {1: Fraction("100.001")}, total=Decimal("100.00"), priority=lambda k: (k,),
            cap=Decimal("100.00"),
        )


@st.composite
def exact_shares_and_total(draw):
    fractions = st.fractions(min_value=0, max_value=1000, max_denominator=997)
    shares = draw(st.lists(fractions, max_size=12))
    exact = dict(enumerate(shares))
    floored = sum(to_cents(share) for share in shares)
    ceiling = to_cents(sum(shares, Fraction(0)))
    return exact, from_cents(draw(st.integers(floored, ceiling)))


@given(exact_shares_and_total(), st.randoms(use_true_random=False))
def test_largest_remainder_sums_to_total_within_a_cent_of_exact_in_any_order(case, rnd):
    exact, total = case
    result = largest_remainder(exact, total=total, priority=lambda key: (key,))
    assert sum(result.values(), Decimal(0)) == total
    for key, amount in result.items():
        assert quantize_money(exact[key]) <= amount <= quantize_money(exact[key]) + CENT
        assert Fraction(amount) < exact[key] + Fraction(1, 100)
    items = list(exact.items())
    rnd.shuffle(items)
    assert largest_remainder(dict(items), total=total, priority=lambda key: (key,)) == result


@pytest.mark.parametrize(
    "stored, shown",
    [("1250.40000000", "1250.40"), ("100", "100.00"), ("0.12500000", "0.125"), ("3.14159265", "3.14159265"), ("-2.5", "-2.50")],
)
def test_a_stored_figure_is_shown_to_the_cent_unless_that_would_round_it(stored, shown):
    assert f"{cents_or_exact(Decimal(stored)):f}" == shown
