"""Renewal at period end (SPEC §4.5), in batches that any number of workers can run at once.

A batch is three steps, like a checkout (DESIGN.md "Concurrency and money safety"):
1. claim and issue — one transaction: lock up to BATCH_SIZE due subscriptions (`SKIP LOCKED`, so
   workers never wait for each other's rows), move each to its next period, issue its invoice
   `open` (one block of gapless numbers for the batch), and record a pending payment attempt whose
   gateway key is derived from (subscription, period start, attempt number). Once committed the
   subscriptions are no longer due: the same instant run again finds nothing.
2. charge — outside any transaction, each attempt with its own key: asking twice never charges twice.
3. finish — one transaction: paid invoices, receipts; declines go to `payment_declined`.
A crash between 1 and 3 leaves pending attempts that `renewal_attempts_recover` finishes.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet

from seatplan.accounts.models import Account
from seatplan.accounts.permissions import SYSTEM
from seatplan.billing.renewal import ERROR_RETRIES, ERROR_RETRY_DELAY, next_retry_at, renewal_compute
from seatplan.events.models import AuditEntry, OutboxEvent
from seatplan.events.services import (
    AUDIT_COLUMNS,
    OUTBOX_COLUMNS,
    audit_row,
    email_payload,
    outbox_add,
    outbox_row,
)
from seatplan.invoices.models import Invoice, InvoiceLine, InvoiceStatus
from seatplan.invoices.services import format_number, invoice_numbers_take
from seatplan.payments.gateway import FAILURE_MESSAGES, ChargeResult, ChargeUnknown, Gateway, charge_by_key
from seatplan.payments.models import AttemptStatus, PaymentAttempt, PaymentMethod
from seatplan.sqlrows import copy_rows
from seatplan.subscriptions import emails
from seatplan.subscriptions.bulk import rows_update
from seatplan.subscriptions.changes import subscription_changed
from seatplan.subscriptions.models import LIVE_STATUSES, Status, Subscription
from seatplan.subscriptions.serialize import subscription_snapshot
from seatplan.subscriptions.terms import current_terms

BATCH_SIZE = 200
_RENEWED_FIELDS = [
    "quantity",
    "scheduled_quantity",
    "current_period_start",
    "current_period_end",
    "period_value",
    "discount_code_id",
    "discount_remaining_cycles",
]
_RENEWED_TYPES = ["integer", "integer", "timestamptz", "timestamptz", "bigint", "varchar", "integer"]


def scoped(queryset: QuerySet, account_ids: list[str] | None) -> QuerySet:
    """Real time bills accounts without a test clock; a clock's advance bills its own accounts."""
    if account_ids is None:
        return queryset.filter(account__test_clock__isnull=True)
    return queryset.filter(account_id__any=account_ids)


def attempt_key(subscription_id: str, period_start: datetime, number: int) -> str:
    """The gateway key of a renewal charge: the same try of the same renewal is the same charge."""
    return f"ren_{subscription_id}_{period_start:%Y%m%dT%H%M%S}_{number}"


@dataclass(frozen=True)
class Charge:
    """A pending attempt to send to the gateway."""

    attempt_id: str
    token: str | None  # None: no saved card
    amount: int
    currency: str
    key: str


def charge_one(charge: Charge, gateway: Gateway, now: datetime) -> ChargeResult | None:
    """Charge once by key; when the call fails midway, ask the gateway what happened. None: it cannot tell
    yet, and the attempt stays pending for `renewal_attempts_recover`."""
    if charge.token is None:
        return ChargeResult(
            succeeded=False,
            charge_id="",
            failure_code="payment_method_missing",
            failure_message=FAILURE_MESSAGES["payment_method_missing"],
        )
    try:
        return charge_by_key(
            gateway,
            token=charge.token,
            amount=charge.amount,
            currency=charge.currency,
            idempotency_key=charge.key,
            now=now,
        )
    except ChargeUnknown:
        return None


def charge_all(charges: list[Charge], gateway: Gateway, now: datetime) -> list[tuple[str, ChargeResult | None]]:
    """Charge a batch: in one call when the gateway takes batches (the sandbox does), else one by one."""
    batch = [c for c in charges if c.token is not None]
    charge_many = getattr(gateway, "charge_many", None)
    if charge_many is None or not batch:
        return [(c.attempt_id, charge_one(c, gateway, now)) for c in charges]
    try:
        answers = charge_many(
            [{"token": c.token, "amount": c.amount, "currency": c.currency, "idempotency_key": c.key} for c in batch],
            now=now,
        )
    except Exception:  # noqa: BLE001 - the batch call failed as a whole: one by one, by key, is always safe
        return [(c.attempt_id, charge_one(c, gateway, now)) for c in charges]
    results = dict(zip([c.attempt_id for c in batch], answers, strict=True))
    return [
        (c.attempt_id, results[c.attempt_id] if c.token is not None else charge_one(c, gateway, now)) for c in charges
    ]


