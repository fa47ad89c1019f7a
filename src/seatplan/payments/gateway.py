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


def get_gateway() -> Gateway:
    path = getattr(settings, "PAYMENT_GATEWAY", "seatplan.payments.sandbox.SandboxGateway")
    return import_string(path)()
