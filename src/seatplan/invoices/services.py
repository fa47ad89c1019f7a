"""Issuing invoices with gapless numbers."""

from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.db.models import F

from seatplan.accounts.models import Account
from seatplan.invoices.models import Invoice, InvoiceCounter, InvoiceLine, InvoiceStatus


def invoice_numbers_take(count: int = 1, *, series: str | None = None) -> list[int]:
    """Take the next `count` numbers under the counter's row lock (call inside a transaction)."""
    series = series or settings.INVOICE_NUMBER_PREFIX
    counter = InvoiceCounter.objects.filter(series=series)
    if not counter.update(last_number=F("last_number") + count):
        InvoiceCounter.objects.get_or_create(series=series)
        counter.update(last_number=F("last_number") + count)
    last = InvoiceCounter.objects.values_list("last_number", flat=True).get(series=series)
    return list(range(last - count + 1, last + 1))


def format_number(series: str, sequence: int) -> str:
    return f"{series}-{sequence:06d}"


def invoice_issue(
    *, account: Account, subscription_id: str | None, currency: str, lines: Sequence[dict],
    subtotal: int, discount_total: int, tax: int, total: int, credit_applied: int, amount_due: int,
    paid: bool, now: datetime,
) -> Invoice:
    """Issue one invoice (inside the caller's transaction); paid ones carry their payment."""
    series = settings.INVOICE_NUMBER_PREFIX
    (sequence,) = invoice_numbers_take(1, series=series)
    invoice = Invoice.objects.create(
        series=series, sequence=sequence, number=format_number(series, sequence), account=account,
        subscription_id=subscription_id, status=InvoiceStatus.PAID if paid else InvoiceStatus.OPEN,
        currency=currency, subtotal=subtotal, discount_total=discount_total, tax=tax, total=total,
        credit_applied=credit_applied, amount_due=amount_due, amount_paid=amount_due if paid else 0,
        billing_details=account.billing_details(), account_name=account.name, issued_at=now,
        paid_at=now if paid else None,
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(invoice=invoice, position=i, **line) for i, line in enumerate(lines)
    )
    return invoice
