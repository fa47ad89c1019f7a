"""Rows → the JSON bodies of API.md."""

from seatplan.accounts.models import Account, Membership
from seatplan.invoices.models import Invoice
from seatplan.payments.models import PaymentMethod
from seatplan.subscriptions.models import Quote, Subscription
from seatplan.subscriptions.serialize import iso, subscription_snapshot


def account_json(account: Account) -> dict:
    return {
        "id": account.pk,
        "name": account.name,
        "currency": account.currency,
        "billing_details": account.billing_details(),
        "credit_balance": account.credit_balance,
        "test_clock": account.test_clock_id,
        "created_at": iso(account.created_at),
        "deleted_at": iso(account.deleted_at),  # set once the Owner deleted it (the operator still sees it)
    }


def member_json(membership: Membership) -> dict:
    return {
        "id": membership.pk,
        "account": membership.account_id,
        "user": membership.user_id,
        "email": membership.user.email,
        "name": membership.user.name,
        "role": membership.role,
        "created_at": iso(membership.created_at),
    }


def subscription_json(subscription: Subscription) -> dict:
    return subscription_snapshot(subscription)


def _lines_json(lines: list[dict]) -> list[dict]:
    return [
        {**line, "period_start": _iso_text(line["period_start"]), "period_end": _iso_text(line["period_end"])}
        for line in lines
    ]


def _iso_text(value: str | None) -> str | None:
    return value.replace("+00:00", "Z") if value else None


def quote_json(quote: Quote) -> dict:
    return {
        "id": quote.pk,
        "account": quote.account_id,
        "subscription": quote.subscription_id,
        "product": quote.product.code,
        "billing_cycle": quote.billing_cycle,
        "quantity": quote.quantity,
        "discount_code": quote.discount_code.code if quote.discount_code else None,
        "expires_at": iso(quote.expires_at),
        "currency": quote.currency,
        "lines": _lines_json(quote.lines),
        "subtotal": quote.subtotal,
        "discount_total": quote.discount_total,
        "tax": quote.tax,
        "total": quote.total,
        "amount_due": quote.amount_due,
        "credit_applied": quote.credit_applied,
        "next_renewal_at": iso(quote.next_renewal_at),
        "next_renewal_amount": quote.next_renewal_amount,
        "used": quote.used_at is not None,
    }


def invoice_json(invoice: Invoice) -> dict:
    return {
        "id": invoice.pk,
        "number": invoice.number,
        "account": invoice.account_id,
        "subscription": invoice.subscription_id,
        "status": invoice.status,
        "currency": invoice.currency,
        "lines": [
            {
                "kind": line.kind,
                "description": line.description,
                "quantity": line.quantity,
                "unit_amount": line.unit_amount,
                "amount": line.amount,
                "period_start": iso(line.period_start),
                "period_end": iso(line.period_end),
                "proration": line.proration,
            }
            for line in invoice.line_list
        ],
        "subtotal": invoice.subtotal,
        "discount_total": invoice.discount_total,
        "tax": invoice.tax,
        "total": invoice.total,
        "amount_due": invoice.amount_due,
        "amount_paid": invoice.amount_paid,
        "credit_applied": invoice.credit_applied,
        "issued_at": iso(invoice.issued_at),
        "paid_at": iso(invoice.paid_at),
        "billing_details": {"name": invoice.account_name, **invoice.billing_details},
    }


def payment_method_json(method: PaymentMethod) -> dict:
    return {"brand": method.brand, "last4": method.last4, "exp_month": method.exp_month, "exp_year": method.exp_year}
