"""Anchored periods: month ends, leap years, whole seconds."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatplan.billing.periods import add_cycles, next_period, period_containing, seconds_between


def utc(*args: int) -> datetime:
    """A UTC datetime."""
    return datetime(*args, tzinfo=UTC)


JAN_31_2027 = utc(2027, 1, 31, 9, 30)


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, utc(2027, 1, 31, 9, 30)),
        (1, utc(2027, 2, 28, 9, 30)),
        (2, utc(2027, 3, 31, 9, 30)),
        (3, utc(2027, 4, 30, 9, 30)),
        (13, utc(2028, 2, 29, 9, 30)),
        (-1, utc(2026, 12, 31, 9, 30)),
    ],
)
def test_monthly_from_jan_31_clamps_without_drift(n: int, expected: datetime) -> None:
    assert add_cycles(JAN_31_2027, "month", n) == expected


def test_monthly_from_jan_31_in_a_leap_year() -> None:
    assert add_cycles(utc(2028, 1, 31), "month", 1) == utc(2028, 2, 29)
    assert add_cycles(utc(2028, 1, 31), "month", 2) == utc(2028, 3, 31)


def test_annual_from_feb_29() -> None:
    anchor = utc(2028, 2, 29, 12)
    assert add_cycles(anchor, "year", 1) == utc(2029, 2, 28, 12)
    assert add_cycles(anchor, "year", 2) == utc(2030, 2, 28, 12)
    assert add_cycles(anchor, "year", 4) == utc(2032, 2, 29, 12)


def test_unknown_cycle_is_refused() -> None:
    with pytest.raises(ValueError):
        add_cycles(JAN_31_2027, "week", 1)


def test_naive_and_non_utc_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        add_cycles(datetime(2027, 1, 31), "month", 1)  # noqa: DTZ001
    with pytest.raises(ValueError):
        add_cycles(datetime(2027, 1, 31, tzinfo=timezone(timedelta(hours=2))), "month", 1)


def test_period_containing() -> None:
    assert period_containing(JAN_31_2027, "month", utc(2027, 3, 1)) == (
        utc(2027, 2, 28, 9, 30),
        utc(2027, 3, 31, 9, 30),
    )
    # A boundary belongs to the period it starts.
    assert period_containing(JAN_31_2027, "month", utc(2027, 3, 31, 9, 30)) == (
        utc(2027, 3, 31, 9, 30),
        utc(2027, 4, 30, 9, 30),
    )
    # Just before the anchor's time of day on the 31st is still the February period.
    assert period_containing(JAN_31_2027, "month", utc(2027, 3, 31, 9, 29)) == (
        utc(2027, 2, 28, 9, 30),
        utc(2027, 3, 31, 9, 30),
    )
    assert period_containing(JAN_31_2027, "month", JAN_31_2027) == (
        JAN_31_2027,
        utc(2027, 2, 28, 9, 30),
    )
    assert period_containing(utc(2028, 2, 29), "year", utc(2029, 3, 1)) == (
        utc(2029, 2, 28),
        utc(2030, 2, 28),
    )


def test_period_containing_refuses_an_instant_before_the_anchor() -> None:
    with pytest.raises(ValueError):
        period_containing(JAN_31_2027, "month", utc(2027, 1, 1))


def test_next_period() -> None:
    assert next_period(JAN_31_2027, "month", utc(2027, 2, 28, 9, 30)) == (
        utc(2027, 2, 28, 9, 30),
        utc(2027, 3, 31, 9, 30),
    )
    assert next_period(utc(2028, 2, 29), "year", utc(2031, 2, 28)) == (
        utc(2031, 2, 28),
        utc(2032, 2, 29),
    )


def test_next_period_refuses_an_instant_that_is_not_a_boundary() -> None:
    with pytest.raises(ValueError):
        next_period(JAN_31_2027, "month", utc(2027, 2, 28))


def test_seconds_between() -> None:
    assert seconds_between(utc(2027, 2, 1), utc(2027, 3, 1)) == 28 * 86400
    assert seconds_between(utc(2027, 3, 1), utc(2027, 2, 1)) == -28 * 86400
    # Whole seconds: a fraction of a second does not count.
    assert seconds_between(utc(2027, 2, 1), utc(2027, 2, 1, 0, 0, 1, 999_999)) == 1


anchors = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC))
cycles = st.sampled_from(["month", "year"])


@given(anchors, cycles, st.integers(0, 10 * 366 * 86400))
def test_period_containing_contains_the_instant(anchor: datetime, cycle: str, offset_seconds: int) -> None:
    instant = anchor + timedelta(seconds=offset_seconds)
    start, end = period_containing(anchor, cycle, instant)
    assert start <= instant < end
    assert next_period(anchor, cycle, end)[0] == end
    assert next_period(anchor, cycle, start) == (start, end)


@given(anchors, cycles, st.integers(-200, 200))
def test_boundaries_strictly_increase_and_keep_the_time_of_day(anchor: datetime, cycle: str, n: int) -> None:
    this, following = add_cycles(anchor, cycle, n), add_cycles(anchor, cycle, n + 1)
    assert this < following
    assert this.time() == anchor.time()
    assert this.day <= anchor.day
