"""Discount amounts and the life of a discount in force (SPEC §4.3)."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatplan.billing.discounts import (
    DiscountInForce,
    DiscountTerms,
    applies_at_next_renewal,
    discount_amount,
    full_period_discount_for_prorated,
    in_force_after_checkout,
    in_force_for_renewal,
)


def percent(code: str, pct: str, duration: str = "once", cycles: int | None = None) -> DiscountTerms:
    """Percent-off terms."""
    return DiscountTerms(code, Decimal(pct), None, None, duration, cycles)


def amount(code: str, off: int, duration: str = "once", cycles: int | None = None) -> DiscountTerms:
    """Amount-off terms in USD."""
    return DiscountTerms(code, None, off, "USD", duration, cycles)


WELCOME10 = percent("WELCOME10", "10")
ANNUAL15 = percent("ANNUAL15", "15", "forever")
SPRING20x3 = percent("SPRING20", "20", "repeating", 3)
SAVE50 = amount("SAVE50", 5000)


def test_percent_off_is_rounded_once_half_away_from_zero() -> None:
    assert discount_amount(WELCOME10, 74500) == -7450
    assert discount_amount(WELCOME10, 5) == -1  # 0.5 -> 1
    assert discount_amount(percent("X", "12.5"), 14900) == -1863  # 1862.5 -> 1863
    assert discount_amount(percent("ALL", "100"), 74500) == -74500


def test_amount_off_is_capped_at_the_charges() -> None:
    assert discount_amount(SAVE50, 74500) == -5000
    assert discount_amount(SAVE50, 3000) == -3000


def test_no_charge_no_discount() -> None:
    assert discount_amount(WELCOME10, 0) == 0
    assert discount_amount(SAVE50, 0) == 0
    assert discount_amount(SAVE50, -100) == 0


@given(
    st.one_of(
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2).map(
            lambda p: DiscountTerms("P", p, None, None, "once", None)
        ),
        st.integers(1, 10**7).map(lambda off: DiscountTerms("A", None, off, "USD", "once", None)),
    ),
    st.integers(-(10**6), 10**9),
)
def test_a_discount_never_exceeds_the_charges(terms: DiscountTerms, charges: int) -> None:
    off = discount_amount(terms, charges)
    assert off <= 0
    assert charges + off >= 0 or charges <= 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"percent_off": Decimal(10), "amount_off": 100, "currency": "USD"},
        {"percent_off": None, "amount_off": None, "currency": None},
        {"percent_off": Decimal(0), "amount_off": None, "currency": None},
        {"percent_off": Decimal(101), "amount_off": None, "currency": None},
        {"percent_off": None, "amount_off": 100, "currency": None},
        {"percent_off": None, "amount_off": 0, "currency": "USD"},
    ],
)
def test_impossible_terms_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        DiscountTerms(code="BAD", duration="once", duration_in_cycles=None, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("duration", "cycles"), [("repeating", None), ("repeating", 0), ("once", 2), ("weekly", None)])
def test_impossible_durations_are_refused(duration: str, cycles: int | None) -> None:
    with pytest.raises(ValueError):
        percent("BAD", "10", duration, cycles)


def test_full_period_equivalent_of_a_percent_discount() -> None:
    assert full_period_discount_for_prorated(WELCOME10, 44700, 22350, -2235) == -4470


def test_full_period_equivalent_of_an_amount_off_rounds_towards_more_discount() -> None:
    assert full_period_discount_for_prorated(SAVE50, 44700, 22350, -5000) == -10000
    # 1000 * 44700 / 14900 = 3000 exactly; 1000 * 44700 / 14901 = 2999.79... -> 3000
    assert full_period_discount_for_prorated(SAVE50, 44700, 14901, -1000) == -3000
    # Capped at the full amount: the whole prorated charge was taken off.
    assert full_period_discount_for_prorated(SAVE50, 44700, 3000, -3000) == -44700
    assert full_period_discount_for_prorated(SAVE50, 44700, 0, 0) == 0


def test_a_once_code_leaves_the_discount_in_force_as_it_was() -> None:
    in_force = DiscountInForce(ANNUAL15, None)
    assert in_force_after_checkout(WELCOME10, in_force) is in_force
    assert in_force_after_checkout(WELCOME10, None) is None


def test_no_code_leaves_the_discount_in_force_as_it_was() -> None:
    in_force = DiscountInForce(SPRING20x3, 1)
    assert in_force_after_checkout(None, in_force) is in_force


def test_repeating_and_forever_codes_become_the_discount_in_force() -> None:
    old = DiscountInForce(ANNUAL15, None)
    assert in_force_after_checkout(SPRING20x3, old) == DiscountInForce(SPRING20x3, 2)
    assert in_force_after_checkout(ANNUAL15, None) == DiscountInForce(ANNUAL15, None)
    one_cycle = percent("ONE", "5", "repeating", 1)
    assert in_force_after_checkout(one_cycle, None) == DiscountInForce(one_cycle, 0)


def test_forever_applies_at_every_renewal() -> None:
    in_force = DiscountInForce(ANNUAL15, None)
    assert in_force_for_renewal(in_force) == (ANNUAL15, in_force)
    assert applies_at_next_renewal(in_force) == ANNUAL15


def test_repeating_counts_down_then_is_dropped() -> None:
    in_force = in_force_after_checkout(SPRING20x3, None)  # checkout period = cycle 1, 2 left
    applied = []
    for _ in range(4):
        terms, in_force = in_force_for_renewal(in_force)
        applied.append(terms)
    assert applied == [SPRING20x3, SPRING20x3, None, None]
    assert in_force is None


def test_repeating_at_zero_is_still_in_force_but_not_at_the_next_renewal() -> None:
    last = DiscountInForce(SPRING20x3, 0)
    assert applies_at_next_renewal(last) is None
    assert in_force_for_renewal(last) == (None, None)
    assert in_force_for_renewal(DiscountInForce(SPRING20x3, 1)) == (
        SPRING20x3,
        DiscountInForce(SPRING20x3, 0),
    )


def test_nothing_in_force() -> None:
    assert in_force_for_renewal(None) == (None, None)
    assert applies_at_next_renewal(None) is None
