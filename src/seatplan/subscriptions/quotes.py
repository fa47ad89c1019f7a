"""Quotes: the priced change a checkout will carry out (SPEC §4.1, §4.2)."""

from dataclasses import replace
from datetime import datetime, timedelta

from django.conf import settings

from seatplan.accounts.models import Account
from seatplan.accounts.permissions import Actor, Capability
from seatplan.billing.errors import BillingError
from seatplan.billing.quote import Change, PriceTerms, QuoteResult, quote_change, quote_new
from seatplan.catalog.models import DiscountCode, Price, Product
from seatplan.catalog.selectors import (
    discount_code_judge,
    discount_terms,
    price_active,
    product_get,
    validate_cycle,
)
from seatplan.sqlrows import Columns, fetch_one, insert, new
from seatplan.subscriptions.models import MAX_QUANTITY, Quote, Status, Subscription
from seatplan.subscriptions.terms import current_terms, discount_code_id_for, line_to_json, outcome_to_json


def _price_terms(price: Price) -> PriceTerms:
    return PriceTerms(billing_cycle=price.billing_cycle, unit_amount=price.unit_amount, currency=price.currency)


def _check_quantity(quantity: int) -> None:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise BillingError("quantity_invalid", f"quantity is a whole number from 1 to {MAX_QUANTITY}.", "quantity")


_SUB, _PRODUCT = Columns(Subscription, "s"), Columns(Product, "p")
_PRICE, _DISCOUNT, _QUOTE = Columns(Price, "pr"), Columns(DiscountCode, "dc"), Columns(Quote, "q")
# A request's one read of what it prices or checks out, with what the response shows: plain SQL (the
# ORM's select_related compiled slower than the database answered).
_SUBSCRIPTION_SQL = (
    f"SELECT {_SUB.sql}, {_PRODUCT.sql}, {_PRICE.sql}, {_DISCOUNT.sql} "  # noqa: S608 - columns from metadata
    "FROM subscriptions_subscription s JOIN catalog_product p ON p.id = s.product_id "
    "JOIN catalog_price pr ON pr.id = s.price_id LEFT JOIN catalog_discountcode dc ON dc.id = s.discount_code_id "
    "WHERE s.id = %s AND s.account_id = %s"
)
_QUOTE_SQL = (
    f"SELECT {_QUOTE.sql}, {_PRODUCT.sql}, {_DISCOUNT.sql} FROM subscriptions_quote q "  # noqa: S608
    "JOIN catalog_product p ON p.id = q.product_id LEFT JOIN catalog_discountcode dc ON dc.id = q.discount_code_id "
    "WHERE q.id = %s"
)


def _subscription_for_quote(subscription_id: str, account: Account) -> Subscription | None:
    """The account's subscription with its product, price and discount code, or None."""
    row = fetch_one(_SUBSCRIPTION_SQL, [subscription_id, account.pk])
    if row is None:
        return None
    subscription = _SUB.build(row)
    at = _SUB.width
    subscription.product = _PRODUCT.build(row, at)
    subscription.price = _PRICE.build(row, at + _PRODUCT.width)
    subscription.discount_code = _DISCOUNT.build_or_none(row, at + _PRODUCT.width + _PRICE.width)
    return subscription


def quote_with_product(quote_id: str) -> Quote | None:
    """A quote with its product and discount code (what its JSON shows), or None."""
    row = fetch_one(_QUOTE_SQL, [quote_id])
    if row is None:
        return None
    quote = _QUOTE.build(row)
    quote.product = _PRODUCT.build(row, _QUOTE.width)
    quote.discount_code = _DISCOUNT.build_or_none(row, _QUOTE.width + _PRODUCT.width)
    return quote


def _live_subscription(account: Account, product: Product) -> Subscription | None:
    return Subscription.objects.filter(
        account=account, product=product, status__in=[Status.ACTIVE, Status.PAST_DUE]
    ).first()


