"""The payment gateway interface; processors' errors become our codes in their adapter."""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class SavedCard:
    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class ChargeResult:
    succeeded: bool
    charge_id: str
    failure_code: str = ""  # card_declined | insufficient_funds | processing_error
    failure_message: str = ""

    @property
    def retryable(self) -> bool:
        return self.failure_code == "processing_error"


class Gateway(Protocol):
    name: str
    # True: find_charge sees a charge the moment it is made (the sandbox). False: its record can lag (Stripe's
    # search), so "not found" right after a failed call proves nothing.
    finds_charges_at_once: bool

    def save_card(self, *, number: str, exp_month: int, exp_year: int, cvc: str, now: datetime) -> SavedCard:
        """Turn card details into a token (raises BillingError for a bad card)."""

    def save_token(self, *, token: str, now: datetime) -> SavedCard:
        """Keep a card the processor tokenised in the customer's browser (raises BillingError if it cannot)."""

    def charge(self, *, token: str, amount: int, currency: str, idempotency_key: str, now: datetime) -> ChargeResult:
        """Charge once per key: asking again with the key returns the first result."""

    def find_charge(self, *, idempotency_key: str) -> ChargeResult | None:
        """What happened to a charge made with this key, if it reached the gateway."""

    def refund(self, *, charge_id: str) -> None:
        """Give a whole charge back (a charge that could not be applied)."""


FAILURE_MESSAGES = {
    "card_declined": "The card was declined.",
    "insufficient_funds": "The card has insufficient funds.",
    "processing_error": "The payment could not be processed; please try again.",
    "payment_method_missing": "Add a card before checking out.",
}


class ChargeUnknown(Exception):  # noqa: N818 - a state, not a failure of ours
    """Neither the call nor the gateway's record can tell yet whether the charge was made."""


def charge_by_key(
    gateway: Gateway, *, token: str, amount: int, currency: str, idempotency_key: str, now: datetime
) -> ChargeResult:
    """Charge once per key; when the call fails midway, the gateway's record of the key decides.

    Raises ChargeUnknown when that record cannot be read, or cannot be trusted yet and shows nothing: the
    attempt then stays pending, and recovery asks again by the same key later.
    """
    try:
        return gateway.charge(token=token, amount=amount, currency=currency, idempotency_key=idempotency_key, now=now)
    except Exception as failure:  # noqa: BLE001 - any failure of the call: the key tells us the truth
        try:
            found = gateway.find_charge(idempotency_key=idempotency_key)
        except Exception as lookup_failure:  # noqa: BLE001
            raise ChargeUnknown(idempotency_key) from lookup_failure
        if found is not None:
            return found
        if not gateway.finds_charges_at_once:
            raise ChargeUnknown(idempotency_key) from failure
        return ChargeResult(
            succeeded=False,
            charge_id="",
            failure_code="processing_error",
            failure_message=FAILURE_MESSAGES["processing_error"],
        )


def get_gateway() -> Gateway:
    path = getattr(settings, "PAYMENT_GATEWAY", "seatplan.payments.sandbox.SandboxGateway")
    return import_string(path)()
