"""Renewal maths (SPEC §4.5): the next period by the anchor, scheduled decrease, discount countdown, credit."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from seatplan.billing.discounts import DiscountInForce, DiscountTerms
from seatplan.billing.quote import CurrentTerms
from seatplan.billing.renewal import next_retry_at, reminder_due_at, renewal_compute

SPRING20 = DiscountTerms("SPRING20", Decimal("20"), None, None, "repeating", 3)
SAVE50 = DiscountTerms("SAVE50", None, 5000, "USD", "forever", None)
JAN_31 = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
FEB_28 = datetime(2027, 2, 28, 10, 0, tzinfo=UTC)


def monthly(**overrides: object) -> CurrentTerms:
    """5 sessions at $149 anchored Jan 31 10:00, first period Jan 31 → Feb 28."""
    terms = CurrentTerms(
        billing_cycle="month",
        quantity=5,
        unit_amount=14900,
        currency="USD",
        anchor=JAN_31,
        period_start=JAN_31,
        period_end=FEB_28,
        period_value=74500,
        is_trial=False,
        status="active",
        auto_renew=True,
        scheduled_quantity=None,
        discount=None,
    )
    return replace(terms, **overrides)  # type: ignore[arg-type]


def renew(current: CurrentTerms, credit: int = 0):
    return renewal_compute(current=current, credit_balance=credit, product_name="TestCloud")


def test_full_price_for_the_next_anchored_period():
    result = renew(monthly())
    assert (result.period_start, result.period_end) == (FEB_28, datetime(2027, 3, 31, 10, 0, tzinfo=UTC))
    [line] = result.lines
    assert (line.kind, line.description, line.quantity, line.unit_amount, line.amount, line.proration) == (
        "charge",
        "5 × TestCloud session (monthly)",
        5,
        14900,
        74500,
        False,
    )
    assert (line.period_start, line.period_end) == (result.period_start, result.period_end)
    assert (result.subtotal, result.discount_total, result.tax, result.total) == (74500, 0, 0, 74500)
    assert (result.credit_applied, result.amount_due, result.period_value) == (0, 74500, 74500)


@pytest.mark.parametrize(
    ("anchor", "cycle", "end", "next_end"),
    [
        (JAN_31, "month", datetime(2027, 3, 31, 10, tzinfo=UTC), datetime(2027, 4, 30, 10, tzinfo=UTC)),
        (JAN_31, "month", datetime(2027, 4, 30, 10, tzinfo=UTC), datetime(2027, 5, 31, 10, tzinfo=UTC)),
        (
            datetime(2028, 1, 31, tzinfo=UTC),
            "month",
            datetime(2028, 2, 29, tzinfo=UTC),
            datetime(2028, 3, 31, tzinfo=UTC),
        ),
        (
            datetime(2028, 2, 29, tzinfo=UTC),
            "year",
            datetime(2029, 2, 28, tzinfo=UTC),
            datetime(2030, 2, 28, tzinfo=UTC),
        ),
        (
            datetime(2028, 2, 29, tzinfo=UTC),
            "year",
            datetime(2031, 2, 28, tzinfo=UTC),
            datetime(2032, 2, 29, tzinfo=UTC),
        ),
    ],
)
def test_periods_follow_the_anchor_across_month_ends_and_leap_years(anchor, cycle, end, next_end):
    result = renew(monthly(anchor=anchor, billing_cycle=cycle, period_start=anchor, period_end=end))
    assert (result.period_start, result.period_end) == (end, next_end)


def test_an_end_that_is_not_on_the_anchor_series_is_a_bug():
    with pytest.raises(ValueError, match="boundary"):
        renew(monthly(period_end=FEB_28 + timedelta(hours=1)))


def test_scheduled_decrease_applies_and_is_consumed():
    result = renew(monthly(scheduled_quantity=2))
    assert (result.quantity, result.total, result.lines[0].quantity) == (2, 29800, 2)


def test_repeating_discount_counts_down_and_runs_out():
    current = monthly(discount=DiscountInForce(SPRING20, remaining_cycles=2))
    first = renew(current)
    assert [(li.kind, li.amount) for li in first.lines] == [("charge", 74500), ("discount", -14900)]
    assert (first.total, first.period_value, first.discount.remaining_cycles) == (59600, 59600, 1)
    second = renew(replace(current, period_end=first.period_end, discount=first.discount))
    assert (second.total, second.discount.remaining_cycles) == (59600, 0)
    third = renew(replace(current, period_end=second.period_end, discount=second.discount))
    assert (third.total, third.discount_total, third.discount, len(third.lines)) == (74500, 0, None, 1)


def test_amount_off_forever_is_taken_each_period_and_capped():
    result = renew(monthly(quantity=1, discount=DiscountInForce(SAVE50, None)))
    assert (result.total, result.discount.remaining_cycles) == (14900 - 5000, None)
    tiny = renew(monthly(quantity=1, unit_amount=3000, discount=DiscountInForce(SAVE50, None)))
    assert (tiny.discount_total, tiny.total, tiny.amount_due) == (-3000, 0, 0)


def test_account_credit_is_used_first():
    assert (renew(monthly(), credit=10000).credit_applied, renew(monthly(), credit=10000).amount_due) == (10000, 64500)
    covered = renew(monthly(), credit=100000)
    assert (covered.credit_applied, covered.amount_due, covered.total) == (74500, 0, 74500)


def test_a_trial_never_renews():
    with pytest.raises(ValueError, match="trial"):
        renew(monthly(is_trial=True))


def test_retry_schedule_days_1_3_5_7_then_end():
    renewed = datetime(2027, 3, 1, tzinfo=UTC)
    day = timedelta(days=1)
    assert next_retry_at(renewed, renewed) == renewed + day
    assert next_retry_at(renewed, renewed + day) == renewed + 3 * day
    assert next_retry_at(renewed, renewed + 3 * day) == renewed + 5 * day
    assert next_retry_at(renewed, renewed + 5 * day) == renewed + 7 * day
    assert next_retry_at(renewed, renewed + 7 * day) is None
    assert next_retry_at(renewed, renewed + 2 * day) == renewed + 3 * day  # a late worker takes the next slot


def test_reminders_go_7_days_before_a_renewal_and_3_before_a_trial_ends():
    assert reminder_due_at(FEB_28, is_trial=False) == datetime(2027, 2, 21, 10, tzinfo=UTC)
    assert reminder_due_at(FEB_28, is_trial=True) == datetime(2027, 2, 25, 10, tzinfo=UTC)
