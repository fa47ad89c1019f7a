"""Payment method, quotes and checkout, invoices."""

from typing import TypeVar

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Router
from ninja.decorators import decorate_view

from seatplan.accounts.permissions import Actor, Capability
from seatplan.api import schemas
from seatplan.api.auth import account_access
from seatplan.api.context import now_for, principal
from seatplan.api.idempotency import idempotent, record_with_change
from seatplan.api.pagination import paginate
from seatplan.api.serializers import invoice_json, payment_method_json, quote_json, subscription_json
from seatplan.billing.errors import BillingError
from seatplan.invoices.models import Invoice
from seatplan.payments import services as payments
from seatplan.payments.gateway import get_gateway
from seatplan.payments.models import PaymentMethod
from seatplan.subscriptions.checkout import CheckoutResult, quote_checkout
from seatplan.subscriptions.quotes import quote_create, quote_with_product

router = Router(tags=["Billing"])


@router.get("/accounts/{account_id}/payment_method")
def payment_method_get(request: HttpRequest, account_id: str) -> JsonResponse:
    account, actor = account_access(principal(request), account_id)
    actor.require_read(Capability.BILLING)
    method = PaymentMethod.objects.filter(account=account).first()
    if method is None:
        raise BillingError("not_found", "There is no saved card.")
    return JsonResponse(payment_method_json(method))


CARD_FIELDS = ("card_number", "exp_month", "exp_year", "cvc")
T = TypeVar("T")


def _required(value: T | None, name: str) -> T:
    if value is None:
        raise BillingError("parameter_missing", f"{name} is required.", name)
    return value


@router.put("/accounts/{account_id}/payment_method")
def payment_method_put(request: HttpRequest, account_id: str, payload: schemas.CardIn) -> JsonResponse:
    account, actor = account_access(principal(request), account_id)
    actor.require(Capability.BILLING)
    now = now_for(request, account)
    if payload.token is not None:
        given = [name for name in CARD_FIELDS if getattr(payload, name) is not None]
        if given:
            raise BillingError("malformed_request", "Send card details or a token, not both.", given[0])
        method = payments.payment_method_save(
            actor=actor, account=account, gateway=get_gateway(), token=payload.token, now=now
        )
        return JsonResponse(payment_method_json(method))
    method = payments.payment_method_save(
        actor=actor,
        account=account,
        gateway=get_gateway(),
        card_number=_required(payload.card_number, "card_number"),
        exp_month=_required(payload.exp_month, "exp_month"),
        exp_year=_required(payload.exp_year, "exp_year"),
        cvc=_required(payload.cvc, "cvc"),
        now=now,
    )
    return JsonResponse(payment_method_json(method))


@router.delete("/accounts/{account_id}/payment_method")
def payment_method_delete(request: HttpRequest, account_id: str) -> JsonResponse:
    account, actor = account_access(principal(request), account_id)
    payments.payment_method_delete(actor=actor, account=account, now=now_for(request, account))
    return JsonResponse({"deleted": True})


@router.post("/accounts/{account_id}/quotes")
@decorate_view(idempotent())
def quote_post(request: HttpRequest, account_id: str, payload: schemas.QuoteCreate) -> JsonResponse:
    account, actor = account_access(principal(request), account_id)
    quote = quote_create(
        actor=actor,
        account=account,
        subscription_id=payload.subscription,
        product_code=payload.product,
        billing_cycle=payload.billing_cycle,
        quantity=payload.quantity,
        discount_code=payload.discount_code,
        now=now_for(request, account),
    )
    return JsonResponse(quote_json(quote), status=201)


def _quote_access(request: HttpRequest, quote_id: str):  # noqa: ANN202
    quote = quote_with_product(quote_id)
    caller = principal(request)
    if quote is None or not (caller.is_operator or quote.account_id == caller.key.account_id):
        raise BillingError("not_found", "No such quote.")
    account, actor = account_access(caller, quote.account_id)
    return quote, account, actor


@router.get("/quotes/{quote_id}")
def quote_get(request: HttpRequest, quote_id: str) -> JsonResponse:
    quote, _, actor = _quote_access(request, quote_id)
    actor.require_read(Capability.PURCHASE)
    return JsonResponse(quote_json(quote))


@router.post("/quotes/{quote_id}/checkout")
@decorate_view(idempotent(required=True))
def checkout(request: HttpRequest, quote_id: str) -> JsonResponse:
    caller = principal(request)
    if (
        caller.is_operator
        or caller.role is None
        or not Actor(user=caller.user, role=caller.role).can(Capability.PURCHASE)
    ):
        # Answered as before: 404 for a quote the caller cannot see, then 403 for the role.
        quote, account, actor = _quote_access(request, quote_id)
    else:
        # A member who may buy: the checkout reads the quote itself, within the caller's account.
        account, actor = account_access(caller, caller.key.account_id or "")
    answered: list[JsonResponse] = []

    def answer(result: CheckoutResult) -> None:  # inside the transaction that applies the change
        # Both as just written (the checkout loaded the product; the invoice keeps its lines).
        response = JsonResponse(
            {"subscription": subscription_json(result.subscription), "invoice": invoice_json(result.invoice)}
        )
        record_with_change(request, response)
        answered.append(response)

    try:
        result = quote_checkout(
            actor=actor,
            account=account,
            quote_id=quote_id,
            gateway=get_gateway(),
            now=now_for(request, account),
            on_applied=answer,
        )
    except BillingError as error:
        if error.code == "discount_exhausted":
            error.status = 409  # type: ignore[attr-defined]
        if error.code == "not_found":
            raise BillingError("not_found", "No such quote.") from None
        raise
    if not answered:  # done before (an earlier attempt of the same checkout): answered as it is now
        answer(result)
    return answered[-1]


_invoices = Invoice.objects.prefetch_related("lines")


@router.get("/accounts/{account_id}/invoices")
def invoice_list(request: HttpRequest, account_id: str, limit: int = 20, cursor: str | None = None) -> JsonResponse:
    account, actor = account_access(principal(request), account_id)
    actor.require_read(Capability.BILLING)
    return JsonResponse(
        paginate(
            _invoices.filter(account=account), limit=limit, cursor=cursor, to_json=invoice_json, time_field="issued_at"
        )
    )


def invoice_access(request: HttpRequest, invoice_id: str) -> Invoice:
    invoice = _invoices.filter(pk=invoice_id).first()
    caller = principal(request)
    if invoice is None or not (caller.is_operator or invoice.account_id == caller.key.account_id):
        raise BillingError("not_found", "No such invoice.")
    _, actor = account_access(caller, invoice.account_id)
    actor.require_read(Capability.BILLING)
    return invoice


@router.get("/invoices/{invoice_id}")
def invoice_get(request: HttpRequest, invoice_id: str) -> HttpResponse:
    return JsonResponse(invoice_json(invoice_access(request, invoice_id)))


@router.get("/invoices/{invoice_id}/pdf")
def invoice_get_pdf(request: HttpRequest, invoice_id: str) -> HttpResponse:
    from seatplan.invoices.pdf import invoice_pdf

    invoice = invoice_access(request, invoice_id)
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    return response
