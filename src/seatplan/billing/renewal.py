"""The maths of a renewal invoice (SPEC §4.5): the next period, its charge, discount and credit.

Pure: no Django, no clock. The caller passes the subscription as it stands at the end of its
period and the account's credit balance; the result is the invoice and the subscription after it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from seatplan.billing.discounts import DiscountInForce, in_force_for_renewal
from seatplan.billing.lines import Line, discount_and_line, unit_label
from seatplan.billing.periods import next_period
from seatplan.billing.quote import CurrentTerms

# Retries of a declined renewal charge, counted from the renewal (§4.5); after the last, it ends.
RETRY_DAYS = (1, 3, 5, 7)
# A retryable gateway error (processing_error) is tried again this soon, this many times in a row,
# before it counts as one decline.
ERROR_RETRY_DELAY = timedelta(hours=1)
ERROR_RETRIES = 3
REMINDER_BEFORE = timedelta(days=7)
TRIAL_REMINDER_BEFORE = timedelta(days=3)


@dataclass(frozen=True)
class RenewalResult:
    """A renewal invoice's money and the subscription's next period."""

    lines: tuple[Line, ...]
    subtotal: int
    discount_total: int  # <= 0
    tax: int  # 0 in this version
    total: int
    credit_applied: int  # min(credit balance, total)
    amount_due: int  # total - credit_applied
    period_start: datetime
    period_end: datetime
    quantity: int  # the scheduled decrease, applied
    period_value: int  # the new period's full charge + discount: the base of later credits
    discount: DiscountInForce | None  # in force after this renewal (None once it has run out)


def renewal_compute(*, current: CurrentTerms, credit_balance: int, product_name: str) -> RenewalResult:
    """The invoice that renews `current` for the period starting at its current period end."""
    if credit_balance < 0:
        raise ValueError("credit_balance must not be negative")
    if current.is_trial:
        raise ValueError("a trial does not renew: it ends or is converted by a checkout")
    start, end = next_period(current.anchor, current.billing_cycle, current.period_end)
    quantity = current.scheduled_quantity or current.quantity
    charge = Line(
        kind="charge",
        description=unit_label(quantity, product_name, current.billing_cycle),
        quantity=quantity,
        unit_amount=current.unit_amount,
        amount=quantity * current.unit_amount,
        period_start=start,
        period_end=end,
        proration=False,
    )
    terms, discount_after = in_force_for_renewal(current.discount)
    discount_value, discount_line = discount_and_line(terms, charge.amount, current.currency)
    total = charge.amount + discount_value  # tax is 0; a discount never exceeds the charge
    credit_applied = min(credit_balance, total)
    return RenewalResult(
        lines=(charge,) if discount_line is None else (charge, discount_line),
        subtotal=charge.amount,
        discount_total=discount_value,
        tax=0,
        total=total,
        credit_applied=credit_applied,
        amount_due=total - credit_applied,
        period_start=start,
        period_end=end,
        quantity=quantity,
        period_value=total,
        discount=discount_after,
    )


def next_retry_at(renewed_at: datetime, failed_at: datetime) -> datetime | None:
    """The next scheduled retry after a decline at `failed_at`; None once the last one has failed.

    Retries fall 1, 3, 5 and 7 days after the renewal; a late worker runs the next slot still ahead,
    so a decline at or after day 7 is final.
    """
    for days in RETRY_DAYS:
        slot = renewed_at + timedelta(days=days)
        if slot > failed_at:
            return slot
    return None


def reminder_due_at(period_end: datetime, *, is_trial: bool) -> datetime:
    """When the e-mail before a renewal (7 days) or a trial's end (3 days) goes out."""
    return period_end - (TRIAL_REMINDER_BEFORE if is_trial else REMINDER_BEFORE)
