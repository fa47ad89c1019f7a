"""The e-mails of a subscription's life (SPEC §4.5, §4.6, §5): texts, recipients, outbox rows.

Every e-mail goes to the account's Owner, its Billing Managers and its extra invoice addresses,
through the outbox (written in the caller's transaction, sent after commit), with a dedupe key so
that a job running twice never sends one twice.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.urls import reverse

from seatplan.accounts.models import Account, Membership, Role
from seatplan.billing.money import format_money
from seatplan.events.models import OutboxEvent
from seatplan.events.services import email_enqueue, email_event
from seatplan.invoices.models import Invoice
from seatplan.sqlrows import insert
from seatplan.subscriptions.models import Subscription


@dataclass(frozen=True)
class Email:
    subject: str
    body: str
    dedupe_key: str
    attachments: tuple[str, ...] = ()  # invoice ids, attached as PDF


BILLING_ROLES = (Role.OWNER, Role.BILLING_MANAGER)  # who receives billing e-mails (with invoice_emails)


def billing_recipients(account_ids: Iterable[str]) -> dict[str, list[str]]:
    """Owner, Billing Managers and extra invoice addresses of each account."""
    ids = list(set(account_ids))
    members: dict[str, list[str]] = {pk: [] for pk in ids}
    for account_id, email in Membership.objects.filter(account_id__any=ids, role__in=BILLING_ROLES).values_list(
        "account_id", "user__email"
    ):
        members[account_id].append(email)
    return {
        pk: _addresses(members[pk], extra)
        for pk, extra in Account.objects.filter(pk__any=ids).values_list("pk", "invoice_emails")
    }


def account_recipients(account: Account, member_emails: list[str]) -> list[str]:
    """billing_recipients of one account in hand, its Owner's and Billing Managers' addresses read already."""
    return _addresses(member_emails, account.invoice_emails)


def _addresses(member_emails: Iterable[str], invoice_emails: list[str] | None) -> list[str]:
    return sorted({address.lower() for address in [*member_emails, *(invoice_emails or [])] if address})


def email_send(*, account_id: str, email: Email, now: datetime) -> None:
    """Queue one e-mail (inside the caller's transaction)."""
    to = billing_recipients([account_id])[account_id]
    email_enqueue(
        account_id=account_id,
        to=to,
        subject=email.subject,
        body=email.body,
        now=now,
        dedupe_key=email.dedupe_key,
        attachments=list(email.attachments),
    )


def email_rows(*, account_id: str, to: list[str], email: Email, now: datetime) -> OutboxEvent | None:
    """The outbox row of one e-mail, for a batch's bulk insert (as email_enqueue writes it)."""
    return email_event(
        account_id=account_id,
        to=to,
        subject=email.subject,
        body=email.body,
        now=now,
        dedupe_key=email.dedupe_key,
        attachments=email.attachments,
    )


def emails_queue(items: list[tuple[str, "Email"]], now: datetime) -> None:
    """Queue a batch job's e-mails (account id, e-mail) in one insert; the worker sends them after the pass."""
    recipients = billing_recipients(account_id for account_id, _ in items)
    rows = [
        email_rows(account_id=account_id, to=recipients[account_id], email=email, now=now)
        for account_id, email in items
    ]
    insert(*[row for row in rows if row is not None], ignore_conflicts=True)


def _link(name: str) -> str:
    return settings.SITE_URL + _path(name)


@lru_cache(maxsize=64)
def _path(name: str) -> str:
    return reverse(f"web:{name}")  # the same for every e-mail of a batch: resolved once


def _date(value: datetime) -> str:
    return value.strftime("%B %-d, %Y")


def _product(subscription: Subscription) -> str:
    return subscription.product.name


def receipt(invoice: Invoice) -> Email:
    amount = format_money(invoice.amount_paid, invoice.currency)
    body = (
        f"Thank you for your payment.\n\n"
        f"Invoice {invoice.number}\n"
        f"Total: {format_money(invoice.total, invoice.currency)}\n"
        + (
            f"Account credit used: {format_money(invoice.credit_applied, invoice.currency)}\n"
            if invoice.credit_applied
            else ""
        )
        + f"Paid: {amount}\n\n"
        f"The invoice is attached as a PDF; all invoices are on your Billing page:\n{_link('invoices')}\n"
    )
    return Email(
        subject=f"Receipt for invoice {invoice.number} ({amount})",
        body=body,
        dedupe_key=f"email:receipt:{invoice.pk}",
        attachments=(invoice.pk,),
    )


def renewal_reminder(subscription: Subscription, amount: int) -> Email:
    end = subscription.current_period_end
    quantity = subscription.scheduled_quantity or subscription.quantity
    money = format_money(amount, subscription.currency)
    body = (
        f"Your {_product(subscription)} subscription ({quantity} sessions, "
        f"{'annual' if subscription.billing_cycle == 'year' else 'monthly'}) renews on {_date(end)} "
        f"for {money}, charged to your saved card.\n\n"
        f"To change or cancel it before then:\n{_link('subscriptions')}\n"
    )
    return Email(
        subject=f"Your {_product(subscription)} subscription renews on {_date(end)}",
        body=body,
        dedupe_key=f"email:reminder:{subscription.pk}:{end.isoformat()}",
    )


def payment_failed(subscription: Subscription, invoice: Invoice, attempt_id: str, retry_at: datetime | None) -> Email:
    money = format_money(invoice.amount_due, invoice.currency)
    then = (
        f"We will try again on {_date(retry_at)}." if retry_at else "This was the last try: the subscription has ended."
    )
    body = (
        f"We could not charge {money} for invoice {invoice.number} "
        f"({_product(subscription)}, {subscription.quantity} sessions). {then}\n\n"
        f"Your sessions stay available while we retry. Update your card and we will charge it at once:\n"
        f"{_link('payment_method')}\n"
    )
    return Email(
        subject=f"Payment failed for invoice {invoice.number}",
        body=body,
        dedupe_key=f"email:payment_failed:{attempt_id}",
    )


def subscription_ended(subscription: Subscription, reason: str) -> Email:
    body = (
        f"Your {_product(subscription)} subscription ({subscription.quantity} sessions) has ended: {reason}\n\n"
        f"You can subscribe again at any time:\n{_link('subscriptions')}\n"
    )
    return Email(
        subject=f"Your {_product(subscription)} subscription has ended",
        body=body,
        dedupe_key=f"email:ended:{subscription.pk}",
    )


def trial_ending(subscription: Subscription) -> Email:
    assert subscription.trial_end is not None
    body = (
        f"Your free {_product(subscription)} trial ({subscription.quantity} sessions) ends on "
        f"{_date(subscription.trial_end)}. Nothing is charged: it simply ends.\n\n"
        f"To keep your sessions, subscribe before then:\n{_link('subscriptions')}\n"
    )
    return Email(
        subject=f"Your {_product(subscription)} trial ends on {_date(subscription.trial_end)}",
        body=body,
        dedupe_key=f"email:trial_ending:{subscription.pk}",
    )
