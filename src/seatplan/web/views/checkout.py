"""The checkout page (SPEC §4.1–§4.3): more sessions, annual billing, a code, a live order summary.

The page never prices anything itself: every summary is a quote from the core, and Checkout
pays exactly the quote on screen (its id and an idempotency key travel in the form).
"""

import secrets
from dataclasses import dataclass

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from seatplan.accounts.permissions import Capability
from seatplan.billing.errors import BillingError
from seatplan.catalog.models import Price
from seatplan.catalog.selectors import product_get
from seatplan.idempotency.services import Replay, idempotency_begin, idempotency_finish, idempotency_replay
from seatplan.invoices.models import Invoice
from seatplan.payments.gateway import get_gateway
from seatplan.payments.models import PaymentMethod
from seatplan.subscriptions.checkout import quote_checkout
from seatplan.subscriptions.models import LIVE_STATUSES, Quote, Subscription
from seatplan.subscriptions.quotes import quote_create
from seatplan.web.context import AccountRequest, Here, account_page

QUIET_CODES = {"nothing_to_change"}  # not an error: the customer has not chosen anything yet


@dataclass
class Order:
    """What the form asks for: the new total, the cycle and the applied code."""

    quantity: int
    billing_cycle: str
    code: str


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return -1  # refused by the core as quantity_invalid


def _order_from(request: AccountRequest, subscription: Subscription | None) -> Order:
    data = request.POST if request.method == "POST" else request.GET
    current = subscription.quantity if subscription and not subscription.is_trial else 0
    if subscription is not None and not subscription.is_trial:
        quantity = current + _int(data.get("additional"), 0)
        cycle = data.get("billing_cycle") or subscription.billing_cycle
    else:
        quantity = _int(data.get("quantity"), subscription.quantity if subscription else 1)
        cycle = data.get("billing_cycle") or "month"
    return Order(quantity=quantity, billing_cycle=cycle, code=(data.get("applied_code") or "").strip().upper())


def _quote(here: Here, subscription: Subscription | None, order: Order) -> tuple[Quote | None, BillingError | None]:
    try:
        quote = quote_create(
            actor=here.actor,
            account=here.account,
            subscription_id=subscription.pk if subscription else None,
            product_code=None if subscription else "testcloud",
            billing_cycle=order.billing_cycle,
            quantity=order.quantity,
            discount_code=order.code or None,
            now=here.now,
        )
    except BillingError as refused:
        return None, refused
    return quote, None


def _subscription_for(request: AccountRequest, subscription_id: str | None) -> Subscription | None:
    if subscription_id is None:
        return None
    return get_object_or_404(
        Subscription.objects.select_related("product", "discount_code", "price"),
        pk=subscription_id,
        account=request.here.account,
    )


@account_page(Capability.PURCHASE)
def checkout_page(request: AccountRequest, subscription_id: str | None = None) -> HttpResponse:
    here = request.here
    subscription = _subscription_for(request, subscription_id)
    if subscription is None:
        live = Subscription.objects.filter(account=here.account, status__in=LIVE_STATUSES).first()
        if live is not None:
            return redirect("web:upgrade", subscription_id=live.pk)
    elif not subscription.is_live:
        return redirect("web:subscriptions")
    order = _order_from(request, subscription)
    action = request.POST.get("action", "update") if request.method == "POST" else "show"
    alert = code_alert = notice = None
    entered = ""
    if action == "apply":
        entered = request.POST.get("discount_code", "").strip().upper()
        trial_order = Order(order.quantity, order.billing_cycle, entered)
        quote, refused = _quote(here, subscription, trial_order)
        if refused is not None and refused.code.startswith("discount_"):
            code_alert = refused.message  # the code is refused; everything else stays as it was
            quote, refused = _quote(here, subscription, order)
        else:
            order = trial_order
    elif action == "remove_code":
        order.code = ""
        quote, refused = _quote(here, subscription, order)
    elif action == "checkout":
        return _checkout(request, here, subscription, order)
    else:
        quote, refused = _quote(here, subscription, order)
    if refused is not None and refused.code not in QUIET_CODES:
        alert = refused.message
    return _render(
        request,
        here,
        subscription,
        order,
        quote,
        alert=alert,
        code_alert=code_alert,
        notice=notice,
        entered_code=entered,
    )


