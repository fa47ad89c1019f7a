"""Translation between rows and the domain's dataclasses."""

from dataclasses import fields
from datetime import datetime

from seatplan.billing.discounts import DiscountInForce
from seatplan.billing.quote import CurrentTerms, Line, QuoteResult
from seatplan.catalog.models import DiscountCode
from seatplan.catalog.selectors import discount_terms
from seatplan.subscriptions.models import Subscription


def discount_in_force(subscription: Subscription) -> DiscountInForce | None:
    if subscription.discount_code is None:
        return None
    return DiscountInForce(
        terms=discount_terms(subscription.discount_code),
        remaining_cycles=subscription.discount_remaining_cycles,
    )


def current_terms(subscription: Subscription) -> CurrentTerms:
    return CurrentTerms(
        billing_cycle=subscription.billing_cycle,
        quantity=subscription.quantity,
        unit_amount=subscription.unit_amount,
        currency=subscription.currency,
        anchor=subscription.anchor,
        period_start=subscription.current_period_start,
        period_end=subscription.current_period_end,
        period_value=subscription.period_value,
        is_trial=subscription.is_trial,
        status=subscription.status,
        auto_renew=subscription.auto_renew,
        scheduled_quantity=subscription.scheduled_quantity,
        discount=discount_in_force(subscription),
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


_LINE_FIELDS = [f.name for f in fields(Line)]


def line_to_json(line: Line) -> dict:
    data = {name: getattr(line, name) for name in _LINE_FIELDS}  # all plain values: no deep copy (asdict)
    data["period_start"] = _iso(line.period_start)
    data["period_end"] = _iso(line.period_end)
    return data


def line_from_json(data: dict) -> dict:
    """A stored quote line as InvoiceLine fields."""
    return {
        **data,
        "period_start": datetime.fromisoformat(data["period_start"]) if data["period_start"] else None,
        "period_end": datetime.fromisoformat(data["period_end"]) if data["period_end"] else None,
    }


def outcome_to_json(result: QuoteResult, discount_code_id: str | None) -> dict:
    """What the subscription becomes after checkout, fixed with the quote."""
    return {
        "billing_cycle": result.new_billing_cycle,
        "quantity": result.new_quantity,
        "unit_amount": result.new_unit_amount,
        "anchor": result.new_anchor.isoformat(),
        "period_start": result.new_period_start.isoformat(),
        "period_end": result.new_period_end.isoformat(),
        "period_value": result.new_period_value,
        "discount_code": discount_code_id,
        "discount_remaining_cycles": result.new_discount.remaining_cycles if result.new_discount else None,
        "credit_balance_change": result.credit_balance_change,
    }


def discount_code_id_for(result: QuoteResult, entered: DiscountCode | None, sub: Subscription | None) -> str | None:
    """The row of the discount that will be in force after checkout."""
    if result.new_discount is None:
        return None
    if entered is not None and result.new_discount.terms.code == entered.code:
        return entered.pk
    return sub.discount_code_id if sub else None
