"""Which change a checkout makes, and the refusals of SPEC §4.1."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from seatplan.billing.errors import BillingError

if TYPE_CHECKING:
    from seatplan.billing.quote import Change, CurrentTerms

ChangeKind = Literal["convert_trial", "add_sessions", "to_annual"]

MIN_QUANTITY = 1
MAX_QUANTITY = 1000
BILLING_CYCLES = ("month", "year")


def check_quantity(quantity: int) -> None:
    """Refuse a number of sessions outside 1..1000."""
    if not MIN_QUANTITY <= quantity <= MAX_QUANTITY:
        raise BillingError(
            "quantity_invalid",
            f"The number of sessions must be between {MIN_QUANTITY} and {MAX_QUANTITY}.",
            param="quantity",
        )


def check_billing_cycle(cycle: str) -> None:
    """Refuse a cycle other than month or year (the API validates it before us)."""
    if cycle not in BILLING_CYCLES:
        raise ValueError(f"unknown billing cycle {cycle!r}")


def _check_status(current: CurrentTerms) -> None:
    """Only an active subscription (trial included) can be changed."""
    if current.status == "ended":
        raise BillingError("subscription_ended", "This subscription has ended and cannot change.")
    if current.status == "past_due":
        raise BillingError("subscription_past_due", "This subscription has an unpaid invoice: pay it first.")
    if current.status != "active":
        raise ValueError(f"unknown subscription status {current.status!r}")


def change_kind(current: CurrentTerms, change: Change) -> ChangeKind:
    """Classify a requested change, refusing it with the first rule it breaks."""
    _check_status(current)
    check_quantity(change.quantity)
    check_billing_cycle(change.billing_cycle)
    if current.is_trial:
        # A checkout on a trial is a purchase: any cycle and quantity may be chosen (§4.6).
        return "convert_trial"
    if current.billing_cycle == "year" and change.billing_cycle == "month":
        raise BillingError(
            "annual_to_monthly_not_allowed",
            "An annual subscription cannot be switched to monthly billing.",
            param="billing_cycle",
        )
    if change.quantity < current.quantity:
        raise BillingError(
            "quantity_decrease_not_allowed",
            "Fewer sessions is not an upgrade: schedule a decrease for the next renewal instead.",
            param="quantity",
        )
    if change.billing_cycle == current.billing_cycle:
        if change.quantity == current.quantity:
            # A discount code alone changes nothing: it rides on a checkout that changes something.
            raise BillingError("nothing_to_change", "This checkout would change nothing.")
        return "add_sessions"
    return "to_annual"
