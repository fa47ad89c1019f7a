"""A sandbox gateway with test cards that keeps its charges like a real processor does."""

import secrets
import time
from contextlib import nullcontext
from datetime import datetime

from django.db import IntegrityError, connection, transaction

from seatplan.billing.errors import BillingError
from seatplan.payments.gateway import FAILURE_MESSAGES, ChargeResult, SavedCard
from seatplan.payments.models import SandboxCharge
from seatplan.sqlrows import copy_rows, insert, new

# Card number → what charging it does (API.md "Sandbox test cards").
TEST_CARDS = {
    "4242424242424242": "succeeds",
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000119": "processing_error",
    "4000000000000077": "slow",  # succeeds after 2 seconds
}
SLOW_SECONDS = 2.0


def _luhn_ok(number: str) -> bool:
    digits = [int(d) for d in reversed(number)]
    total = sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
    return total % 10 == 0


class SandboxGateway:
    name = "sandbox"
    finds_charges_at_once = True  # its ledger is this database

    def save_card(self, *, number: str, exp_month: int, exp_year: int, cvc: str, now: datetime) -> SavedCard:
        number = number.replace(" ", "").replace("-", "")
        if not number.isdigit() or not 12 <= len(number) <= 19 or not _luhn_ok(number):
            raise BillingError("card_number_invalid", "The card number is not valid.", "card_number")
        if number not in TEST_CARDS:
            raise BillingError("card_number_invalid", "The sandbox accepts its test cards only.", "card_number")
        if not (1 <= exp_month <= 12):
            raise BillingError("card_expiry_invalid", "exp_month is 1 to 12.", "exp_month")
        if (exp_year, exp_month) < (now.year, now.month) or exp_year > now.year + 30:
            raise BillingError("card_expired", "The card has expired.", "exp_year")
        if not (cvc.isdigit() and len(cvc) in (3, 4)):
            raise BillingError("card_cvc_invalid", "The CVC is 3 or 4 digits.", "cvc")
        token = f"sbx.{TEST_CARDS[number]}.{secrets.token_hex(6)}"
        return SavedCard(token=token, brand="Visa", last4=number[-4:], exp_month=exp_month, exp_year=exp_year)

    def save_token(self, *, token: str, now: datetime) -> SavedCard:
        raise BillingError("token_not_supported", "The sandbox gateway takes its test cards, not tokens.", "token")

    def charge(self, *, token: str, amount: int, currency: str, idempotency_key: str, now: datetime) -> ChargeResult:
        behaviour = token.split(".")[1] if token.startswith("sbx.") else "card_declined"
        if behaviour == "slow" and self.find_charge(idempotency_key=idempotency_key) is None:
            time.sleep(SLOW_SECONDS)
        failure = "" if behaviour in ("succeeds", "slow") else behaviour
        # Insert first: the unique key decides. A key seen before (a retry, or a race) keeps its first result.
        try:
            charge = new(
                SandboxCharge,
                idempotency_key=idempotency_key,
                token=token,
                amount=amount,
                currency=currency,
                status="failed" if failure else "succeeded",
                failure_code=failure,
                created_at=now,
            )
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                insert(charge)
        except IntegrityError:
            return self.find_charge(idempotency_key=idempotency_key)  # type: ignore[return-value]
        return _result(charge)

    def charge_many(self, requests: list[dict], *, now: datetime) -> list[ChargeResult]:
        """Many charges at once (a billing batch): same rules as `charge`, one round trip each way.

        requests: dicts of token, amount, currency, idempotency_key. A key seen before returns its
        first result; new ones are recorded in one insert (a racing duplicate key keeps the first).
        """
        keys = [r["idempotency_key"] for r in requests]
        rows = []
        for r in requests:
            behaviour = r["token"].split(".")[1] if r["token"].startswith("sbx.") else "card_declined"
            failure = "" if behaviour in ("succeeds", "slow") else behaviour
            rows.append(
                (
                    _new_charge_id(),
                    r["idempotency_key"],
                    r["token"],
                    r["amount"],
                    r["currency"],
                    "failed" if failure else "succeeded",
                    failure,
                    False,
                    now,
                )
            )
        with transaction.atomic():
            copy_rows(SandboxCharge, _CHARGE_COLUMNS, rows, ignore_conflicts=True)
        found = {
            key: _answer(pk, status, code)
            for pk, key, status, code in SandboxCharge.objects.filter(idempotency_key__any=keys).values_list(
                "pk", "idempotency_key", "status", "failure_code"
            )
        }
        return [found[key] for key in keys]

    def find_charge(self, *, idempotency_key: str) -> ChargeResult | None:
        charge = SandboxCharge.objects.filter(idempotency_key=idempotency_key).first()
        return _result(charge) if charge else None

    def refund(self, *, charge_id: str) -> None:
        SandboxCharge.objects.filter(pk=charge_id, status="succeeded").update(refunded=True)


_CHARGE_COLUMNS = [
    "id",
    "idempotency_key",
    "token",
    "amount",
    "currency",
    "status",
    "failure_code",
    "refunded",
    "created_at",
]
_new_charge_id = SandboxCharge._meta.pk.default


def _result(charge: SandboxCharge) -> ChargeResult:
    return _answer(charge.pk, charge.status, charge.failure_code)


def _answer(charge_id: str, status: str, failure_code: str) -> ChargeResult:
    return ChargeResult(
        succeeded=status == "succeeded",
        charge_id=charge_id,
        failure_code=failure_code,
        failure_message=FAILURE_MESSAGES.get(failure_code, ""),
    )