def quote_create(
    *,
    actor: Actor,
    account: Account,
    subscription_id: str | None,
    product_code: str | None,
    billing_cycle: str,
    quantity: int,
    discount_code: str | None,
    now: datetime,
) -> Quote:
    """Price a new subscription or a change of one; `now` is the account's time."""
    actor.require(Capability.PURCHASE)
    validate_cycle(billing_cycle)
    _check_quantity(quantity)
    code = (discount_code or "").strip() or None
    subscription = None
    if subscription_id:
        subscription = _subscription_for_quote(subscription_id, account)
        if subscription is None:
            raise BillingError("not_found", "No such subscription.", "subscription")
        product = subscription.product
        if product_code and product_code != product.code:
            raise BillingError("product_mismatch", "The subscription is for another product.", "product")
    else:
        product = product_get(product_code or "testcloud")
        live = _live_subscription(account, product)
        if live is not None:
            if live.billing_cycle == "year" and billing_cycle == "month":
                raise BillingError(
                    "annual_subscription_active",
                    "An annual subscription is live; monthly is possible once it has ended.",
                )
            raise BillingError(
                "subscription_active", "A subscription is live for this product: upgrade it.", "subscription"
            )
    currency = subscription.currency if subscription else account.currency
    entered: DiscountCode | None = None
    if code:
        entered = discount_code_judge(
            code,
            account_id=account.pk,
            product=product,
            currency=currency,
            cycle=billing_cycle,
            quantity=quantity,
            now=now,
        )
    terms = discount_terms(entered) if entered else None
    if subscription is None:
        price = price_active(product, currency, billing_cycle)
        result = quote_new(
            now=now,
            price=_price_terms(price),
            quantity=quantity,
            code=terms,
            credit_balance=account.credit_balance,
            product_name=product.name,
        )
    else:
        price = _price_for_change(subscription, billing_cycle)
        current = current_terms(subscription)
        if subscription.is_trial:
            # A trial converts at today's monthly price, not at anything the trial carried.
            monthly = price_active(product, currency, "month")
            current = replace(current, unit_amount=monthly.unit_amount)
        result = quote_change(
            now=now,
            current=current,
            change=Change(billing_cycle=billing_cycle, quantity=quantity),
            annual_price=_price_terms(price) if price.billing_cycle == "year" else None,
            code=terms,
            credit_balance=account.credit_balance,
            product_name=product.name,
        )
    return _quote_save(
        account=account,
        subscription=subscription,
        product=product,
        price=price,
        billing_cycle=billing_cycle,
        quantity=quantity,
        entered=entered,
        result=result,
        now=now,
    )


def _price_for_change(subscription: Subscription, billing_cycle: str) -> Price:
    """Same cycle keeps the subscription's price; a switch (or a trial) takes today's price."""
    if billing_cycle == subscription.billing_cycle and not subscription.is_trial:
        return subscription.price
    if billing_cycle == "month" and subscription.billing_cycle == "year" and not subscription.is_trial:
        return subscription.price  # refused by the rules: annual → monthly
    return price_active(subscription.product, subscription.currency, billing_cycle)


def _quote_save(
    *,
    account: Account,
    subscription: Subscription | None,
    product: Product,
    price: Price,
    billing_cycle: str,
    quantity: int,
    entered: DiscountCode | None,
    result: QuoteResult,
    now: datetime,
) -> Quote:
    # One INSERT, atomic on its own (no transaction of its own to open and commit).
    quote = new(
        Quote,
        account=account,
        subscription=subscription,
        subscription_version=subscription.version if subscription else None,
        product=product,
        price=price,
        billing_cycle=billing_cycle,
        quantity=quantity,
        discount_code=entered,
        currency=price.currency,
        lines=[line_to_json(line) for line in result.lines],
        subtotal=result.subtotal,
        discount_total=result.discount_total,
        tax=result.tax,
        total=result.total,
        credit_applied=result.credit_applied,
        amount_due=result.amount_due,
        outcome=outcome_to_json(result, discount_code_id_for(result, entered, subscription)),
        next_renewal_at=result.next_renewal_at,
        next_renewal_amount=result.next_renewal_amount,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.QUOTE_TTL_SECONDS),
    )
    insert(quote)
    return quote
