"""Charging an open renewal invoice again (SPEC §4.5): on schedule, on a new card, after a crash.

Every try is claimed under the subscription's row lock, and only when the invoice has no pending
attempt, so two workers (or a worker and a customer saving a card) never charge one invoice twice;
each try has its own gateway key: (subscription, period start, attempt number).
"""

from datetime import datetime

from django.db import transaction

from seatplan.events.delivery import deliver_after_commit
from seatplan.invoices.models import Invoice, InvoiceStatus
from seatplan.payments.gateway import Gateway
from seatplan.payments.models import AttemptStatus, PaymentAttempt, PaymentMethod
from seatplan.subscriptions.models import LIVE_STATUSES, Subscription
from seatplan.subscriptions.renewal import (
    ORPHANED_AFTER,
    Charge,
    attempt_key,
    attempts_finish,
    charge_one,
    scoped,
)


def _open_invoice(sub: Subscription) -> Invoice | None:
    return (
        Invoice.objects.filter(subscription_id=sub.pk, status=InvoiceStatus.OPEN, amount_due__gt=0)
        .order_by("-issued_at")
        .first()
    )


def _claim(sub: Subscription, now: datetime, *, scheduled: bool) -> Charge | None:
    """Record a pending attempt on the open invoice (caller holds the subscription's lock)."""
    invoice = _open_invoice(sub)
    if invoice is None:
        if scheduled and sub.next_retry_at is not None:
            Subscription.objects.filter(pk=sub.pk).update(next_retry_at=None)
        return None
    tries = PaymentAttempt.objects.filter(invoice=invoice)
    if tries.filter(status=AttemptStatus.PENDING).exists():
        return None  # someone is charging it right now
    period_start = invoice.lines.values_list("period_start", flat=True).first() or invoice.issued_at
    attempt = PaymentAttempt.objects.create(
        account_id=sub.account_id,
        invoice=invoice,
        amount=invoice.amount_due,
        currency=invoice.currency,
        gateway_key=attempt_key(sub.pk, period_start, tries.count()),
        created_at=now,
    )
    if scheduled:
        Subscription.objects.filter(pk=sub.pk).update(next_retry_at=None)  # the finish sets the next one
    token = PaymentMethod.objects.filter(account_id=sub.account_id).values_list("token", flat=True).first()
    return Charge(attempt.pk, token, attempt.amount, attempt.currency, attempt.gateway_key)


def retries_run(*, gateway: Gateway, now: datetime, account_ids: list[str] | None = None) -> int:
    """Charge every open renewal invoice whose retry is due; returns how many were tried."""
    tried, seen = 0, set[str]()
    while True:
        with transaction.atomic():
            due = scoped(Subscription.objects.filter(next_retry_at__lte=now, status__in=LIVE_STATUSES), account_ids)
            sub = (
                due.exclude(pk__in=seen)
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("next_retry_at", "pk")
                .first()
            )
            if sub is None:
                return tried
            seen.add(sub.pk)
            charge = _claim(sub, now, scheduled=True)
        if charge is not None:
            attempts_finish(results=[(charge.attempt_id, charge_one(charge, gateway, now))], now=now)
            tried += 1


def renewal_invoices_retry(*, account_id: str, gateway: Gateway, now: datetime) -> int:
    """A new card was saved: charge the account's open renewal invoices at once (§4.5)."""
    tried = 0
    ids = list(
        Invoice.objects.filter(
            account_id=account_id, status=InvoiceStatus.OPEN, amount_due__gt=0, subscription__status__in=LIVE_STATUSES
        )
        .values_list("subscription_id", flat=True)
        .distinct()
    )
    for sub_id in ids:
        with transaction.atomic():
            sub = Subscription.objects.select_for_update().get(pk=sub_id)
            charge = _claim(sub, now, scheduled=False) if sub.status in LIVE_STATUSES else None
        if charge is not None:
            attempts_finish(results=[(charge.attempt_id, charge_one(charge, gateway, now))], now=now, scheduled=False)
            tried += 1
    if tried:
        deliver_after_commit()  # the receipt goes out with the request, not with the next worker pass
    return tried


def renewal_attempts_recover(*, gateway: Gateway, now: datetime, account_ids: list[str] | None = None) -> int:
    """Finish renewal charges whose worker died after recording them: same key, so at most one charge."""
    orphaned = scoped(
        PaymentAttempt.objects.filter(
            status=AttemptStatus.PENDING, invoice__isnull=False, quote__isnull=True, created_at__lt=now - ORPHANED_AFTER
        ),
        account_ids,
    )
    recovered = 0
    for attempt in list(orphaned):
        token = PaymentMethod.objects.filter(account_id=attempt.account_id).values_list("token", flat=True).first()
        found = gateway.find_charge(idempotency_key=attempt.gateway_key)
        result = found or charge_one(
            Charge(attempt.pk, token, attempt.amount, attempt.currency, attempt.gateway_key), gateway, now
        )
        if result is None:
            continue  # the gateway cannot tell yet: asked again on the next pass
        attempts_finish(results=[(attempt.pk, result)], now=now)
        recovered += 1
    return recovered
