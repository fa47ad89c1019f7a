"""Exact rounding and display of integer minor units."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatplan.billing.money import currency_exponent, format_money, round_half_away


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (1, 2, 1),  # 0.5 -> 1
        (-1, 2, -1),  # -0.5 -> -1
        (3, 2, 2),
        (-3, 2, -2),
        (5, 2, 3),  # not banker's rounding: 2.5 -> 3
        (-5, 2, -3),
        (7, 3, 2),
        (-7, 3, -2),
        (8, 3, 3),
        (0, 7, 0),
        (42, 1, 42),
    ],
)
def test_round_half_away_from_zero(numerator: int, denominator: int, expected: int) -> None:
    assert round_half_away(numerator, denominator) == expected


def test_round_half_away_accepts_a_fraction() -> None:
    assert round_half_away(Fraction(44700, 2)) == 22350
    assert round_half_away(Fraction(-149, 2)) == -75
    assert round_half_away(Fraction(1, 4)) == 0


@pytest.mark.parametrize("bad", [0, -2])
def test_round_half_away_needs_a_positive_denominator(bad: int) -> None:
    with pytest.raises(ValueError):
        round_half_away(1, bad)


def test_round_half_away_refuses_floats() -> None:
    with pytest.raises(TypeError):
        round_half_away(0.5)  # type: ignore[arg-type]


@given(st.integers(-(10**12), 10**12), st.integers(1, 10**9))
def test_round_half_away_is_nearest_with_halves_away_from_zero(n: int, d: int) -> None:
    exact = Fraction(n, d)
    rounded = round_half_away(n, d)
    assert abs(rounded - exact) <= Fraction(1, 2)
    if abs(rounded - exact) == Fraction(1, 2):
        assert abs(rounded) > abs(exact)


@given(st.integers(-(10**12), 10**12), st.integers(1, 10**9))
def test_round_half_away_is_symmetric(n: int, d: int) -> None:
    assert round_half_away(-n, d) == -round_half_away(n, d)


def test_currency_exponent() -> None:
    assert currency_exponent("USD") == 2
    assert currency_exponent("EUR") == 2
    assert currency_exponent("JPY") == 0
    assert currency_exponent("usd") == 2


def test_format_money() -> None:
    assert format_money(74500, "USD") == "$745.00"
    assert format_money(-5000, "USD") == "-$50.00"
    assert format_money(1, "USD") == "$0.01"
    assert format_money(1500, "JPY") == "¥1,500"
    assert format_money(74500, "EUR", locale="de_DE") == "745,00\xa0€"