def renewals_run(
    *, gateway: Gateway, now: datetime, account_ids: list[str] | None = None, batch_size: int = BATCH_SIZE
) -> int:
    """Renew every subscription due at `now`, batch by batch; returns how many were renewed."""
    renewed, skipped = 0, set[str]()
    while True:
        batch = _claim_and_issue(now=now, account_ids=account_ids, batch_size=batch_size, skip=skipped)
        if batch is None:
            return renewed
        charges, count = batch
        renewed += count
        attempts_finish(results=charge_all(charges, gateway, now), now=now)


def _due(now: datetime, account_ids: list[str] | None, skip: set[str]) -> QuerySet:
    due = Subscription.objects.filter(
        status=Status.ACTIVE, auto_renew=True, is_trial=False, current_period_end__lte=now
    )
    return scoped(due, account_ids).exclude(pk__any=list(skip)) if skip else scoped(due, account_ids)


def _claim_and_issue(
    *, now: datetime, account_ids: list[str] | None, batch_size: int, skip: set[str]
) -> tuple[list[Charge], int] | None:
    """One batch: (charges to make, subscriptions renewed), or None when nothing is due."""
    with transaction.atomic():
        # Claim ids only, in index order (status, current_period_end): no join to sort, so a batch costs
        # the same with 100 or 1,000,000 subscriptions due.
        ids = list(
            _due(now, account_ids, skip)
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("current_period_end")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return None
        subs = list(
            Subscription.objects.filter(pk__any=ids)
            .select_related("product", "discount_code")
            .order_by("current_period_end", "pk")
        )
        accounts = {a.pk: a for a in Account.objects.filter(pk__any=[s.account_id for s in subs])}
        credits = _lock_credits(subs, accounts, skip)
        subs = [s for s in subs if s.pk not in skip]  # their account is busy: left for the next pass
        if not subs:
            return [], 0
        return _issue(subs, accounts, credits, now), len(subs)


def _lock_credits(subs: list[Subscription], accounts: dict[str, Account], skip: set[str]) -> dict[str, int]:
    """Lock the accounts that have credit to use (rare); a busy one waits for the next round."""
    with_credit = {pk for pk, account in accounts.items() if account.credit_balance > 0}
    if not with_credit:
        return {}
    # Subscription first, account second is the reverse of checkout's order: never wait for it.
    credits = dict(
        Account.objects.filter(pk__any=list(with_credit))
        .select_for_update(skip_locked=True)
        .order_by("pk")
        .values_list("pk", "credit_balance")
    )
    skip.update(s.pk for s in subs if s.account_id in with_credit and s.account_id not in credits)
    return credits


_INVOICE_COLUMNS = [
    "id",
    "series",
    "sequence",
    "number",
    "account_id",
    "subscription_id",
    "status",
    "currency",
    "subtotal",
    "discount_total",
    "tax",
    "total",
    "credit_applied",
    "amount_due",
    "amount_paid",
    "billing_details",
    "account_name",
    "issued_at",
    "paid_at",
]
_LINE_COLUMNS = [
    "invoice_id",
    "position",
    "kind",
    "description",
    "quantity",
    "unit_amount",
    "amount",
    "period_start",
    "period_end",
    "proration",
]
_ATTEMPT_COLUMNS = [
    "id",
    "account_id",
    "quote_id",
    "invoice_id",
    "amount",
    "currency",
    "gateway_key",
    "gateway_charge_id",
    "status",
    "failure_code",
    "created_at",
    "finished_at",
]
_new_invoice_id = Invoice._meta.pk.default
_new_attempt_id = PaymentAttempt._meta.pk.default


def _issue(
    subs: list[Subscription], accounts: dict[str, Account], credits: dict[str, int], now: datetime
) -> list[Charge]:
    """Move each subscription to its next period and issue its open invoice and pending attempt.

    The rows are written as tuples (thousands per second: model instances would cost more than the
    renewal), the invoices last: the counter row that numbers them stays locked only from there to commit.
    """
    tokens = dict(PaymentMethod.objects.filter(account_id__any=list(accounts)).values_list("account_id", "token"))
    details = {pk: a.billing_details() for pk, a in accounts.items()}
    issued: list[tuple] = []
    lines: list[tuple] = []
    attempts: list[tuple] = []
    audits: list[tuple] = []
    events: list[tuple] = []
    charges: list[Charge] = []
    used_credit: dict[str, int] = defaultdict(int)
    for sub in subs:
        before = subscription_snapshot(sub)
        balance = credits.get(sub.account_id, 0) - used_credit[sub.account_id]
        result = renewal_compute(current=current_terms(sub), credit_balance=balance, product_name=sub.product.name)
        used_credit[sub.account_id] += result.credit_applied
        _move_to_next_period(sub, result)
        invoice_id = _new_invoice_id()
        issued.append((invoice_id, sub, result))
        lines.extend(
            (
                invoice_id,
                i,
                line.kind,
                line.description,
                line.quantity,
                line.unit_amount,
                line.amount,
                line.period_start,
                line.period_end,
                line.proration,
            )
            for i, line in enumerate(result.lines)
        )
        after = subscription_snapshot(sub)
        changed = [k for k in after if after[k] != before[k]]  # the renewal's own change, not the whole row
        audits.append(
            audit_row(
                actor=SYSTEM,
                account_id=sub.account_id,
                action="subscription.renewed",
                object_type="Subscription",
                object_id=sub.pk,
                before={k: before[k] for k in changed},
                after={k: after[k] for k in changed},
                now=now,
            )
        )
        events.append(
            outbox_row(
                account_id=sub.account_id,
                type="subscription.renewed",
                now=now,
                payload={"subscription": sub.pk, "invoice": invoice_id, **after},
            )
        )
        if result.amount_due:
            charge = Charge(
                _new_attempt_id(),
                tokens.get(sub.account_id),
                result.amount_due,
                sub.currency,
                attempt_key(sub.pk, result.period_start, 0),
            )
            attempts.append(
                (
                    charge.attempt_id,
                    sub.account_id,
                    None,
                    invoice_id,
                    charge.amount,
                    charge.currency,
                    charge.key,
                    "",
                    AttemptStatus.PENDING,
                    "",
                    now,
                    None,
                )
            )
            charges.append(charge)
    rows_update(
        Subscription,
        _RENEWED_FIELDS,
        [
            (
                s.pk,
                s.quantity,
                None,
                s.current_period_start,
                s.current_period_end,
                s.period_value,
                s.discount_code_id,
                s.discount_remaining_cycles,
            )
            for s in subs
        ],
        sql_types=_RENEWED_TYPES,
        bump_version=True,
    )
    for account_id, used in used_credit.items():
        if used:
            Account.objects.filter(pk=account_id).update(credit_balance=F("credit_balance") - used)
    copy_rows(InvoiceLine, _LINE_COLUMNS, lines)
    copy_rows(PaymentAttempt, _ATTEMPT_COLUMNS, attempts)
    copy_rows(AuditEntry, AUDIT_COLUMNS, audits)
    # Last: the block of gapless numbers, then the invoices (foreign keys to them are checked at commit).
    series = settings.INVOICE_NUMBER_PREFIX
    numbers = invoice_numbers_take(len(issued), series=series)
    invoices, paid = [], []
    for (invoice_id, sub, result), number in zip(issued, numbers, strict=True):
        account = accounts[sub.account_id]
        is_paid = result.amount_due == 0
        invoices.append(
            (
                invoice_id,
                series,
                number,
                format_number(series, number),
                sub.account_id,
                sub.pk,
                InvoiceStatus.PAID if is_paid else InvoiceStatus.OPEN,
                sub.currency,
                result.subtotal,
                result.discount_total,
                result.tax,
                result.total,
                result.credit_applied,
                result.amount_due,
                0,
                details[sub.account_id],
                account.name,
                now,
                now if is_paid else None,
            )
        )
        if is_paid:  # all of it from account credit: paid as issued
            paid.append(
                Invoice(
                    id=invoice_id,
                    number=format_number(series, number),
                    account_id=sub.account_id,
                    currency=sub.currency,
                    total=result.total,
                    credit_applied=result.credit_applied,
                    amount_due=0,
                )
            )
    copy_rows(Invoice, _INVOICE_COLUMNS, invoices)
    copy_rows(OutboxEvent, OUTBOX_COLUMNS, [*events, *_receipts(paid, now)])
    return charges


def _move_to_next_period(sub: Subscription, result) -> None:  # noqa: ANN001 - RenewalResult
    sub.quantity = result.quantity
    sub.scheduled_quantity = None
    sub.current_period_start = result.period_start
    sub.current_period_end = result.period_end
    sub.period_value = result.period_value
    if result.discount is None:
        sub.discount_code = None
        sub.discount_remaining_cycles = None
    else:
        sub.discount_remaining_cycles = result.discount.remaining_cycles
    sub.version += 1


def _receipts(invoices: list[Invoice], now: datetime) -> list[tuple]:
    """invoice.paid events and receipt e-mails (outbox rows, OUTBOX_COLUMNS) for paid invoices."""
    if not invoices:
        return []
    recipients = emails.billing_recipients(i.account_id for i in invoices)
    rows = []
    for invoice in invoices:
        invoice.amount_paid = invoice.amount_due
        rows.append(
            outbox_row(
                account_id=invoice.account_id,
                type="invoice.paid",
                now=now,
                payload={"invoice": invoice.pk, "number": invoice.number, "amount_paid": invoice.amount_paid},
            )
        )
        email = emails.receipt(invoice)
        payload = email_payload(
            to=recipients[invoice.account_id], subject=email.subject, body=email.body, attachments=email.attachments
        )
        if payload is not None:
            rows.append(
                outbox_row(
                    account_id=invoice.account_id, type="email", payload=payload, now=now, dedupe_key=email.dedupe_key
                )
            )
    return rows


# --- finishing ----------------------------------------------------------------------------------


def attempts_finish(*, results: list[tuple[str, ChargeResult | None]], now: datetime, scheduled: bool = True) -> None:
    """Record the gateway's answers: paid invoices and receipts; declines one by one. An attempt without an
    answer (None: the gateway cannot tell yet) stays pending for recovery.

    `scheduled` is False for a retry the customer triggered by saving a card: its failure leaves the
    retry schedule as it was.
    """
    by_id = {attempt_id: result for attempt_id, result in results if result is not None}
    if not by_id:
        return
    with transaction.atomic():
        # The pending attempts with what a receipt needs of their invoices; a decline reads its rows again.
        pending = list(
            PaymentAttempt.objects.select_for_update(of=("self",))
            .filter(pk__any=list(by_id), status=AttemptStatus.PENDING)
            .order_by("pk")
            .values_list(
                "pk",
                "account_id",
                "invoice_id",
                "invoice__number",
                "invoice__subscription_id",
                "invoice__currency",
                "invoice__total",
                "invoice__credit_applied",
                "invoice__amount_due",
            )
        )
        paid = [row for row in pending if by_id[row[0]].succeeded]
        if paid:
            _mark_paid(paid, by_id, now)
        declined = [row[0] for row in pending if not by_id[row[0]].succeeded]
        for attempt in PaymentAttempt.objects.filter(pk__any=declined).select_related("invoice").order_by("pk"):
            payment_declined(attempt=attempt, result=by_id[attempt.pk], scheduled=scheduled, now=now)


def _mark_paid(paid: list[tuple], by_id: dict[str, ChargeResult], now: datetime) -> None:
    rows_update(
        PaymentAttempt,
        ["status", "gateway_charge_id", "finished_at"],
        [(row[0], AttemptStatus.SUCCEEDED, by_id[row[0]].charge_id, now) for row in paid],
        sql_types=["varchar", "varchar", "timestamptz"],
    )
    Invoice.objects.filter(pk__any=[row[2] for row in paid], status=InvoiceStatus.OPEN).update(
        status=InvoiceStatus.PAID, amount_paid=F("amount_due"), paid_at=now
    )
    recovered = list(
        Subscription.objects.filter(pk__any=[row[4] for row in paid], status__in=LIVE_STATUSES)
        .filter(Q(status=Status.PAST_DUE) | Q(next_retry_at__isnull=False))
        .select_for_update(of=("self",))
        .select_related("product", "discount_code")
    )
    for sub in recovered:
        before = subscription_snapshot(sub)
        sub.status, sub.next_retry_at, sub.version = Status.ACTIVE, None, sub.version + 1
        sub.save(update_fields=["status", "next_retry_at", "version"])
        _changed(sub, "subscription.payment_recovered", before, now)
    invoices = [
        Invoice(
            id=invoice_id,
            number=number,
            account_id=account_id,
            subscription_id=subscription_id,
            currency=currency,
            total=total,
            credit_applied=credit_applied,
            amount_due=amount_due,
        )
        for _, account_id, invoice_id, number, subscription_id, currency, total, credit_applied, amount_due in paid
    ]
    copy_rows(OutboxEvent, OUTBOX_COLUMNS, _receipts(invoices, now))


def _changed(sub: Subscription, action: str, before: dict, now: datetime) -> None:
    subscription_changed(actor=SYSTEM, subscription=sub, action=action, before=before, now=now)


def _trailing_errors(invoice_id: str) -> int:
    """Retryable gateway errors in a row, most recent first, on this invoice."""
    count = 0
    for status, code in (
        PaymentAttempt.objects.filter(invoice_id=invoice_id)
        .exclude(status=AttemptStatus.PENDING)
        .order_by("-created_at", "-pk")
        .values_list("status", "failure_code")
    ):
        if status != AttemptStatus.FAILED or code != "processing_error":
            break
        count += 1
    return count


def payment_declined(*, attempt: PaymentAttempt, result: ChargeResult, scheduled: bool, now: datetime) -> None:
    """A renewal charge failed: retry soon (gateway error), on the schedule (decline), or end (§4.5)."""
    attempt.status, attempt.failure_code = AttemptStatus.FAILED, result.failure_code or "card_declined"
    attempt.gateway_charge_id, attempt.finished_at = result.charge_id, now
    attempt.save(update_fields=["status", "failure_code", "gateway_charge_id", "finished_at"])
    invoice = attempt.invoice
    if invoice is None:
        raise ValueError(f"renewal attempt {attempt.pk} has no invoice")
    sub = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("product", "discount_code")
        .get(pk=invoice.subscription_id)
    )
    outbox_add(
        account_id=sub.account_id,
        type="payment.failed",
        now=now,
        payload={
            "attempt": attempt.pk,
            "invoice": invoice.pk,
            "code": attempt.failure_code,
            "amount": attempt.amount,
            "retryable": result.retryable,
        },
    )
    if sub.status == Status.ENDED or invoice.status != InvoiceStatus.OPEN:
        return
    if not scheduled:
        emails.email_send(
            account_id=sub.account_id, now=now, email=emails.payment_failed(sub, invoice, attempt.pk, sub.next_retry_at)
        )
        return
    before = subscription_snapshot(sub)
    if result.retryable and _trailing_errors(invoice.pk) < ERROR_RETRIES:
        # A gateway hiccup is not the customer's decline: try again soon, status unchanged.
        sub.next_retry_at = now + ERROR_RETRY_DELAY
        sub.save(update_fields=["next_retry_at"])
        return
    retry_at = next_retry_at(invoice.issued_at, now)
    if retry_at is None:
        _terminate(sub, invoice, before, now)
        return
    sub.status, sub.next_retry_at, sub.version = Status.PAST_DUE, retry_at, sub.version + 1
    sub.save(update_fields=["status", "next_retry_at", "version"])
    _changed(sub, "subscription.past_due", before, now)
    emails.email_send(
        account_id=sub.account_id, now=now, email=emails.payment_failed(sub, invoice, attempt.pk, retry_at)
    )


