"""Billing: invoices (and their PDFs), the saved card, billing details."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from seatplan.accounts.permissions import Capability
from seatplan.accounts.services import billing_details_update
from seatplan.billing.errors import BillingError
from seatplan.invoices.models import Invoice
from seatplan.invoices.pdf import invoice_pdf
from seatplan.payments.gateway import get_gateway
from seatplan.payments.models import PaymentMethod
from seatplan.payments.services import payment_method_delete, payment_method_save
from seatplan.subscriptions.models import Subscription
from seatplan.web.context import AccountRequest, account_page, safe_next


@account_page(Capability.BILLING)
def invoice_list(request: AccountRequest) -> HttpResponse:
    invoices = Invoice.objects.filter(account=request.here.account).order_by("-issued_at", "-sequence")
    subscription = None
    if request.GET.get("subscription"):
        subscription = get_object_or_404(
            Subscription.objects.select_related("product"), pk=request.GET["subscription"], account=request.here.account
        )
        invoices = invoices.filter(subscription=subscription)
    return render(request, "web/invoices.html", {"invoices": invoices[:200], "subscription": subscription})


def _invoice(request: AccountRequest, invoice_id: str) -> Invoice:
    return get_object_or_404(Invoice.objects.prefetch_related("lines"), pk=invoice_id, account=request.here.account)


@account_page(Capability.BILLING)
def invoice_detail(request: AccountRequest, invoice_id: str) -> HttpResponse:
    invoice = _invoice(request, invoice_id)
    return render(request, "web/invoice.html", {"invoice": invoice, "lines": invoice.lines.all()})


@account_page(Capability.BILLING)
def invoice_download(request: AccountRequest, invoice_id: str) -> HttpResponse:
    invoice = _invoice(request, invoice_id)
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    return response


@account_page(Capability.BILLING)
def payment_method(request: AccountRequest) -> HttpResponse:
    here = request.here
    error, values = None, {}
    if request.method == "POST":
        values = {name: request.POST.get(name, "").strip() for name in ("card_number", "exp_month", "exp_year", "cvc")}
        try:
            payment_method_save(
                actor=here.actor,
                account=here.account,
                gateway=get_gateway(),
                card_number=values["card_number"],
                exp_month=_number(values["exp_month"]),
                exp_year=_number(values["exp_year"]),
                cvc=values["cvc"],
                now=here.now,
            )
        except BillingError as refused:
            error = refused
        else:
            messages.success(request, "Your card is saved.")
            return redirect(safe_next(request, "web:payment_method"))
    card = PaymentMethod.objects.filter(account=here.account).first()
    values.pop("card_number", None)  # never echo a card number back into the page
    values.pop("cvc", None)
    return render(
        request,
        "web/payment_method.html",
        {
            "card": card,
            "error": error,
            "values": values,
            "next": request.GET.get("next", ""),
            "sandbox_cards": get_gateway().name == "sandbox",
        },
        status=422 if error else 200,
    )


def _number(text: str) -> int:
    return int(text) if text.isdigit() else 0


@account_page(Capability.BILLING)
def payment_method_remove(request: AccountRequest) -> HttpResponse:
    here = request.here
    card = PaymentMethod.objects.filter(account=here.account).first()
    if card is None:
        return redirect("web:payment_method")
    if request.method == "POST":
        payment_method_delete(actor=here.actor, account=here.account, now=here.now)
        messages.success(request, "Your card was removed.")
        return redirect("web:payment_method")
    return render(request, "web/payment_method_remove.html", {"card": card})


@account_page(Capability.BILLING)
def billing_details(request: AccountRequest) -> HttpResponse:
    here = request.here
    error = None
    values = here.account.billing_details()
    values["invoice_emails"] = ", ".join(values["invoice_emails"])
    if request.method == "POST":
        values = {
            name: request.POST.get(name, "")
            for name in ("business_name", "address", "country", "vat_id", "invoice_emails")
        }
        emails = [e.strip() for e in values["invoice_emails"].replace("\n", ",").split(",") if e.strip()]
        try:
            billing_details_update(
                actor=here.actor, account=here.account, details={**values, "invoice_emails": emails}, now=here.now
            )
        except BillingError as refused:
            error = refused
        else:
            messages.success(request, "Billing details saved. New invoices will show them.")
            return redirect(safe_next(request, "web:billing_details"))
    return render(
        request,
        "web/billing_details.html",
        {"values": values, "error": error, "next": request.GET.get("next", "")},
        status=422 if error else 200,
    )
