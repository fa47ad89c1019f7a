"""The catalog: products, prices and discount codes (operators only)."""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction

from seatplan.accounts.permissions import Actor
from seatplan.billing.errors import BillingError
from seatplan.catalog.models import DiscountCode, DiscountDuration, Price, Product
from seatplan.catalog.selectors import validate_cycle
from seatplan.events.services import audit_record
from seatplan.validation import clean_text


def _require_operator(actor: Actor) -> None:
    if not (actor.is_operator or actor.is_system):
        raise BillingError("permission_denied", "Only operators change the catalog.")


@transaction.atomic
def product_create(
    *,
    actor: Actor,
    code: str,
    name: str,
    unit_name: str = "session",
    trial_days: int = 14,
    trial_quantity: int = 2,
    now: datetime,
) -> Product:
    _require_operator(actor)
    code = code.strip().lower()
    if not code or not code.replace("-", "").replace("_", "").isalnum() or len(code) > 50:
        raise BillingError("code_invalid", "A product code is letters, digits, - and _.", "code")
    name = clean_text(name, model=Product, field="name", empty="A product needs a name.")
    unit_name = clean_text(unit_name, model=Product, field="unit_name") or "session"
    if not (1 <= trial_days <= 365) or not (1 <= trial_quantity <= 1000):
        raise BillingError("value_invalid", "Trial days 1..365 and trial sessions 1..1000.", "trial_days")
    if Product.objects.filter(code=code).exists():
        raise BillingError("product_exists", f"A product {code!r} exists already.", "code")
    product = Product.objects.create(
        code=code, name=name, unit_name=unit_name, trial_days=trial_days, trial_quantity=trial_quantity, created_at=now
    )
    audit_record(
        actor=actor,
        account_id=None,
        action="product.created",
        obj=product,
        now=now,
        after={"code": code, "name": product.name},
    )
    return product


@transaction.atomic
def price_create(
    *, actor: Actor, product: Product, currency: str, billing_cycle: str, unit_amount: int, now: datetime
) -> Price:
    """A new price replaces the active one of its cycle and currency for new purchases."""
    from seatplan.accounts.services import _validate_currency

    _require_operator(actor)
    validate_cycle(billing_cycle)
    code = _validate_currency(currency)
    if not isinstance(unit_amount, int) or unit_amount < 0 or unit_amount > 10**12:
        raise BillingError("amount_invalid", "unit_amount is a whole number of minor units ≥ 0.", "unit_amount")
    Price.objects.select_for_update().filter(
        product=product, currency=code, billing_cycle=billing_cycle, active=True
    ).update(active=False)
    price = Price.objects.create(
        product=product, currency=code, billing_cycle=billing_cycle, unit_amount=unit_amount, created_at=now
    )
    audit_record(
        actor=actor,
        account_id=None,
        action="price.created",
        obj=price,
        now=now,
        after={"product": product.code, "currency": code, "billing_cycle": billing_cycle, "unit_amount": unit_amount},
    )
    return price


def discount_code_create(*, actor: Actor, now: datetime, **fields) -> DiscountCode:  # noqa: C901
    _require_operator(actor)
    code = str(fields.pop("code", "") or "").strip().upper()
    if not code or len(code) > 50 or not code.replace("-", "").replace("_", "").isalnum():
        raise BillingError("code_invalid", "A discount code is letters, digits, - and _.", "code")
    percent_off, amount_off = fields.get("percent_off"), fields.get("amount_off")
    if (percent_off is None) == (amount_off is None):
        raise BillingError("discount_invalid", "Give exactly one of percent_off and amount_off.", "percent_off")
    currency = ""
    if percent_off is not None:
        try:
            percent_off = Decimal(str(percent_off))
        except InvalidOperation as exc:
            raise BillingError("discount_invalid", "percent_off is a number.", "percent_off") from exc
        if not (Decimal(0) < percent_off <= Decimal(100)) or percent_off != percent_off.quantize(Decimal("0.01")):
            raise BillingError("discount_invalid", "percent_off is above 0 and at most 100.", "percent_off")
    else:
        from seatplan.accounts.services import _validate_currency

        if not isinstance(amount_off, int) or not 0 < amount_off <= 10**12:
            raise BillingError("discount_invalid", "amount_off is a positive number of minor units.", "amount_off")
        currency = _validate_currency(str(fields.get("currency") or ""))
    duration = fields.get("duration")
    if duration not in DiscountDuration.values:
        raise BillingError("discount_invalid", "duration is once, repeating or forever.", "duration")
    cycles = fields.get("duration_in_cycles")
    if duration == DiscountDuration.REPEATING:
        if not isinstance(cycles, int) or not (1 <= cycles <= 1000):
            raise BillingError(
                "discount_invalid", "A repeating code needs duration_in_cycles ≥ 1.", "duration_in_cycles"
            )
    elif cycles is not None:
        raise BillingError("discount_invalid", "duration_in_cycles is only for repeating codes.", "duration_in_cycles")
    billing_cycles = list(fields.get("billing_cycles") or [])
    for cycle in billing_cycles:
        validate_cycle(cycle, "billing_cycles")
    products = [str(p).lower() for p in fields.get("products") or []]
    known = set(Product.objects.filter(code__in=products).values_list("code", flat=True))
    if set(products) - known:
        raise BillingError("not_found", f"No product {sorted(set(products) - known)[0]!r}.", "products")
    valid_from, valid_until = fields.get("valid_from"), fields.get("valid_until")
    if valid_from and valid_until and valid_until <= valid_from:
        raise BillingError("discount_invalid", "valid_until must be after valid_from.", "valid_until")
    for name in ("max_redemptions", "min_quantity"):
        value = fields.get(name)
        if value is not None and (not isinstance(value, int) or not 1 <= value <= 1_000_000_000):
            raise BillingError("discount_invalid", f"{name} is a whole number from 1 to 1,000,000,000.", name)
    try:
        with transaction.atomic():
            discount = DiscountCode.objects.create(
                code=code,
                percent_off=percent_off,
                amount_off=amount_off,
                currency=currency,
                duration=duration,
                duration_in_cycles=cycles,
                products=products,
                billing_cycles=billing_cycles,
                valid_from=valid_from,
                valid_until=valid_until,
                max_redemptions=fields.get("max_redemptions"),
                once_per_account=bool(fields.get("once_per_account")),
                first_purchase_only=bool(fields.get("first_purchase_only")),
                min_quantity=fields.get("min_quantity"),
                created_at=now,
            )
            audit_record(
                actor=actor,
                account_id=None,
                action="discount_code.created",
                obj=discount,
                now=now,
                after={"code": code},
            )
    except IntegrityError as exc:
        raise BillingError("discount_code_exists", f"The code {code} exists already.", "code") from exc
    return discount
