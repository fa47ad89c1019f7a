"""The gateway for a real card processor: Stripe, through its official Python SDK (`stripe`).

Chosen with `SEATPLAN_PAYMENT_GATEWAY=stripe` and `SEATPLAN_STRIPE_SECRET_KEY`. A saved card is a Stripe
Customer with the card's PaymentMethod attached (the token is "cus_… pm_…"); a charge is a PaymentIntent
confirmed off-session for the amount in minor units (Stripe's "smallest currency unit" is the same
number), sent with the attempt's key as Stripe's `Idempotency-Key` and kept in its metadata, so that:

- sending the same charge again (the SDK's own network retries, or ours) returns the first answer;
- `find_charge` finds it by that key (Stripe's search, which can lag a live charge by up to a minute:
  recovery looks for orphaned attempts only after two minutes);
- refunds are keyed by the PaymentIntent, so a refund asked twice is made once.

Stripe's answers become our codes here: a decline for want of funds is `insufficient_funds`, any other
decline (or a card that needs its holder's authentication, which an off-session charge cannot get)
`card_declined`; a charge Stripe refused for another reason is `processing_error`. A network failure or a
Stripe server error after the SDK's retries raises: the caller then asks `find_charge` with the same key.
"""

from datetime import datetime

import stripe
from django.conf import settings

from seatplan.billing.errors import BillingError
from seatplan.payments.gateway import FAILURE_MESSAGES, ChargeResult, SavedCard

KEY_METADATA = "seatplan_key"
# Stripe's card error codes at the time a card is saved → ours (API.md), with the field they concern.
_CARD_ERRORS = {
    "incorrect_number": ("card_number_invalid", "card_number"),
    "invalid_number": ("card_number_invalid", "card_number"),
    "invalid_expiry_month": ("card_expiry_invalid", "exp_month"),
    "invalid_expiry_year": ("card_expiry_invalid", "exp_year"),
    "expired_card": ("card_expired", "exp_year"),
    "invalid_cvc": ("card_cvc_invalid", "cvc"),
    "incorrect_cvc": ("card_cvc_invalid", "cvc"),
}


def _client() -> stripe.StripeClient:
    base = getattr(settings, "STRIPE_API_BASE", "")
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": base} if base else None,
        # Retried with the same Idempotency-Key: never a second charge.
        max_network_retries=getattr(settings, "STRIPE_NETWORK_RETRIES", 2),
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
    )


class StripeGateway:
    name = "stripe"
    finds_charges_at_once = False  # Stripe's search can lag a new charge by up to a minute

    def __init__(self) -> None:
        self.api = _client().v1

    def save_card(self, *, number: str, exp_month: int, exp_year: int, cvc: str, now: datetime) -> SavedCard:
        try:
            method = self.api.payment_methods.create(
                params={
                    "type": "card",
                    "card": {
                        "number": number.replace(" ", "").replace("-", ""),
                        "exp_month": exp_month,
                        "exp_year": exp_year,
                        "cvc": cvc,
                    },
                }
            )
            customer = self.api.customers.create(params={"payment_method": method.id})
        except stripe.CardError as error:
            code, param = _CARD_ERRORS.get(error.code or "", ("card_declined", "card_number"))
            raise BillingError(
                code, error.user_message or FAILURE_MESSAGES.get(code, "The card was refused."), param
            ) from None
        except stripe.StripeError as error:
            raise BillingError("processing_error", FAILURE_MESSAGES["processing_error"]) from error
        return _saved(customer, method)

    def save_token(self, *, token: str, now: datetime) -> SavedCard:
        """A PaymentMethod made by Stripe.js in the customer's browser (the card never reaches this server)."""
        try:
            method = self.api.payment_methods.retrieve(token)
            if method.type != "card" or method.card is None:
                raise BillingError("token_invalid", "The token is not a card.", "token")
            customer = self.api.customers.create(params={"payment_method": method.id})
        except stripe.InvalidRequestError:
            raise BillingError("token_invalid", "Stripe knows no such card token.", "token") from None
        except stripe.CardError as error:
            raise BillingError(
                "card_declined", error.user_message or FAILURE_MESSAGES["card_declined"], "token"
            ) from None
        except stripe.StripeError as error:
            raise BillingError("processing_error", FAILURE_MESSAGES["processing_error"]) from error
        return _saved(customer, method)

    def charge(self, *, token: str, amount: int, currency: str, idempotency_key: str, now: datetime) -> ChargeResult:
        customer, _, method = token.partition(" ")
        try:
            intent = self.api.payment_intents.create(
                params={
                    "amount": amount,
                    "currency": currency.lower(),
                    "customer": customer,
                    "payment_method": method,
                    "confirm": True,
                    "off_session": True,
                    "metadata": {KEY_METADATA: idempotency_key},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.CardError as error:
            failed = getattr(error.error, "payment_intent", None)
            return _declined(failed.id if failed else "", getattr(error.error, "decline_code", None) or error.code)
        except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError):
            raise  # the charge may or may not have been made: the caller asks find_charge
        except stripe.StripeError as error:  # refused as a request (configuration, idempotency conflict)
            return ChargeResult(
                succeeded=False,
                charge_id="",
                failure_code="processing_error",
                failure_message=error.user_message or FAILURE_MESSAGES["processing_error"],
            )
        return _result(intent)

    def find_charge(self, *, idempotency_key: str) -> ChargeResult | None:
        query = f"metadata['{KEY_METADATA}']:'{idempotency_key}'"
        found = self.api.payment_intents.search(params={"query": query, "limit": 1})
        return _result(found.data[0]) if found.data else None

    def refund(self, *, charge_id: str) -> None:
        self.api.refunds.create(
            params={"payment_intent": charge_id}, options={"idempotency_key": f"refund-{charge_id}"}
        )


def _saved(customer: stripe.Customer, method: stripe.PaymentMethod) -> SavedCard:
    card = method.card
    if card is None:
        raise BillingError("token_invalid", "The token is not a card.", "token")
    return SavedCard(
        token=f"{customer.id} {method.id}",
        brand=str(card.brand).title(),
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
    )


def _result(intent) -> ChargeResult:  # noqa: ANN001 - a stripe.PaymentIntent
    if intent.status == "succeeded":
        return ChargeResult(succeeded=True, charge_id=intent.id)
    error = getattr(intent, "last_payment_error", None)
    return _declined(
        intent.id,
        (getattr(error, "decline_code", None) or getattr(error, "code", None)) if error else "authentication_required",
    )


def _declined(charge_id: str, stripe_code: str | None) -> ChargeResult:
    code = "insufficient_funds" if stripe_code == "insufficient_funds" else "card_declined"
    return ChargeResult(succeeded=False, charge_id=charge_id, failure_code=code, failure_message=FAILURE_MESSAGES[code])
