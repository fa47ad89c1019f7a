"""Checkout: charge exactly what the quote shows, then change the subscription (SPEC §4.2).

Three steps, as DESIGN.md "Concurrency and money safety" lays out:
1. reserve — one transaction: lock the account, validate the quote, hold its discount and
   record a pending payment attempt (one at a time per account);
2. charge — the gateway call, outside any transaction, with the attempt's key;
3. finish — one transaction: on success apply the change and issue the paid invoice; on a
   decline mark the attempt failed and release the hold, changing nothing else.
A crash between 2 and 3 is repaired by `payment_attempts_recover`, which asks the gateway
with the same key and runs step 3.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F

from seatplan.accounts.models import Account
from seatplan.accounts.permissions import SYSTEM, Actor, Capability
from seatplan.billing.errors import BillingError
from seatplan.catalog.models import DiscountCode, DiscountRedemption
from seatplan.catalog.selectors import discount_check_available
from seatplan.events.services import audit_record, outbox_add
from seatplan.ids import make_id
from seatplan.invoices.models import Invoice
from seatplan.invoices.services import invoice_issue
from seatplan.payments.gateway import FAILURE_MESSAGES, ChargeResult, Gateway
from seatplan.payments.models import AttemptStatus, PaymentAttempt, PaymentMethod
from seatplan.subscriptions.emails import email_send, receipt
from seatplan.subscriptions.models import LIVE_STATUSES, Quote, Status, Subscription
from seatplan.subscriptions.serialize import subscription_snapshot
from seatplan.subscriptions.terms import line_from_json

# A pending attempt older than this is presumed orphaned by a crash and is recovered.
ORPHANED_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class CheckoutResult:
    subscription: Subscription
    invoice: Invoice


def quote_checkout(
    *, actor: Actor, account: Account, quote_id: str, gateway: Gateway, now: datetime
) -> CheckoutResult:
    actor.require(Capability.PURCHASE)
    _recover_orphans(account=account, gateway=gateway, now=now)
    reserved = _reserve(actor=actor, account_id=account.pk, quote_id=quote_id, now=now)
    if isinstance(reserved, CheckoutResult):
        return reserved  # nothing was due: applied in step 1
    method_token, attempt = reserved
    try:
        result = gateway.charge(token=method_token, amount=attempt.amount, currency=attempt.currency,
                                idempotency_key=attempt.gateway_key, now=now)
    except Exception:
        # The call may or may not have reached the gateway: ask it, with the same key.
        result = gateway.find_charge(idempotency_key=attempt.gateway_key) or ChargeResult(
            succeeded=False, charge_id="", failure_code="processing_error",
            failure_message=FAILURE_MESSAGES["processing_error"],
        )
    return _finish(actor=actor, attempt_id=attempt.pk, result=result, gateway=gateway, now=now)


def _reserve(*, actor: Actor, account_id: str, quote_id: str, now: datetime):  # noqa: ANN202
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        quote = Quote.objects.select_for_update().filter(pk=quote_id, account=account).first()
        if quote is None:
            raise BillingError("not_found", "No such quote.", "quote")
        pending = PaymentAttempt.objects.filter(account=account, status=AttemptStatus.PENDING).first()
        if pending is not None:
            if pending.quote_id == quote.pk:
                raise BillingError("quote_used", "This quote is being checked out.")
            raise BillingError("quote_stale", "Another checkout for this account is in progress; "
                                              "get a new quote.")
        subscription = _validate(quote, account, now)
        _hold_discount(quote, account)
        if quote.amount_due == 0:
            return _apply(actor=actor, account=account, quote=quote, subscription=subscription,
                          attempt=None, now=now)
        method = PaymentMethod.objects.filter(account=account).first()
        if method is None:
            raise BillingError("payment_method_missing", FAILURE_MESSAGES["payment_method_missing"])
        attempt = PaymentAttempt.objects.create(
            account=account, quote=quote, amount=quote.amount_due, currency=quote.currency,
            gateway_key=make_id("chk"), created_at=now,
        )
        return method.token, attempt


def _validate(quote: Quote, account: Account, now: datetime) -> Subscription | None:
    """The quote still describes a change that can happen now; returns the locked subscription."""
    if quote.used_at is not None:
        raise BillingError("quote_used", "This quote has been checked out already.")
    if now >= quote.expires_at:
        raise BillingError("quote_expired", "This quote has expired; get a new one.")
    if account.credit_balance < quote.credit_applied:
        raise BillingError("quote_stale", "The account's credit changed since the quote; get a new one.")
    if quote.subscription_id is None:
        if Subscription.objects.filter(account=account, product_id=quote.product_id,
                                       status__in=LIVE_STATUSES).exists():
            raise BillingError("quote_stale", "A subscription started since the quote; get a new one.")
        return None
    subscription = Subscription.objects.select_for_update().get(pk=quote.subscription_id)
    if subscription.version != quote.subscription_version:
        raise BillingError("quote_stale", "The subscription changed since the quote; get a new one.")
    return subscription


def _hold_discount(quote: Quote, account: Account) -> None:
    """Take one redemption now so a checkout never charges for a code that ran out meanwhile."""
    if quote.discount_code_id is None:
        return
    discount = DiscountCode.objects.select_for_update().get(pk=quote.discount_code_id)
    discount_check_available(discount, account_id=account.pk)
    DiscountCode.objects.filter(pk=discount.pk).update(times_redeemed=F("times_redeemed") + 1)


def _release_discount(quote: Quote) -> None:
    if quote.discount_code_id is not None:
        DiscountCode.objects.filter(pk=quote.discount_code_id).update(times_redeemed=F("times_redeemed") - 1)


def _finish(
    *, actor: Actor, attempt_id: str, result: ChargeResult, gateway: Gateway, now: datetime
) -> CheckoutResult:
    with transaction.atomic():
        account_id = PaymentAttempt.objects.values_list("account_id", flat=True).get(pk=attempt_id)
        account = Account.objects.select_for_update().get(pk=account_id)
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt_id)
        if attempt.status == AttemptStatus.SUCCEEDED:
            return _already_succeeded(attempt)
        if attempt.status == AttemptStatus.FAILED:
            # Given up on by recovery while the charge was in flight: the money goes back.
            refund = result.charge_id if result.succeeded else ""
            error = BillingError(attempt.failure_code or "processing_error",
                                 FAILURE_MESSAGES.get(attempt.failure_code, "The payment failed."))
        else:
            done, refund, error = _settle(actor, account, attempt, result, now)
            if done is not None:
                return done
    if refund:
        gateway.refund(charge_id=refund)
    assert error is not None
    raise error


def _settle(
    actor: Actor, account: Account, attempt: PaymentAttempt, result: ChargeResult, now: datetime
) -> tuple[CheckoutResult | None, str, BillingError | None]:
    """Record the gateway's answer: the checkout's result, or a charge to refund and the error."""
    attempt.gateway_charge_id = result.charge_id
    attempt.finished_at = now
    quote = Quote.objects.select_for_update().get(pk=attempt.quote_id)
    if not result.succeeded:
        _fail(attempt, quote, result.failure_code, now)
        return None, "", BillingError(result.failure_code or "card_declined",
                                      result.failure_message or FAILURE_MESSAGES["card_declined"])
    try:
        subscription = _validate_for_finish(quote, account, now)
    except BillingError as stale:
        _fail(attempt, quote, stale.code, now)
        return None, result.charge_id, stale
    done = _apply(actor=actor, account=account, quote=quote, subscription=subscription,
                  attempt=attempt, now=now)
    return done, "", None


def _validate_for_finish(quote: Quote, account: Account, now: datetime) -> Subscription | None:
    # The quote's expiry is judged when the payment started, not when it came back.
    return _validate(quote, account, min(now, quote.expires_at - timedelta(microseconds=1)))


def _fail(attempt: PaymentAttempt, quote: Quote, code: str, now: datetime) -> None:
    attempt.status = AttemptStatus.FAILED
    attempt.failure_code = code
    attempt.save(update_fields=["status", "failure_code", "gateway_charge_id", "finished_at"])
    _release_discount(quote)
    outbox_add(account_id=attempt.account_id, type="payment.failed",
               payload={"attempt": attempt.pk, "quote": quote.pk, "code": code, "amount": attempt.amount},
               now=now)


def _already_succeeded(attempt: PaymentAttempt) -> CheckoutResult:
    invoice = Invoice.objects.get(pk=attempt.invoice_id)
    return CheckoutResult(subscription=Subscription.objects.get(pk=invoice.subscription_id), invoice=invoice)


def _apply(
    *, actor: Actor, account: Account, quote: Quote, subscription: Subscription | None,
    attempt: PaymentAttempt | None, now: datetime,
) -> CheckoutResult:
    """Carry out the quote: subscription, credit, invoice, redemption, audit — one transaction."""
    outcome = quote.outcome
    before = subscription_snapshot(subscription) if subscription else None
    fields = {
        "price_id": quote.price_id, "billing_cycle": outcome["billing_cycle"],
        "quantity": outcome["quantity"], "unit_amount": outcome["unit_amount"],
        "anchor": datetime.fromisoformat(outcome["anchor"]),
        "current_period_start": datetime.fromisoformat(outcome["period_start"]),
        "current_period_end": datetime.fromisoformat(outcome["period_end"]),
        "period_value": outcome["period_value"], "discount_code_id": outcome["discount_code"],
        "discount_remaining_cycles": outcome["discount_remaining_cycles"],
        "scheduled_quantity": None, "is_trial": False,
    }
    if subscription is not None and subscription.is_trial:
        fields["auto_renew"] = True  # a converted trial renews like any paid subscription (§4.6)
    if subscription is None:
        subscription = Subscription.objects.create(
            account=account, product_id=quote.product_id, currency=quote.currency, status=Status.ACTIVE,
            created_at=now, **fields,
        )
    else:
        for name, value in fields.items():
            setattr(subscription, name, value)
        subscription.version += 1
        subscription.save()
    if outcome["credit_balance_change"]:
        account.credit_balance += outcome["credit_balance_change"]
        account.save(update_fields=["credit_balance"])
    invoice = invoice_issue(
        account=account, subscription_id=subscription.pk, currency=quote.currency,
        lines=[line_from_json(line) for line in quote.lines], subtotal=quote.subtotal,
        discount_total=quote.discount_total, tax=quote.tax, total=quote.total,
        credit_applied=quote.credit_applied, amount_due=quote.amount_due, paid=True, now=now,
    )
    if quote.discount_code_id:
        DiscountRedemption.objects.create(account=account, discount_code_id=quote.discount_code_id,
                                          subscription=subscription, invoice=invoice, created_at=now)
    quote.used_at = now
    quote.save(update_fields=["used_at"])
    if attempt is not None:
        attempt.status = AttemptStatus.SUCCEEDED
        attempt.invoice = invoice
        attempt.save(update_fields=["status", "invoice", "gateway_charge_id", "finished_at"])
    after = subscription_snapshot(subscription)
    audit_record(actor=actor, account_id=account.pk, action="subscription.checkout", obj=subscription,
                 now=now, before=before, after=after)
    outbox_add(account_id=account.pk, type="invoice.paid",
               payload={"invoice": invoice.pk, "number": invoice.number, "amount_paid": invoice.amount_paid},
               now=now)
    email_send(account_id=account.pk, email=receipt(invoice), now=now)  # with the PDF, after commit
    outbox_add(account_id=account.pk, type="subscription.created" if before is None else "subscription.updated",
               payload={"subscription": subscription.pk, **after}, now=now)
    from seatplan.leases.services import lease_queue_grant  # here: leases depend on subscriptions

    # More sessions: the head of the queue is granted as soon as the change is committed (§6).
    transaction.on_commit(lambda: lease_queue_grant(account_id=account.pk, now=now))
    return CheckoutResult(subscription=subscription, invoice=invoice)


def _recover_orphans(*, account: Account, gateway: Gateway, now: datetime) -> None:
    orphaned = PaymentAttempt.objects.filter(
        account=account, status=AttemptStatus.PENDING, quote__isnull=False, created_at__lt=now - ORPHANED_AFTER
    ).values_list("pk", flat=True)
    for attempt_id in list(orphaned):
        payment_attempt_recover(attempt_id=attempt_id, gateway=gateway, now=now)


def payment_attempt_recover(*, attempt_id: str, gateway: Gateway, now: datetime) -> None:
    """Finish a checkout whose process died after (or while) charging: ask the gateway by key."""
    attempt = PaymentAttempt.objects.get(pk=attempt_id)
    result = gateway.find_charge(idempotency_key=attempt.gateway_key) or ChargeResult(
        succeeded=False, charge_id="", failure_code="processing_error",
        failure_message="The payment never reached the gateway.",
    )
    try:
        _finish(actor=SYSTEM, attempt_id=attempt_id, result=result, gateway=gateway, now=now)
    except BillingError:
        pass  # recorded as failed; nobody is waiting for the answer


def payment_attempts_recover(*, gateway: Gateway, now: datetime) -> int:
    """Recover every orphaned checkout attempt (the billing job runs this)."""
    ids = list(PaymentAttempt.objects.filter(
        status=AttemptStatus.PENDING, quote__isnull=False, created_at__lt=now - ORPHANED_AFTER
    ).values_list("pk", flat=True))
    for attempt_id in ids:
        payment_attempt_recover(attempt_id=attempt_id, gateway=gateway, now=now)
    return len(ids)
