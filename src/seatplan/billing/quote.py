"""The quote maths of a checkout: lines, discount, credit and the resulting terms (SPEC §4.1)."""

from dataclasses import dataclass
from datetime import datetime

from seatplan.billing.discounts import (
    DiscountInForce,
    DiscountTerms,
    applies_at_next_renewal,
    discount_amount,
    full_period_discount_for_prorated,
    in_force_after_checkout,
)
from seatplan.billing.errors import BillingError
from seatplan.billing.lines import (
    CYCLE_LABELS,
    Line,
    discount_and_line,
    new_period_charge,
    unit_label,
)
from seatplan.billing.periods import seconds_between
from seatplan.billing.proration import prorate
from seatplan.billing.rules import change_kind, check_billing_cycle, check_quantity

__all__ = [
    "Change",
    "CurrentTerms",
    "Line",
    "PriceTerms",
    "QuoteResult",
    "quote_change",
    "quote_new",
]


@dataclass(frozen=True)
class PriceTerms:
    """A catalog price: per unit, per cycle, in one currency."""

    billing_cycle: str  # "month" | "year"
    unit_amount: int
    currency: str


@dataclass(frozen=True)
class CurrentTerms:
    """The live subscription being changed."""

    billing_cycle: str
    quantity: int
    unit_amount: int
    currency: str
    anchor: datetime  # start of the anchored series of periods
    period_start: datetime
    period_end: datetime
    period_value: int  # paid for the whole current period, after discounts: the base of credits
    is_trial: bool
    status: str  # "active" | "past_due" | "ended"
    auto_renew: bool
    scheduled_quantity: int | None
    discount: DiscountInForce | None


@dataclass(frozen=True)
class Change:
    """What the customer asks for at checkout."""

    billing_cycle: str
    quantity: int  # the new total of sessions


@dataclass(frozen=True)
class QuoteResult:
    """The money of a checkout and the subscription as it will stand after it succeeds."""

    lines: tuple[Line, ...]
    subtotal: int  # Σ charge and credit lines
    discount_total: int  # the discount line or 0 (<= 0)
    tax: int  # 0 in this version
    total: int  # subtotal + discount_total + tax
    credit_applied: int  # min(credit_balance, max(total, 0))
    amount_due: int  # max(total - credit_applied, 0)
    credit_balance_change: int  # -credit_applied, or +|total| when total < 0
    new_billing_cycle: str
    new_quantity: int
    new_unit_amount: int
    new_anchor: datetime
    new_period_start: datetime
    new_period_end: datetime
    new_period_value: int
    new_discount: DiscountInForce | None
    starts_new_period: bool  # new subscription, monthly -> annual, trial conversion
    next_renewal_at: datetime | None  # None when it will not renew
    next_renewal_amount: int | None  # before account credit
    new_auto_renew: bool  # a trial conversion turns renewal on; upgrades keep it as it was


@dataclass(frozen=True)
class _After:
    """The new_* part of a QuoteResult, gathered before the money is summed."""

    billing_cycle: str
    quantity: int
    unit_amount: int
    anchor: datetime
    period_start: datetime
    period_end: datetime
    period_value: int
    discount: DiscountInForce | None
    starts_new_period: bool
    auto_renew: bool


def _check_code_currency(code: DiscountTerms | None, currency: str) -> None:
    """Refuse an amount-off code in another currency than the subscription's."""
    if code is not None and code.amount_off is not None and code.currency != currency:
        raise BillingError(
            "discount_not_applicable",
            f"Discount code {code.code} is for {code.currency}, not {currency}.",
            param="discount_code",
        )


def _applied_terms(code: DiscountTerms | None, in_force: DiscountInForce | None) -> DiscountTerms | None:
    """A code entered at checkout wins; without one, the discount in force applies."""
    # "In force" means it covers the current period (even at 0 remaining cycles), and a checkout
    # without a code leaves it unchanged: upgrades, trial conversion and annual switch alike.
    if code is not None:
        return code
    return in_force.terms if in_force is not None else None


def _require_within_period(current: CurrentTerms, now: datetime) -> None:
    """A change is priced inside the current period; past its end, renewal must run first."""
    if not current.period_start <= now < current.period_end:
        raise ValueError("now is outside the subscription's current period")


