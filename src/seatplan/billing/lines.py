"""The lines of a quote or an invoice: charges, credits for unused time, discounts."""

from dataclasses import dataclass
from datetime import datetime

from seatplan.billing.discounts import DiscountTerms, discount_amount
from seatplan.billing.money import format_money
from seatplan.billing.periods import add_cycles

CYCLE_LABELS = {"month": "monthly", "year": "annual"}


@dataclass(frozen=True)
class Line:
    """One line of a quote or an invoice."""

    kind: str  # "charge" | "credit" | "discount"
    description: str
    quantity: int
    unit_amount: int  # the full per-period unit amount (discount line: the amount itself)
    amount: int  # charge > 0, credit < 0, discount < 0
    period_start: datetime | None
    period_end: datetime | None
    proration: bool


def unit_label(quantity: int, product_name: str, cycle: str) -> str:
    """E.g. "3 × TestCloud session (monthly)"."""
    return f"{quantity} × {product_name} session ({CYCLE_LABELS[cycle]})"


def discount_label(terms: DiscountTerms, currency: str) -> str:
    """E.g. "10% off" or "$50.00 off"."""
    if terms.percent_off is not None:
        # normalize() drops trailing zeros; ":f" keeps 10 from printing as 1E+1.
        return f"{terms.percent_off.normalize():f}% off"
    assert terms.amount_off is not None  # guaranteed by DiscountTerms
    return f"{format_money(terms.amount_off, terms.currency or currency)} off"


def new_period_charge(now: datetime, product_name: str, cycle: str, quantity: int, unit_amount: int) -> Line:
    """The full-price charge of a period that starts now."""
    return Line(
        kind="charge",
        description=unit_label(quantity, product_name, cycle),
        quantity=quantity,
        unit_amount=unit_amount,
        amount=quantity * unit_amount,
        period_start=now,
        period_end=add_cycles(now, cycle, 1),
        proration=False,
    )


def discount_and_line(terms: DiscountTerms | None, charge_total: int, currency: str) -> tuple[int, Line | None]:
    """The discount on Σ charges (never on credits) and its line, if any."""
    amount = discount_amount(terms, charge_total) if terms is not None else 0
    if terms is None or amount == 0:
        return 0, None
    line = Line(
        kind="discount",
        description=f"Discount {terms.code} ({discount_label(terms, currency)})",
        quantity=1,
        unit_amount=amount,
        amount=amount,
        period_start=None,
        period_end=None,
        proration=False,
    )
    return amount, line
