"""Quote maths on the demo catalog: exact figures and every refusal (SPEC §4.1, §4.3, §4.6)."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from seatplan.billing.discounts import DiscountInForce, DiscountTerms
from seatplan.billing.errors import BillingError
from seatplan.billing.quote import (
    Change,
    CurrentTerms,
    Line,
    PriceTerms,
    QuoteResult,
    quote_change,
    quote_new,
)

MONTHLY = PriceTerms("month", 14900, "USD")
ANNUAL = PriceTerms("year", 149000, "USD")
WELCOME10 = DiscountTerms("WELCOME10", Decimal("10"), None, None, "once", None)
ANNUAL15 = DiscountTerms("ANNUAL15", Decimal("15"), None, None, "forever", None)
SPRING20x3 = DiscountTerms("SPRING20", Decimal("20"), None, None, "repeating", 3)
SAVE50 = DiscountTerms("SAVE50", None, 5000, "USD", "once", None)
FEB_1 = datetime(2027, 2, 1, tzinfo=UTC)
MID_FEB = datetime(2027, 2, 15, tzinfo=UTC)  # half of a 28-day February
MAR_1 = datetime(2027, 3, 1, tzinfo=UTC)


def monthly_subscription(**overrides: object) -> CurrentTerms:
    """The demo subscription: 5 sessions monthly at $149, Feb 1 - Mar 1 2027, paid in full."""
    terms = CurrentTerms(
        billing_cycle="month",
        quantity=5,
        unit_amount=14900,
        currency="USD",
        anchor=datetime(2027, 1, 1, tzinfo=UTC),
        period_start=FEB_1,
        period_end=MAR_1,
        period_value=74500,
        is_trial=False,
        status="active",
        auto_renew=True,
        scheduled_quantity=None,
        discount=None,
    )
    return replace(terms, **overrides)  # type: ignore[arg-type]


def change(
    current: CurrentTerms,
    cycle: str,
    quantity: int,
    *,
    code: DiscountTerms | None = None,
    credit_balance: int = 0,
    now: datetime = MID_FEB,
    annual_price: PriceTerms | None = ANNUAL,
) -> QuoteResult:
    """Quote a change of current at mid-February with the demo annual price."""
    return quote_change(
        now=now,
        current=current,
        change=Change(cycle, quantity),
        annual_price=annual_price,
        code=code,
        credit_balance=credit_balance,
        product_name="TestCloud",
    )


def amounts(result: QuoteResult) -> list[tuple[str, int]]:
    """(kind, amount) of every line."""
    return [(line.kind, line.amount) for line in result.lines]


# --- new subscriptions -------------------------------------------------------------------


def test_new_monthly_subscription_on_jan_31() -> None:
    now = datetime(2027, 1, 31, 10, tzinfo=UTC)
    result = quote_new(now=now, price=MONTHLY, quantity=5, code=None, credit_balance=0, product_name="TestCloud")
    feb_28 = datetime(2027, 2, 28, 10, tzinfo=UTC)
    assert result.lines == (Line("charge", "5 × TestCloud session (monthly)", 5, 14900, 74500, now, feb_28, False),)
    assert (result.subtotal, result.discount_total, result.tax, result.total) == (
        74500,
        0,
        0,
        74500,
    )
    assert (result.credit_applied, result.amount_due, result.credit_balance_change) == (0, 74500, 0)
    assert (result.new_anchor, result.new_period_start, result.new_period_end) == (now, now, feb_28)
    assert result.new_period_value == 74500
    assert result.starts_new_period is True
    assert (result.next_renewal_at, result.next_renewal_amount) == (feb_28, 74500)


def test_new_subscription_with_welcome10_once() -> None:
    result = quote_new(
        now=FEB_1,
        price=MONTHLY,
        quantity=5,
        code=WELCOME10,
        credit_balance=0,
        product_name="TestCloud",
    )
    assert amounts(result) == [("charge", 74500), ("discount", -7450)]
    discount = result.lines[-1]
    assert discount.description == "Discount WELCOME10 (10% off)"
    assert (discount.quantity, discount.unit_amount, discount.proration) == (1, -7450, False)
    assert (result.subtotal, result.discount_total, result.total) == (74500, -7450, 67050)
    assert result.new_period_value == 67050
    # A once code is spent: nothing in force, the renewal is at full price.
    assert result.new_discount is None
    assert result.next_renewal_amount == 74500


def test_new_subscription_with_an_amount_off_code() -> None:
    result = quote_new(
        now=FEB_1,
        price=MONTHLY,
        quantity=1,
        code=SAVE50,
        credit_balance=0,
        product_name="TestCloud",
    )
    assert amounts(result) == [("charge", 14900), ("discount", -5000)]
    assert result.lines[-1].description == "Discount SAVE50 ($50.00 off)"


def test_new_subscription_uses_account_credit() -> None:
    some = quote_new(
        now=FEB_1,
        price=MONTHLY,
        quantity=5,
        code=None,
        credit_balance=10000,
        product_name="TestCloud",
    )
    assert (some.credit_applied, some.amount_due, some.credit_balance_change) == (
        10000,
        64500,
        -10000,
    )
    plenty = quote_new(
        now=FEB_1,
        price=MONTHLY,
        quantity=5,
        code=None,
        credit_balance=100000,
        product_name="TestCloud",
    )
    assert (plenty.credit_applied, plenty.amount_due, plenty.credit_balance_change) == (
        74500,
        0,
        -74500,
    )


@pytest.mark.parametrize("quantity", [0, -1, 1001])
def test_new_subscription_quantity_is_bounded(quantity: int) -> None:
    with pytest.raises(BillingError) as refused:
        quote_new(
            now=FEB_1,
            price=MONTHLY,
            quantity=quantity,
            code=None,
            credit_balance=0,
            product_name="TestCloud",
        )
    assert (refused.value.code, refused.value.param) == ("quantity_invalid", "quantity")


# --- more sessions in the same cycle -----------------------------------------------------


def test_demo_upgrade_from_5_to_8_sessions_at_mid_period() -> None:
    result = change(monthly_subscription(scheduled_quantity=3), "month", 8)
    assert result.lines == (
        Line(
            "charge",
            "3 × TestCloud session (monthly), prorated",
            3,
            14900,
            22350,
            MID_FEB,
            MAR_1,
            True,
        ),
    )
    assert (result.total, result.amount_due) == (22350, 22350)
    # The period does not move; its value is now 8 full sessions.
    assert (result.new_anchor, result.new_period_start, result.new_period_end) == (
        datetime(2027, 1, 1, tzinfo=UTC),
        FEB_1,
        MAR_1,
    )
    assert result.new_period_value == 8 * 14900
    assert result.starts_new_period is False
    # The upgrade cleared the scheduled decrease to 3: the renewal bills 8 sessions.
    assert (result.next_renewal_at, result.next_renewal_amount) == (MAR_1, 119200)


def test_upgrade_keeps_the_subscriptions_unit_price() -> None:
    old_price = monthly_subscription(unit_amount=9900, period_value=49500)
    result = change(old_price, "month", 6, annual_price=None)
    assert (result.lines[0].unit_amount, result.lines[0].amount) == (9900, 4950)
    assert result.new_unit_amount == 9900


def test_upgrade_with_auto_renew_off_will_not_renew() -> None:
    result = change(monthly_subscription(auto_renew=False), "month", 8)
    assert (result.next_renewal_at, result.next_renewal_amount) == (None, None)
    assert result.new_auto_renew is False


def test_upgrade_applies_the_discount_in_force() -> None:
    current = monthly_subscription(discount=DiscountInForce(ANNUAL15, None), period_value=74500 - 11175)
    result = change(current, "month", 8)
    # 15% of 22350 = 3352.5 -> 3353 (half away from zero).
    assert amounts(result) == [("charge", 22350), ("discount", -3353)]
    assert result.lines[-1].description == "Discount ANNUAL15 (15% off)"
    assert result.new_period_value == 8 * 14900 - 17880  # 8 sessions less 15%
    assert result.new_discount == DiscountInForce(ANNUAL15, None)
    assert result.next_renewal_amount == 119200 - 17880


def test_a_code_at_upgrade_replaces_the_discount_in_force_for_that_checkout() -> None:
    in_force = DiscountInForce(ANNUAL15, None)
    result = change(monthly_subscription(discount=in_force), "month", 8, code=WELCOME10)
    assert amounts(result) == [("charge", 22350), ("discount", -2235)]
    assert result.new_discount == in_force  # a once code leaves the one in force as it was


def test_a_repeating_code_at_upgrade_counts_this_period_as_cycle_1() -> None:
    result = change(monthly_subscription(), "month", 8, code=SPRING20x3)
    assert result.new_discount == DiscountInForce(SPRING20x3, 2)
    assert result.next_renewal_amount == 119200 - 23840
    one_cycle = replace(SPRING20x3, duration_in_cycles=1)
    last = change(monthly_subscription(), "month", 8, code=one_cycle)
    assert last.new_discount == DiscountInForce(one_cycle, 0)
    assert last.next_renewal_amount == 119200


def test_an_amount_off_code_at_upgrade_counts_at_its_full_period_worth() -> None:
    result = change(monthly_subscription(), "month", 8, code=SAVE50)
    assert amounts(result) == [("charge", 22350), ("discount", -5000)]
    # $50 off half a period is worth $100 off the whole one.
    assert result.new_period_value == 74500 + 44700 - 10000


def test_upgrade_of_an_annual_subscription() -> None:
    current = monthly_subscription(
        billing_cycle="year",
        unit_amount=149000,
        period_value=745000,
        anchor=datetime(2027, 1, 1, tzinfo=UTC),
        period_start=datetime(2027, 1, 1, tzinfo=UTC),
        period_end=datetime(2028, 1, 1, tzinfo=UTC),
    )
    result = change(current, "year", 6, now=datetime(2027, 7, 2, 12, tzinfo=UTC))
    # 182.5 of 365 days remain: exactly half.
    assert amounts(result) == [("charge", 74500)]
    assert result.lines[0].description == "1 × TestCloud session (annual), prorated"


# --- monthly to annual -------------------------------------------------------------------


def test_monthly_to_annual_with_a_credit_for_unused_time() -> None:
    current = monthly_subscription(quantity=8, period_value=119200)
    result = change(current, "year", 8, credit_balance=1000)
    feb_15_2028 = datetime(2028, 2, 15, tzinfo=UTC)
    assert result.lines == (
        Line(
            "credit",
            "Unused time on 8 × TestCloud (monthly)",
            8,
            14900,
            -59600,
            MID_FEB,
            MAR_1,
            True,
        ),
        Line(
            "charge",
            "8 × TestCloud session (annual)",
            8,
            149000,
            1192000,
            MID_FEB,
            feb_15_2028,
            False,
        ),
    )
    assert (result.subtotal, result.discount_total, result.total) == (1132400, 0, 1132400)
    assert (result.credit_applied, result.amount_due, result.credit_balance_change) == (
        1000,
        1131400,
        -1000,
    )
    assert result.new_billing_cycle == "year"
    assert (result.new_anchor, result.new_period_start, result.new_period_end) == (
        MID_FEB,
        MID_FEB,
        feb_15_2028,
    )
    assert (result.new_unit_amount, result.new_period_value) == (149000, 1192000)
    assert result.starts_new_period is True
    assert (result.next_renewal_at, result.next_renewal_amount) == (feb_15_2028, 1192000)


def test_monthly_to_annual_with_annual15_forever() -> None:
    result = change(monthly_subscription(), "year", 5, code=ANNUAL15)
    # Credits are never discounted: 15% of the annual charge only.
    assert amounts(result) == [("credit", -37250), ("charge", 745000), ("discount", -111750)]
    assert (result.subtotal, result.total) == (707750, 596000)
    assert result.new_period_value == 633250
    assert result.new_discount == DiscountInForce(ANNUAL15, None)
    assert result.next_renewal_amount == 633250


def test_monthly_to_annual_credit_is_what_was_paid_for_the_period() -> None:
    paid_less = monthly_subscription(discount=DiscountInForce(ANNUAL15, None), period_value=63325)
    result = change(paid_less, "year", 5)
    assert result.lines[0].amount == -31663  # half of 63325 = 31662.5, away from zero
    # Without a code, the discount in force applies to the new period and stays unchanged.
    assert result.lines[-1].amount == -111750
    assert result.new_discount == DiscountInForce(ANNUAL15, None)


def test_a_discount_in_force_on_its_last_cycle_applies_to_the_switch_then_is_dropped() -> None:
    last_cycle = DiscountInForce(SPRING20x3, 0)
    result = change(monthly_subscription(discount=last_cycle), "year", 5)
    assert result.lines[-1].amount == -149000
    assert result.new_discount == last_cycle
    assert result.next_renewal_amount == 745000


def test_a_negative_total_goes_to_the_account_credit_balance() -> None:
    free = DiscountTerms("FREEYEAR", Decimal("100"), None, None, "once", None)
    result = change(monthly_subscription(), "year", 5, code=free, credit_balance=500)
    assert amounts(result) == [("credit", -37250), ("charge", 745000), ("discount", -745000)]
    assert result.total == -37250
    assert (result.credit_applied, result.amount_due, result.credit_balance_change) == (0, 0, 37250)


def test_monthly_to_annual_with_auto_renew_off_stays_off() -> None:
    result = change(monthly_subscription(auto_renew=False), "year", 5)
    assert (result.next_renewal_at, result.next_renewal_amount, result.new_auto_renew) == (
        None,
        None,
        False,
    )


# --- trial conversion --------------------------------------------------------------------


def trial(**overrides: object) -> CurrentTerms:
    """A free 2-session trial, Feb 10 - Feb 24 2027."""
    return monthly_subscription(
        quantity=2,
        period_value=0,
        is_trial=True,
        auto_renew=False,
        period_start=datetime(2027, 2, 10, tzinfo=UTC),
        period_end=datetime(2027, 2, 24, tzinfo=UTC),
        **overrides,
    )


def test_trial_converts_to_monthly_at_full_price_from_now() -> None:
    result = change(trial(), "month", 3)
    assert result.lines == (
        Line(
            "charge",
            "3 × TestCloud session (monthly)",
            3,
            14900,
            44700,
            MID_FEB,
            datetime(2027, 3, 15, tzinfo=UTC),
            False,
        ),
    )
    assert result.new_anchor == MID_FEB
    assert result.starts_new_period is True
    # The paid subscription renews, whatever the trial's flag was.
    assert result.new_auto_renew is True
    assert result.next_renewal_amount == 44700


def test_trial_converts_to_annual_with_fewer_sessions_and_a_code() -> None:
    result = change(trial(), "year", 1, code=WELCOME10)
    assert amounts(result) == [("charge", 149000), ("discount", -14900)]
    assert result.new_unit_amount == 149000


def test_trial_converts_at_the_same_configuration() -> None:
    assert change(trial(), "month", 2).total == 29800


def test_trial_to_annual_needs_an_annual_price() -> None:
    with pytest.raises(BillingError) as refused:
        change(trial(), "year", 2, annual_price=None)
    assert refused.value.code == "price_not_found"


# --- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "cycle", "quantity", "code", "expected"),
    [
        (monthly_subscription(status="ended"), "month", 8, None, ("subscription_ended", None)),
        (
            monthly_subscription(status="past_due"),
            "month",
            8,
            None,
            ("subscription_past_due", None),
        ),
        # The status is judged before the quantity.
        (
            monthly_subscription(status="past_due"),
            "month",
            0,
            None,
            ("subscription_past_due", None),
        ),
        (monthly_subscription(), "month", 0, None, ("quantity_invalid", "quantity")),
        (monthly_subscription(), "month", 1001, None, ("quantity_invalid", "quantity")),
        (trial(), "month", 1001, None, ("quantity_invalid", "quantity")),
        (
            monthly_subscription(billing_cycle="year", unit_amount=149000),
            "month",
            8,
            None,
            ("annual_to_monthly_not_allowed", "billing_cycle"),
        ),
        (monthly_subscription(), "month", 4, None, ("quantity_decrease_not_allowed", "quantity")),
        (monthly_subscription(), "year", 4, None, ("quantity_decrease_not_allowed", "quantity")),
        (monthly_subscription(), "month", 5, None, ("nothing_to_change", None)),
        # A code alone changes nothing.
        (monthly_subscription(), "month", 5, WELCOME10, ("nothing_to_change", None)),
        (
            monthly_subscription(currency="EUR"),
            "month",
            8,
            SAVE50,
            ("discount_not_applicable", "discount_code"),
        ),
    ],
)
def test_refusals(
    current: CurrentTerms,
    cycle: str,
    quantity: int,
    code: DiscountTerms | None,
    expected: tuple[str, str | None],
) -> None:
    with pytest.raises(BillingError) as refused:
        change(current, cycle, quantity, code=code)
    assert (refused.value.code, refused.value.param) == expected


def test_monthly_to_annual_needs_an_annual_price() -> None:
    for missing in (None, PriceTerms("year", 149000, "EUR"), MONTHLY):
        with pytest.raises(BillingError) as refused:
            change(monthly_subscription(), "year", 5, annual_price=missing)
        assert (refused.value.code, refused.value.param) == ("price_not_found", "billing_cycle")


def test_a_change_outside_the_current_period_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        change(monthly_subscription(), "month", 8, now=MAR_1)


def test_amount_off_in_force_is_not_taken_again_by_upgrades_within_the_period():
    forever50 = DiscountTerms("FOREVER50", None, 5000, "USD", "forever", None)
    current = monthly_subscription(discount=DiscountInForce(forever50, None), period_value=74500 - 5000)
    one_step = change(current, "month", 8)
    assert [line.kind for line in one_step.lines] == ["charge"]
    assert one_step.total == 22350  # 3 sessions for half of February, no second $50 off
    assert one_step.next_renewal_amount == 8 * 14900 - 5000  # the next period gets it again


def test_percent_in_force_applies_to_upgrades_within_the_period():
    current = monthly_subscription(discount=DiscountInForce(ANNUAL15, None))
    result = change(current, "month", 8)
    assert result.discount_total == -3353  # 15 % of 22350 = 3352.5, rounded half away from zero