def _render(
    request,
    here,
    subscription,
    order,
    quote,
    *,
    alert=None,
    code_alert=None,
    notice=None,  # noqa: ANN001
    status: int = 200,
    entered_code: str = "",
) -> HttpResponse:
    context = {
        "entered_code": entered_code,
        "subscription": subscription,
        "product": subscription.product if subscription else product_get("testcloud"),
        "order": order,
        "additional": order.quantity - subscription.quantity if subscription and not subscription.is_trial else 0,
        "quote": quote,
        "alert": alert,
        "code_alert": code_alert,
        "notice": notice,
        "card": PaymentMethod.objects.filter(account=here.account).first(),
        "account": here.account,
        "idempotency_key": secrets.token_urlsafe(16),
        "prices": _prices(here, subscription),
        "trial": _trial_offer(here) if subscription is None else None,
        "monthly_locked": bool(subscription and subscription.billing_cycle == "year" and not subscription.is_trial),
    }
    template = (
        "web/_summary_response.html"
        if request.htmx and request.POST.get("action") == "update"
        else ("web/checkout.html")
    )
    return render(request, template, context, status=status)


def _trial_offer(here: Here):  # noqa: ANN202 - the Product, when the account may still start its trial
    if Subscription.objects.filter(account=here.account, trial_end__isnull=False).exists():
        return None
    return product_get("testcloud")


def _prices(here: Here, subscription: Subscription | None) -> dict:
    """The unit price each cycle would have: a subscription keeps its own for its cycle."""
    product = subscription.product if subscription else product_get("testcloud")
    currency = subscription.currency if subscription else here.account.currency
    prices = {p.billing_cycle: p for p in Price.objects.filter(product=product, currency=currency, active=True)}
    if subscription is not None and not subscription.is_trial:
        prices[subscription.billing_cycle] = subscription.price
    return prices


def _checkout(request: AccountRequest, here: Here, subscription: Subscription | None, order: Order) -> HttpResponse:
    quote = Quote.objects.filter(pk=request.POST.get("quote", ""), account=here.account).first()
    key = request.POST.get("idempotency_key") or secrets.token_urlsafe(16)
    scope = f"web:{here.account.pk}"
    # A form sent again (back button, double submit) answers what the first one did, even though
    # "additional" now reads against the upgraded subscription.
    done = idempotency_replay(scope=scope, key=key, fingerprint=quote.pk) if quote is not None else None
    if done is not None:
        return _replay(request, here, subscription, order, quote, done)
    if (
        quote is None
        or (quote.quantity, quote.billing_cycle) != (order.quantity, order.billing_cycle)
        or ((quote.discount_code.code if quote.discount_code else "") != order.code)
    ):
        fresh, refused = _quote(here, subscription, order)
        return _render(
            request,
            here,
            subscription,
            order,
            fresh,
            alert=refused.message if refused else None,
            notice="Your order changed. Review the summary and press Checkout again.",
        )
    try:
        claimed = idempotency_begin(scope=scope, key=key, fingerprint=quote.pk, now=here.now)
    except BillingError as refused:  # the same form is being submitted right now (double click)
        return _render(request, here, subscription, order, quote, alert=refused.message, status=409)
    if isinstance(claimed, Replay):
        return _replay(request, here, subscription, order, quote, claimed)
    try:
        result = quote_checkout(
            actor=here.actor, account=here.account, quote_id=quote.pk, gateway=get_gateway(), now=here.now
        )
    except BillingError as refused:
        idempotency_finish(claimed, status_code=402, body={"error": refused.message})
        return _render(request, here, subscription, order, quote, alert=refused.message, status=402)
    except BaseException:
        idempotency_finish(claimed, status_code=500, body=None)
        raise
    location = reverse("web:confirmation", kwargs={"invoice_id": result.invoice.pk})
    idempotency_finish(claimed, status_code=303, body={"location": location})
    return redirect(location)


def _replay(request, here, subscription, order, quote, replay: Replay) -> HttpResponse:  # noqa: ANN001
    if replay.body and replay.body.get("location"):
        return redirect(replay.body["location"])
    return _render(request, here, subscription, order, quote, alert=(replay.body or {}).get("error"), status=402)


@account_page(Capability.BILLING)
def confirmation(request: AccountRequest, invoice_id: str) -> HttpResponse:
    invoice = get_object_or_404(Invoice, pk=invoice_id, account=request.here.account)
    subscription = Subscription.objects.select_related("product", "discount_code").get(pk=invoice.subscription_id)
    return render(request, "web/confirmation.html", {"invoice": invoice, "subscription": subscription})
