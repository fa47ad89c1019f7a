"""Properties of the quote maths that must hold for any configuration (SPEC §4.1)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from seatplan.billing.discounts import DiscountInForce, DiscountTerms
from seatplan.billing.periods import add_cycles, seconds_between
from seatplan.billing.proration import prorate
from seatplan.billing.quote import Change, CurrentTerms, PriceTerms, QuoteResult, quote_change

ANCHOR = datetime(2027, 1, 31, 10, 15, tzinfo=UTC)  # month-end anchor: periods of 28..31 days


def percent_terms(duration: str) -> st.SearchStrategy[DiscountTerms]:
    """Percent-off terms of a duration."""
    cycles = st.integers(1, 6) if duration == "repeating" else st.none()
    return st.builds(
        DiscountTerms,
        code=st.just("P"),
        percent_off=st.decimals(min_value=Decimal("0.5"), max_value=Decimal(100), places=1),
        amount_off=st.none(),
        currency=st.none(),
        duration=st.just(duration),
        duration_in_cycles=cycles,
    )


def amount_terms(duration: str) -> st.SearchStrategy[DiscountTerms]:
    """Amount-off terms (USD) of a duration."""
    cycles = st.integers(1, 6) if duration == "repeating" else st.none()
    return st.builds(
        DiscountTerms,
        code=st.just("A"),
        percent_off=st.none(),
        amount_off=st.integers(1, 10**7),
        currency=st.just("USD"),
        duration=st.just(duration),
        duration_in_cycles=cycles,
    )


durations = st.sampled_from(["once", "repeating", "forever"])
any_terms = durations.flatmap(lambda d: st.one_of(percent_terms(d), amount_terms(d)))
percent_only = durations.flatmap(percent_terms)


@st.composite
def monthly_subscriptions(
    draw: st.DrawFn, discounts: st.SearchStrategy[DiscountTerms] = any_terms
) -> tuple[CurrentTerms, datetime]:
    """A paid monthly subscription somewhere in its period, and an instant inside that period."""
    n = draw(st.integers(0, 30))
    start, end = add_cycles(ANCHOR, "month", n), add_cycles(ANCHOR, "month", n + 1)
    now = start + timedelta(seconds=draw(st.integers(0, seconds_between(start, end) - 1)))
    quantity = draw(st.integers(1, 999))
    unit_amount = draw(st.integers(1, 10**6))
    full = quantity * unit_amount
    terms = draw(st.none() | discounts)
    in_force = None if terms is None else DiscountInForce(terms, draw(st.none() | st.integers(0, 5)))
    current = CurrentTerms(
        billing_cycle="month",
        quantity=quantity,
        unit_amount=unit_amount,
        currency="USD",
        anchor=ANCHOR,
        period_start=start,
        period_end=end,
        period_value=draw(st.integers(0, full)),  # what was paid, after whatever discount
        is_trial=False,
        status="active",
        auto_renew=draw(st.booleans()),
        scheduled_quantity=None,
        discount=in_force,
    )
    return current, now


def quote(
    current: CurrentTerms,
    now: datetime,
    cycle: str,
    quantity: int,
    code: DiscountTerms | None = None,
    credit_balance: int = 0,
    annual_unit_amount: int = 149000,
) -> QuoteResult:
    """Quote a change at now with an annual price."""
    return quote_change(
        now=now,
        current=current,
        change=Change(cycle, quantity),
        annual_price=PriceTerms("year", annual_unit_amount, "USD"),
        code=code,
        credit_balance=credit_balance,
        product_name="TestCloud",
    )


def after(current: CurrentTerms, result: QuoteResult) -> CurrentTerms:
    """The subscription as a successful checkout of result leaves it."""
    return replace(
        current,
        billing_cycle=result.new_billing_cycle,
        quantity=result.new_quantity,
        unit_amount=result.new_unit_amount,
        anchor=result.new_anchor,
        period_start=result.new_period_start,
        period_end=result.new_period_end,
        period_value=result.new_period_value,
        discount=result.new_discount,
        scheduled_quantity=None,
        auto_renew=result.new_auto_renew,
    )


def sum_of(result: QuoteResult, *kinds: str) -> int:
    """Sum of the lines of these kinds."""
    return sum(line.amount for line in result.lines if line.kind in kinds)


@given(
    monthly_subscriptions(),
    st.sampled_from(["month", "year"]),
    st.integers(0, 500),
    st.none() | any_terms,
    st.integers(0, 10**8),
    st.integers(1, 10**7),
)
def test_the_money_of_any_quote_adds_up(
    subscription: tuple[CurrentTerms, datetime],
    cycle: str,
    added: int,
    code: DiscountTerms | None,
    credit_balance: int,
    annual_unit_amount: int,
) -> None:
    current, now = subscription
    if cycle == "month":
        added = max(added, 1)
    quantity = min(current.quantity + added, 1000)
    result = quote(current, now, cycle, quantity, code, credit_balance, annual_unit_amount)
    charges = sum_of(result, "charge")
    assert result.total == sum(line.amount for line in result.lines)
    assert result.subtotal == sum_of(result, "charge", "credit")
    assert result.discount_total == sum_of(result, "discount")
    assert result.amount_due + result.credit_applied == max(result.total, 0)
    assert 0 <= result.credit_applied <= credit_balance
    assert result.credit_balance_change == (-result.credit_applied if result.total >= 0 else -result.total)
    # A discount takes off at most the charges, never credits, never below zero.
    assert -charges <= result.discount_total <= 0
    assert charges + result.discount_total >= 0
    # A credit is a share of what was paid for this period, never more.
    for line in result.lines:
        if line.kind == "credit":
            assert 0 <= -line.amount <= current.period_value
        elif line.kind == "charge":
            assert line.amount >= 0  # a tiny prorated charge may round to 0
        else:
            assert line.amount < 0  # a discount line is shown only when it takes something off
    assert 0 <= result.new_period_value


@given(monthly_subscriptions(percent_only), st.integers(1, 200), st.integers(1, 200))
def test_an_upgrade_split_in_two_at_the_same_instant_costs_the_same(
    subscription: tuple[CurrentTerms, datetime], first: int, second: int
) -> None:
    current, now = subscription
    target = min(current.quantity + first + second, 1000)
    first = min(first, target - current.quantity - 1)
    if first < 1:
        return  # no room for two upgrades under 1000 sessions
    at_once = quote(current, now, "month", target)
    step_one = quote(current, now, "month", current.quantity + first)
    step_two = quote(after(current, step_one), now, "month", target)
    # Each line is rounded once: the two ways differ by at most one minor unit per line.
    tolerance = len(step_one.lines) + len(step_two.lines)
    assert abs(at_once.total - (step_one.total + step_two.total)) <= tolerance
    # The value of the period they leave behind differs by rounding only, too.
    assert abs(at_once.new_period_value - after(after(current, step_one), step_two).period_value) <= 2


@given(
    st.integers(1, 100),
    st.integers(1, 100),
    st.integers(1, 10**6),
    st.integers(0, 27 * 86400),
    st.integers(0, 27 * 86400),
)
def test_a_second_upgrade_is_credited_from_the_period_value_not_the_prorated_charge(
    quantity: int, added: int, unit_amount: int, t1_offset: int, t2_offset: int
) -> None:
    start = datetime(2027, 2, 1, tzinfo=UTC)
    end = datetime(2027, 3, 1, tzinfo=UTC)
    t1 = start + timedelta(seconds=min(t1_offset, t2_offset))
    t2 = start + timedelta(seconds=max(t1_offset, t2_offset))
    current = CurrentTerms(
        "month",
        quantity,
        unit_amount,
        "USD",
        datetime(2027, 1, 1, tzinfo=UTC),
        start,
        end,
        quantity * unit_amount,
        False,
        "active",
        True,
        None,
        None,
    )
    upgraded = after(current, quote(current, t1, "month", quantity + added))
    assert upgraded.period_value == (quantity + added) * unit_amount
    switch = quote(upgraded, t2, "year", quantity + added)
    (credit,) = [line for line in switch.lines if line.kind == "credit"]
    length, remaining = seconds_between(start, end), seconds_between(t2, end)
    assert credit.amount == -prorate((quantity + added) * unit_amount, remaining, length)
    assert credit.quantity == quantity + added
    # Never more than was paid for the rest of the period: the original period plus the upgrade.
    paid = current.period_value + sum_of(quote(current, t1, "month", quantity + added), "charge")
    assert -credit.amount <= paid


@given(monthly_subscriptions(), st.integers(1, 100), st.integers(1, 100))
def test_credits_after_an_upgrade_never_exceed_the_period_value(
    subscription: tuple[CurrentTerms, datetime], added: int, later_seconds: int
) -> None:
    current, now = subscription
    quantity = min(current.quantity + added, 1000)
    if quantity == current.quantity:
        return
    upgraded = after(current, quote(current, now, "month", quantity))
    later = min(now + timedelta(seconds=later_seconds), current.period_end - timedelta(seconds=1))
    switch = quote(upgraded, later, "year", quantity)
    assert 0 <= -sum_of(switch, "credit") <= upgraded.period_value