def _terminate(sub: Subscription, invoice: Invoice, before: dict, now: datetime) -> None:
    """The last retry failed: the subscription ends and its invoice is uncollectible."""
    Invoice.objects.filter(pk=invoice.pk, status=InvoiceStatus.OPEN).update(status=InvoiceStatus.UNCOLLECTIBLE)
    invoice.status = InvoiceStatus.UNCOLLECTIBLE
    email = sub_end(
        sub,
        ended_at=now,
        action="subscription.terminated",
        before=before,
        now=now,
        reason=f"the renewal payment for invoice {invoice.number} failed after every retry.",
    )
    emails.email_send(account_id=sub.account_id, email=email, now=now)
    outbox_add(
        account_id=sub.account_id,
        type="invoice.marked_uncollectible",
        now=now,
        payload={"invoice": invoice.pk, "number": invoice.number, "amount_due": invoice.amount_due},
    )


def sub_end(
    sub: Subscription, *, ended_at: datetime, action: str, before: dict, now: datetime, reason: str
) -> emails.Email:
    """End a subscription (locked by the caller): status, audit, webhook, sessions; returns the e-mail to send."""
    sub.status, sub.ended_at, sub.next_retry_at, sub.version = Status.ENDED, ended_at, None, sub.version + 1
    sub.save(update_fields=["status", "ended_at", "next_retry_at", "version"])
    _changed(sub, action, before, now)
    leases_settle_on_commit(sub.account_id, now)
    return emails.subscription_ended(sub, reason)


def leases_settle_on_commit(account_id: str, now: datetime) -> None:
    """The session limit changed: settle the account's queue once this commits."""
    from seatplan.leases.services import leases_settle_on_commit as settle  # here: leases depend on subscriptions

    settle(account_id, now)


ORPHANED_AFTER = timedelta(minutes=10)  # longer than a batch's charges can take
