"""Products, prices and discount codes."""

from django.http import HttpRequest, JsonResponse
from ninja import Router
from ninja.decorators import decorate_view

from seatplan.api import schemas
from seatplan.api.auth import require_operator
from seatplan.api.context import principal, wall_now
from seatplan.api.idempotency import idempotent
from seatplan.catalog import services
from seatplan.catalog.models import DiscountCode, Price, Product
from seatplan.catalog.selectors import product_get, products_with_prices
from seatplan.subscriptions.serialize import iso

router = Router(tags=["Catalog"])


def price_json(price: Price) -> dict:
    return {
        "id": price.pk,
        "billing_cycle": price.billing_cycle,
        "unit_amount": price.unit_amount,
        "currency": price.currency,
    }


def product_json(product: Product, prices: list[Price]) -> dict:
    return {
        "id": product.pk,
        "code": product.code,
        "name": product.name,
        "unit_name": product.unit_name,
        "trial_days": product.trial_days,
        "trial_quantity": product.trial_quantity,
        "prices": [price_json(p) for p in prices],
    }


def discount_json(discount: DiscountCode) -> dict:
    return {
        "id": discount.pk,
        "code": discount.code,
        "percent_off": str(discount.percent_off.normalize()) if discount.percent_off is not None else None,
        "amount_off": discount.amount_off,
        "currency": discount.currency or None,
        "duration": discount.duration,
        "duration_in_cycles": discount.duration_in_cycles,
        "products": discount.products,
        "billing_cycles": discount.billing_cycles,
        "valid_from": iso(discount.valid_from),
        "valid_until": iso(discount.valid_until),
        "max_redemptions": discount.max_redemptions,
        "times_redeemed": discount.times_redeemed,
        "once_per_account": discount.once_per_account,
        "first_purchase_only": discount.first_purchase_only,
        "min_quantity": discount.min_quantity,
    }


@router.get("/products")
def product_list(request: HttpRequest) -> JsonResponse:
    products = products_with_prices()
    return JsonResponse(
        {
            "data": [
                product_json(p, p.active_prices)  # type: ignore[attr-defined]  # prefetched
                for p in products
            ],
            "has_more": False,
            "next_cursor": None,
        }
    )


@router.post("/products")
@decorate_view(idempotent())
def product_create(request: HttpRequest, payload: schemas.ProductCreate) -> JsonResponse:
    actor = require_operator(principal(request))
    product = services.product_create(actor=actor, now=wall_now(request), **payload.model_dump())
    return JsonResponse(product_json(product, []), status=201)


@router.post("/products/{product_ref}/prices")
@decorate_view(idempotent())
def price_create(request: HttpRequest, product_ref: str, payload: schemas.PriceCreate) -> JsonResponse:
    actor = require_operator(principal(request))
    product = Product.objects.filter(pk=product_ref).first() or product_get(product_ref)
    price = services.price_create(actor=actor, product=product, now=wall_now(request), **payload.model_dump())
    return JsonResponse(price_json(price), status=201)


@router.get("/discount_codes")
def discount_list(request: HttpRequest) -> JsonResponse:
    require_operator(principal(request))
    codes = DiscountCode.objects.order_by("code")
    return JsonResponse({"data": [discount_json(d) for d in codes], "has_more": False, "next_cursor": None})


@router.post("/discount_codes")
@decorate_view(idempotent())
def discount_create(request: HttpRequest, payload: schemas.DiscountCodeCreate) -> JsonResponse:
    actor = require_operator(principal(request))
    discount = services.discount_code_create(actor=actor, now=wall_now(request), **payload.model_dump())
    return JsonResponse(discount_json(discount), status=201)
