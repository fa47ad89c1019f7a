"""Request bodies. Unknown fields are refused; values are checked again in the services."""

from datetime import datetime
from decimal import Decimal
from typing import Literal

from ninja import Schema
from pydantic import ConfigDict, StrictBool, StrictInt, field_validator


class Body(Schema):
    model_config = ConfigDict(extra="forbid")


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("give a UTC instant, e.g. 2027-02-14T00:00:00Z")
    return value


class AccountCreate(Body):
    name: str
    owner_email: str
    currency: str = "USD"
    test_clock: str | None = None


class MemberAdd(Body):
    email: str
    role: str


class MemberUpdate(Body):
    role: str


class OwnershipTransfer(Body):
    member: str


class ApiKeyCreate(Body):
    name: str
    user_email: str | None = None


class BillingDetails(Body):
    business_name: str | None = None
    address: str | None = None
    country: str | None = None
    vat_id: str | None = None
    invoice_emails: list[str] | None = None


class ProductCreate(Body):
    code: str
    name: str
    unit_name: str = "session"
    trial_days: StrictInt = 14
    trial_quantity: StrictInt = 2


class PriceCreate(Body):
    currency: str
    billing_cycle: Literal["month", "year"]
    unit_amount: StrictInt


class DiscountCodeCreate(Body):
    code: str
    percent_off: Decimal | None = None
    amount_off: StrictInt | None = None
    currency: str | None = None
    duration: Literal["once", "repeating", "forever"]
    duration_in_cycles: StrictInt | None = None
    products: list[str] | None = None
    billing_cycles: list[Literal["month", "year"]] | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    max_redemptions: StrictInt | None = None
    once_per_account: StrictBool = False
    first_purchase_only: StrictBool = False
    min_quantity: StrictInt | None = None

    _utc_from = field_validator("valid_from", "valid_until")(_utc)


class AccountUpdate(Body):
    name: str


class CardIn(Body):
    card_number: str | None = None
    exp_month: StrictInt | None = None
    exp_year: StrictInt | None = None
    cvc: str | None = None
    token: str | None = None


class QuoteCreate(Body):
    subscription: str | None = None
    product: str | None = None
    billing_cycle: str
    quantity: StrictInt
    discount_code: str | None = None


class TestClockCreate(Body):
    frozen_time: datetime

    _utc_frozen = field_validator("frozen_time")(_utc)


class TestClockAdvance(TestClockCreate):
    pass