def _result(
    charges_and_credits: tuple[Line, ...],
    discount_line: Line | None,
    credit_balance: int,
    after: _After,
) -> QuoteResult:
    """Sum the lines, apply account credit and project the next renewal."""
    if credit_balance < 0:
        raise ValueError("credit_balance must not be negative")
    subtotal = sum(line.amount for line in charges_and_credits)
    discount_total = discount_line.amount if discount_line is not None else 0
    tax = 0  # no tax rates in this version (§4.1)
    total = subtotal + discount_total + tax
    credit_applied = min(credit_balance, max(total, 0))
    # A negative total (credit larger than the charges) goes to the account's balance.
    credit_balance_change = -credit_applied if total >= 0 else -total
    next_renewal_at: datetime | None = None
    next_renewal_amount: int | None = None
    if after.auto_renew:
        # Checkouts clear any scheduled decrease, so the renewal bills the new quantity.
        renewal_charge = after.quantity * after.unit_amount
        renewal_terms = applies_at_next_renewal(after.discount)
        renewal_discount = discount_amount(renewal_terms, renewal_charge) if renewal_terms else 0
        next_renewal_at = after.period_end
        next_renewal_amount = renewal_charge + renewal_discount
    lines = charges_and_credits + ((discount_line,) if discount_line is not None else ())
    return QuoteResult(
        lines=lines,
        subtotal=subtotal,
        discount_total=discount_total,
        tax=tax,
        total=total,
        credit_applied=credit_applied,
        amount_due=max(total - credit_applied, 0),
        credit_balance_change=credit_balance_change,
        new_billing_cycle=after.billing_cycle,
        new_quantity=after.quantity,
        new_unit_amount=after.unit_amount,
        new_anchor=after.anchor,
        new_period_start=after.period_start,
        new_period_end=after.period_end,
        new_period_value=after.period_value,
        new_discount=after.discount,
        starts_new_period=after.starts_new_period,
        next_renewal_at=next_renewal_at,
        next_renewal_amount=next_renewal_amount,
        new_auto_renew=after.auto_renew,
    )


def _start_new_period(
    *,
    now: datetime,
    cycle: str,
    quantity: int,
    unit_amount: int,
    currency: str,
    credits: tuple[Line, ...],
    code: DiscountTerms | None,
    in_force: DiscountInForce | None,
    auto_renew: bool,
    credit_balance: int,
    product_name: str,
) -> QuoteResult:
    """A full-price period starting now (new, trial conversion, monthly -> annual)."""
    charge = new_period_charge(now, product_name, cycle, quantity, unit_amount)
    discount_value, discount_line = discount_and_line(_applied_terms(code, in_force), charge.amount, currency)
    assert charge.period_end is not None  # set by new_period_charge
    after = _After(
        billing_cycle=cycle,
        quantity=quantity,
        unit_amount=unit_amount,
        anchor=now,
        period_start=now,
        period_end=charge.period_end,
        period_value=charge.amount + discount_value,
        discount=in_force_after_checkout(code, in_force),
        starts_new_period=True,
        auto_renew=auto_renew,
    )
    return _result(credits + (charge,), discount_line, credit_balance, after)


def quote_new(
    *,
    now: datetime,
    price: PriceTerms,
    quantity: int,
    code: DiscountTerms | None,
    credit_balance: int,
    product_name: str,
) -> QuoteResult:
    """Quote a new subscription: a full period from now, anchored at now."""
    check_quantity(quantity)
    check_billing_cycle(price.billing_cycle)
    _check_code_currency(code, price.currency)
    return _start_new_period(
        now=now,
        cycle=price.billing_cycle,
        quantity=quantity,
        unit_amount=price.unit_amount,
        currency=price.currency,
        credits=(),
        code=code,
        in_force=None,
        auto_renew=True,
        credit_balance=credit_balance,
        product_name=product_name,
    )


def _annual_unit_amount(annual_price: PriceTerms | None, currency: str) -> int:
    """The current annual unit price in the subscription's currency, or a refusal."""
    if annual_price is None or annual_price.billing_cycle != "year" or annual_price.currency != currency:
        raise BillingError("price_not_found", f"There is no annual price in {currency}.", param="billing_cycle")
    return annual_price.unit_amount


