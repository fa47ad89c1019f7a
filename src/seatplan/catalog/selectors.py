"""Catalog reads, and the judgement of a discount code for one purchase (SPEC §4.3)."""

from datetime import datetime

from django.db.models import Prefetch

from seatplan.billing.discounts import DiscountTerms
from seatplan.billing.errors import BillingError
from seatplan.catalog.models import BillingCycle, DiscountCode, DiscountRedemption, Price, Product


def validate_cycle(cycle: str, param: str = "billing_cycle") -> str:
    if cycle not in BillingCycle.values:
        raise BillingError("billing_cycle_invalid", "billing_cycle is 'month' or 'year'.", param)
    return cycle


def product_get(code: str) -> Product:
    product = Product.objects.filter(code=code).first()
    if product is None:
        raise BillingError("not_found", f"No product {code!r}.", "product")
    return product


def products_with_prices() -> list[Product]:
    return list(
        Product.objects.order_by("code").prefetch_related(
            Prefetch(  # only the prices on sale now
                "prices",
                queryset=Price.objects.filter(active=True).order_by("currency", "billing_cycle"),
                to_attr="active_prices",
            )
        )
    )


def price_active(product: Product, currency: str, cycle: str) -> Price:
    price = Price.objects.filter(product=product, currency=currency, billing_cycle=cycle, active=True).first()
    if price is None:
        raise BillingError("price_not_found", f"{product.name} has no {cycle}ly price in {currency}.", "billing_cycle")
    return price


def discount_terms(discount: DiscountCode) -> DiscountTerms:
    return DiscountTerms(
        code=discount.code,
        percent_off=discount.percent_off,
        amount_off=discount.amount_off,
        currency=discount.currency or None,
        duration=discount.duration,
        duration_in_cycles=discount.duration_in_cycles,
    )


def discount_code_judge(
    code: str, *, account_id: str, product: Product, currency: str, cycle: str, quantity: int, now: datetime
) -> DiscountCode:
    """The code if it may apply to this purchase at `now` (the account's time), else a refusal."""
    discount = DiscountCode.objects.filter(code=code.strip().upper()).first()
    if discount is None:
        raise BillingError("discount_not_found", f"There is no discount code {code.strip()!r}.", "discount_code")
    if (discount.valid_from and now < discount.valid_from) or (discount.valid_until and now >= discount.valid_until):
        raise BillingError("discount_expired", f"The code {discount.code} is not valid now.", "discount_code")
    discount_check_available(discount, account_id=account_id)
    reason = _not_applicable_reason(discount, account_id, product, currency, cycle, quantity)
    if reason:
        raise BillingError("discount_not_applicable", f"The code {discount.code} {reason}.", "discount_code")
    return discount


def discount_check_available(discount: DiscountCode, *, account_id: str) -> None:
    if discount.max_redemptions is not None and discount.times_redeemed >= discount.max_redemptions:
        raise BillingError("discount_exhausted", f"The code {discount.code} has been used up.", "discount_code")
    if (
        discount.once_per_account
        and DiscountRedemption.objects.filter(account_id=account_id, discount_code=discount).exists()
    ):
        raise BillingError("discount_exhausted", f"This account has already used {discount.code}.", "discount_code")


def _not_applicable_reason(
    discount: DiscountCode, account_id: str, product: Product, currency: str, cycle: str, quantity: int
) -> str | None:
    from seatplan.invoices.models import Invoice

    if discount.products and product.code not in discount.products:
        return f"does not apply to {product.name}"
    if discount.billing_cycles and cycle not in discount.billing_cycles:
        return (
            "applies to "
            + " and ".join({"month": "monthly", "year": "annual"}[c] for c in discount.billing_cycles)
            + " billing only"
        )
    if discount.amount_off is not None and discount.currency != currency:
        return f"is for {discount.currency} purchases only"
    if discount.min_quantity and quantity < discount.min_quantity:
        return f"needs at least {discount.min_quantity} sessions"
    if discount.first_purchase_only and Invoice.objects.filter(account_id=account_id, amount_paid__gt=0).exists():
        return "is for a first purchase only"
    return None
