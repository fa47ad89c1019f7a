"""Issuing invoices with gapless numbers."""

from collections.abc import Sequence
from datetime import datetime

from django.conf import settings

from seatplan.accounts.models import Account
from seatplan.invoices.models import Invoice, InvoiceCounter, InvoiceLine, InvoiceStatus
from seatplan.sqlrows import fetch_one, insert, new

# One statement: the UPDATE takes the row lock and says where the block ends (SQLite ≥ 3.35 and
# PostgreSQL both have RETURNING).
_TAKE_SQL = "UPDATE invoices_invoicecounter SET last_number = last_number + %s WHERE series = %s RETURNING last_number"


def invoice_numbers_take(count: int = 1, *, series: str | None = None) -> list[int]:
    """Take the next `count` numbers under the counter's row lock (call inside a transaction)."""
    series = series or settings.INVOICE_NUMBER_PREFIX
    row = fetch_one(_TAKE_SQL, [count, series], writes="invoices_invoicecounter")  # with writes held before
    if row is None:
        InvoiceCounter.objects.get_or_create(series=series)
        row = fetch_one(_TAKE_SQL, [count, series], writes="invoices_invoicecounter")  # with writes held before
    if row is None:
        raise InvoiceCounter.DoesNotExist(series)
    last = row[0]
    return list(range(last - count + 1, last + 1))


def format_number(series: str, sequence: int) -> str:
    return f"{series}-{sequence:06d}"


def invoice_draft(
    *,
    account: Account,
    subscription_id: str | None,
    currency: str,
    lines: Sequence[dict],
    subtotal: int,
    discount_total: int,
    tax: int,
    total: int,
    credit_applied: int,
    amount_due: int,
    paid: bool,
    now: datetime,
) -> Invoice:
    """An invoice with its id and lines but no number yet, not written: `invoice_issue` numbers and writes it.

    Its id can be referred to at once (a payment attempt, a redemption): foreign keys are checked at commit.
    """
    invoice = new(
        Invoice,
        series=settings.INVOICE_NUMBER_PREFIX,
        account=account,
        subscription_id=subscription_id,
        status=InvoiceStatus.PAID if paid else InvoiceStatus.OPEN,
        currency=currency,
        subtotal=subtotal,
        discount_total=discount_total,
        tax=tax,
        total=total,
        credit_applied=credit_applied,
        amount_due=amount_due,
        amount_paid=amount_due if paid else 0,
        billing_details=account.billing_details(),
        account_name=account.name,
        issued_at=now,
        paid_at=now if paid else None,
    )
    rows = [new(InvoiceLine, invoice=invoice, position=i, **line) for i, line in enumerate(lines)]
    # The lines as they will be written, for whoever shows the invoice next in this request (`line_list`).
    invoice.__dict__["drafted_lines"] = rows
    return invoice


def invoice_issue(invoice: Invoice) -> Invoice:
    """Number a draft and write it with its lines (inside the caller's transaction).

    Taking the number locks the series' counter until the transaction ends, and every invoice of the
    series waits for that lock: call this as late in the transaction as the caller can.
    """
    (invoice.sequence,) = invoice_numbers_take(1, series=invoice.series)
    invoice.number = format_number(invoice.series, invoice.sequence)
    insert(invoice)
    insert(*invoice.line_list, read_keys=False)  # nothing refers to a line by its key
    return invoice