def _conversion_unit_amount(current: CurrentTerms, change: Change, annual_price: PriceTerms | None) -> int:
    """The unit price a trial converts at: its own monthly price, or the annual price."""
    if change.billing_cycle == "year":
        return _annual_unit_amount(annual_price, current.currency)
    if current.billing_cycle != "month":
        raise BillingError("price_not_found", "There is no monthly price for this trial.", param="billing_cycle")
    return current.unit_amount


def _unused_time_credit(now: datetime, current: CurrentTerms, product_name: str) -> Line:
    """The credit for the rest of the current period, a share of what was paid for it."""
    remaining = seconds_between(now, current.period_end)
    length = seconds_between(current.period_start, current.period_end)
    return Line(
        kind="credit",
        description=f"Unused time on {current.quantity} × {product_name} ({CYCLE_LABELS[current.billing_cycle]})",
        quantity=current.quantity,
        unit_amount=current.unit_amount,
        amount=-prorate(current.period_value, remaining, length),
        period_start=now,
        period_end=current.period_end,
        proration=True,
    )


def _add_sessions(
    *,
    now: datetime,
    current: CurrentTerms,
    change: Change,
    code: DiscountTerms | None,
    credit_balance: int,
    product_name: str,
) -> QuoteResult:
    """More sessions in the same cycle, co-termed with the current period."""
    added = change.quantity - current.quantity
    full_amount = added * current.unit_amount  # a subscription keeps its unit price
    remaining = seconds_between(now, current.period_end)
    length = seconds_between(current.period_start, current.period_end)
    charge = Line(
        kind="charge",
        description=unit_label(added, product_name, current.billing_cycle) + ", prorated",
        quantity=added,
        unit_amount=current.unit_amount,
        amount=prorate(full_amount, remaining, length),
        period_start=now,
        period_end=current.period_end,
        proration=True,
    )
    terms = _applied_terms(code, current.discount)
    if code is None and terms is not None and terms.amount_off is not None:
        # An amount off in force is given once per period, at its start; taken again at every
        # upgrade it would make sessions added one at a time cheaper than the same upgrade at once.
        terms = None
    discount_value, discount_line = discount_and_line(terms, charge.amount, current.currency)
    full_discount = (
        full_period_discount_for_prorated(terms, full_amount, charge.amount, discount_value) if terms is not None else 0
    )
    after = _After(
        billing_cycle=current.billing_cycle,
        quantity=change.quantity,
        unit_amount=current.unit_amount,
        anchor=current.anchor,
        period_start=current.period_start,
        period_end=current.period_end,
        # The whole period's worth, so a later credit is a share of it, not of this charge.
        period_value=current.period_value + full_amount + full_discount,
        discount=in_force_after_checkout(code, current.discount),
        starts_new_period=False,
        auto_renew=current.auto_renew,
    )
    return _result((charge,), discount_line, credit_balance, after)


def quote_change(
    *,
    now: datetime,
    current: CurrentTerms,
    change: Change,
    annual_price: PriceTerms | None,
    code: DiscountTerms | None,
    credit_balance: int,
    product_name: str,
) -> QuoteResult:
    """Quote a change of a live subscription: trial conversion, more sessions, or annual."""
    kind = change_kind(current, change)
    _check_code_currency(code, current.currency)
    if kind == "convert_trial":
        return _start_new_period(
            now=now,
            cycle=change.billing_cycle,
            quantity=change.quantity,
            unit_amount=_conversion_unit_amount(current, change, annual_price),
            currency=current.currency,
            credits=(),  # a trial was free: nothing to credit, nothing prorated (§4.6)
            code=code,
            in_force=current.discount,
            auto_renew=True,  # the paid subscription renews like any new one
            credit_balance=credit_balance,
            product_name=product_name,
        )
    _require_within_period(current, now)
    if kind == "add_sessions":
        return _add_sessions(
            now=now,
            current=current,
            change=change,
            code=code,
            credit_balance=credit_balance,
            product_name=product_name,
        )
    annual_unit_amount = _annual_unit_amount(annual_price, current.currency)
    return _start_new_period(
        now=now,
        cycle="year",
        quantity=change.quantity,
        unit_amount=annual_unit_amount,
        currency=current.currency,
        credits=(_unused_time_credit(now, current, product_name),),
        code=code,
        in_force=current.discount,
        auto_renew=current.auto_renew,
        credit_balance=credit_balance,
        product_name=product_name,
    )
