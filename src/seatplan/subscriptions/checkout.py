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

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F

from seatplan.accounts.models import Account
from seatplan.accounts.permissions import SYSTEM, Actor, Capability
from seatplan.billing.errors import BillingError
from seatplan.catalog.models import DiscountCode, DiscountRedemption, Product
from seatplan.catalog.selectors import discount_check_available
from seatplan.events.delivery import claimed_by_request, send_claimed_after_commit
from seatplan.events.models import OutboxEvent
from seatplan.events.services import audit_record, outbox_add
from seatplan.ids import make_id
from seatplan.invoices.models import Invoice
from seatplan.invoices.services import invoice_draft, invoice_issue
from seatplan.payments.gateway import FAILURE_MESSAGES, ChargeResult, ChargeUnknown, Gateway, charge_by_key
from seatplan.payments.models import AttemptStatus, PaymentAttempt
from seatplan.sqlrows import Columns, fetch_all, fetch_one, for_update, insert, new, together, update
from seatplan.subscriptions.emails import BILLING_ROLES, account_recipients, billing_recipients, email_rows, receipt
from seatplan.subscriptions.models import LIVE_STATUSES, Quote, Status, Subscription
from seatplan.subscriptions.renewal import leases_settle_on_commit
from seatplan.subscriptions.serialize import subscription_snapshot
from seatplan.subscriptions.terms import line_from_json

# A pending attempt older than this is presumed orphaned by a crash and is recovered.
ORPHANED_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class CheckoutResult:
    subscription: Subscription
    invoice: Invoice


OnApplied = Callable[[CheckoutResult], None]


def quote_checkout(
    *,
    actor: Actor,
    account: Account,
    quote_id: str,
    gateway: Gateway,
    now: datetime,
    on_applied: OnApplied | None = None,
) -> CheckoutResult:
    """`on_applied(result)` runs inside the transaction that applies the change, at its end: what it
    writes commits with the change or not at all (the API records its keyed response so)."""
    actor.require(Capability.PURCHASE)
    reserved = _reserve(actor=actor, account_id=account.pk, quote_id=quote_id, now=now, on_applied=on_applied)
    while isinstance(reserved, _Orphan):
        # An earlier checkout of this account died between charging and finishing: finish it first.
        payment_attempt_recover(attempt_id=reserved.attempt_id, gateway=gateway, now=now)
        reserved = _reserve(actor=actor, account_id=account.pk, quote_id=quote_id, now=now, on_applied=on_applied)
    if isinstance(reserved, CheckoutResult):
        return reserved  # nothing was due: applied in step 1
    method_token, attempt = reserved
    try:
        result = charge_by_key(
            gateway,
            token=method_token,
            amount=attempt.amount,
            currency=attempt.currency,
            idempotency_key=attempt.gateway_key,
            now=now,
        )
    except ChargeUnknown:
        # Left pending: recovery asks the gateway again by the same key, and applies or fails it then.
        raise BillingError(
            "processing_error",
            "The payment could not be confirmed yet; it is settled within a "
            "few minutes. Look at Billing before you try again.",
        ) from None
    return _finish(
        actor=actor,
        attempt_id=attempt.pk,
        account_id=account.pk,
        result=result,
        gateway=gateway,
        now=now,
        on_applied=on_applied,
    )


@dataclass(frozen=True)
class _Orphan:
    attempt_id: str


# The statements of the hot path are plain SQL (sqlrows): the ORM took longer to compile them than the
# database to run them. Every one of them reads, and locks, what the ORM version read one row at a time.
_ACCOUNT, _QUOTE, _ATTEMPT = Columns(Account, "a"), Columns(Quote, "q"), Columns(PaymentAttempt, "pa")
_PRODUCT, _SUBSCRIPTION, _DISCOUNT = Columns(Product, "p"), Columns(Subscription, "s"), Columns(DiscountCode, "dc")

# The account's pending attempt. The status is written into the text, not sent as a parameter: a
# prepared statement's generic plan can then use the partial index of pending attempts (with
# `status = $2` it intersected the account's attempts with every pending entry of the status index,
# dead ones included: 0.4 ms, growing with history).
_PENDING_SQL = (
    "(SELECT pa.id FROM payments_paymentattempt pa "  # noqa: S608 - a constant of the code
    f"WHERE pa.account_id = %s AND pa.status = '{AttemptStatus.PENDING.value}' "
    " ORDER BY CASE WHEN pa.quote_id IS NULL THEN 1 ELSE 0 END, pa.created_at LIMIT 1)"
)
# Step 1, after locking the account (one checkout at a time per account): the quote, locked, with the
# version of its subscription, the account's pending payment attempt if any (a checkout's first, oldest
# first) and its saved card. A statement of its own after the lock, so that on PostgreSQL it sees what
# a checkout that held the lock before committed. The subscription is not locked here: step 3 locks it
# and checks again before anything changes.
_RESERVE_SQL = (
    f"SELECT {_QUOTE.sql}, s.version, {_PENDING_SQL}, "  # noqa: S608 - column lists from the models' metadata
    "(SELECT pm.token FROM payments_paymentmethod pm WHERE pm.account_id = q.account_id) "
    "FROM subscriptions_quote q LEFT JOIN subscriptions_subscription s ON s.id = q.subscription_id "
    "WHERE q.id = %s AND q.account_id = %s"
)
_LOCK_ACCOUNT_SQL = f"SELECT {_ACCOUNT.sql} FROM accounts_account a WHERE a.id = %s"  # noqa: S608
# Step 3's first read: the account, locked, with the addresses of its receipt (one row per Owner or
# Billing Manager; one row with no address if there is none).
_FINISH_ACCOUNT_SQL = (
    f"SELECT {_ACCOUNT.sql}, u.email FROM accounts_account a "  # noqa: S608
    "LEFT JOIN accounts_membership m ON m.account_id = a.id AND m.role IN (%s, %s) "
    "LEFT JOIN accounts_user u ON u.id = m.user_id WHERE a.id = %s"
)
# Step 3's one read for a change of a subscription: the account with the addresses of its receipt (as
# above), the attempt, its quote and the quote's subscription, all locked, the account first (rows are
# locked in the order of the FROM list, as the statements did one by one); with the product and the
# subscription's discount code (not locked) for the snapshots and the response.
_FINISH_SQL = (
    f"SELECT {_ACCOUNT.sql}, u.email, {_ATTEMPT.sql}, {_QUOTE.sql}, {_PRODUCT.sql}, "  # noqa: S608
    f"{_SUBSCRIPTION.sql}, {_DISCOUNT.sql} FROM accounts_account a "
    "LEFT JOIN accounts_membership m ON m.account_id = a.id AND m.role IN (%s, %s) "
    "LEFT JOIN accounts_user u ON u.id = m.user_id "
    "JOIN payments_paymentattempt pa ON pa.account_id = a.id AND pa.id = %s "
    "JOIN subscriptions_quote q ON q.id = pa.quote_id JOIN catalog_product p ON p.id = q.product_id "
    "JOIN subscriptions_subscription s ON s.id = q.subscription_id "
    "LEFT JOIN catalog_discountcode dc ON dc.id = s.discount_code_id WHERE a.id = %s"
)
# After the account alone (a quote that starts a new subscription: none to lock): the attempt and its quote.
_FINISH_NEW_SQL = (
    f"SELECT {_ATTEMPT.sql}, {_QUOTE.sql}, {_PRODUCT.sql} FROM payments_paymentattempt pa "  # noqa: S608
    "JOIN subscriptions_quote q ON q.id = pa.quote_id JOIN catalog_product p ON p.id = q.product_id "
    "WHERE pa.id = %s"
)


def _lock_account(account_id: str) -> Account:
    row = fetch_one(_LOCK_ACCOUNT_SQL + for_update("a"), [account_id])
    if row is None:
        raise Account.DoesNotExist(account_id)
    return _ACCOUNT.build(row)


def _reserve(*, actor: Actor, account_id: str, quote_id: str, now: datetime, on_applied: OnApplied | None):  # noqa: ANN202
    with transaction.atomic():
        account = _lock_account(account_id)
        row = fetch_one(_RESERVE_SQL + for_update("q"), [account_id, quote_id, account_id])
        if row is None:
            (pending_id,) = fetch_one("SELECT " + _PENDING_SQL, [account_id]) or (None,)
        else:
            quote, subscription_version, pending_id, method_token = _QUOTE.build(row), *row[-3:]
        pending = PaymentAttempt.objects.get(pk=pending_id) if pending_id else None
        if pending is not None and pending.quote_id is not None and pending.created_at < now - ORPHANED_AFTER:
            return _Orphan(pending.pk)  # presumed orphaned by a crash: recovered, then this runs again
        if row is None:
            raise BillingError("not_found", "No such quote.", "quote")
        if pending is not None:
            if pending.quote_id == quote.pk:
                raise BillingError("quote_used", "This quote is being checked out.")
            raise BillingError("quote_stale", "Another checkout for this account is in progress; get a new quote.")
        _check(quote, account, now, subscription_version)
        _hold_discount(quote, account)
        if quote.amount_due == 0:
            subscription = None
            if quote.subscription_id is not None:
                subscription = (
                    Subscription.objects.select_for_update(of=("self",))
                    .select_related("product", "discount_code")
                    .get(pk=quote.subscription_id)
                )
                _check(quote, account, now, subscription.version)
            return _apply(
                actor=actor,
                account=account,
                quote=quote,
                subscription=subscription,
                attempt=None,
                now=now,
                on_applied=on_applied,
            )
        if method_token is None:
            raise BillingError("payment_method_missing", FAILURE_MESSAGES["payment_method_missing"])
        attempt = new(
            PaymentAttempt,
            account=account,
            quote=quote,
            amount=quote.amount_due,
            currency=quote.currency,
            gateway_key=make_id("chk"),
            created_at=now,
        )
        insert(attempt)
        return method_token, attempt


def _check(quote: Quote, account: Account, now: datetime, subscription_version: int | None) -> None:
    """The quote still describes a change that can happen now (the subscription's version as read)."""
    if quote.used_at is not None:
        raise BillingError("quote_used", "This quote has been checked out already.")
    if now >= quote.expires_at:
        raise BillingError("quote_expired", "This quote has expired; get a new one.")
    if account.credit_balance < quote.credit_applied:
        raise BillingError("quote_stale", "The account's credit changed since the quote; get a new one.")
    if quote.subscription_id is None:
        if Subscription.objects.filter(account=account, product_id=quote.product_id, status__in=LIVE_STATUSES).exists():
            raise BillingError("quote_stale", "A subscription started since the quote; get a new one.")
        return
    if subscription_version != quote.subscription_version:
        raise BillingError("quote_stale", "The subscription changed since the quote; get a new one.")


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
    *,
    actor: Actor,
    attempt_id: str,
    account_id: str,
    result: ChargeResult,
    gateway: Gateway,
    now: datetime,
    on_applied: OnApplied | None = None,
) -> CheckoutResult:
    with transaction.atomic():
        account, member_emails, attempt, quote, subscription = _lock_for_finish(account_id, attempt_id)
        if attempt.status == AttemptStatus.SUCCEEDED:
            return _already_succeeded(attempt)
        error: BillingError | None
        if attempt.status == AttemptStatus.FAILED:
            # Given up on by recovery while the charge was in flight: the money goes back.
            refund = result.charge_id if result.succeeded else ""
            error = BillingError(
                attempt.failure_code or "processing_error",
                FAILURE_MESSAGES.get(attempt.failure_code, "The payment failed."),
            )
        else:
            done, refund, error = _settle(
                actor, account, member_emails, attempt, quote, subscription, result, now, on_applied
            )
            if done is not None:
                return done
    if refund:
        gateway.refund(charge_id=refund)
    assert error is not None
    raise error


def _lock_for_finish(account_id: str, attempt_id: str):  # noqa: ANN202
    """The account (with its receipt's addresses), the attempt, its quote and the quote's subscription, locked."""
    rows = fetch_all(_FINISH_SQL + for_update("a", "pa", "q", "s"), [*BILLING_ROLES, attempt_id, account_id])
    at = _ACCOUNT.width + 1  # where the attempt's columns start
    if not rows:  # a new subscription (or no such attempt): the account, then the rest
        rows = fetch_all(_FINISH_ACCOUNT_SQL + for_update("a"), [*BILLING_ROLES, account_id])
        row = fetch_one(_FINISH_NEW_SQL + for_update("pa", "q"), [attempt_id])
        if row is None or _ATTEMPT.build(row).account_id != account_id:
            raise PaymentAttempt.DoesNotExist(attempt_id)
        row, at = (*rows[0], *row), _ACCOUNT.width + 1
    else:
        row = rows[0]
    account = _ACCOUNT.build(row)
    member_emails = [r[_ACCOUNT.width] for r in rows if r[_ACCOUNT.width] is not None]
    attempt = _ATTEMPT.build(row, at)
    quote = _QUOTE.build(row, at + _ATTEMPT.width)
    at += _ATTEMPT.width + _QUOTE.width
    quote.product = _PRODUCT.build(row, at)
    at += _PRODUCT.width
    subscription = _SUBSCRIPTION.build(row, at) if len(row) > at else None
    if subscription is not None:
        subscription.product = quote.product
        subscription.discount_code = _DISCOUNT.build_or_none(row, at + _SUBSCRIPTION.width)
    return account, member_emails, attempt, quote, subscription


def _settle(
    actor: Actor,
    account: Account,
    member_emails: list[str],
    attempt: PaymentAttempt,
    quote: Quote,
    subscription: Subscription | None,
    result: ChargeResult,
    now: datetime,
    on_applied: OnApplied | None,
) -> tuple[CheckoutResult | None, str, BillingError | None]:
    """Record the gateway's answer: the checkout's result, or a charge to refund and the error."""
    attempt.gateway_charge_id = result.charge_id
    attempt.finished_at = now
    if not result.succeeded:
        _fail(attempt, quote, result.failure_code, now)
        return (
            None,
            "",
            BillingError(
                result.failure_code or "card_declined", result.failure_message or FAILURE_MESSAGES["card_declined"]
            ),
        )
    try:
        # The quote's expiry is judged when the payment started, not when it came back.
        _check(
            quote,
            account,
            min(now, quote.expires_at - timedelta(microseconds=1)),
            subscription.version if subscription is not None else None,
        )
    except BillingError as stale:
        _fail(attempt, quote, stale.code, now)
        return None, result.charge_id, stale
    done = _apply(
        actor=actor,
        account=account,
        quote=quote,
        subscription=subscription,
        attempt=attempt,
        now=now,
        member_emails=member_emails,
        on_applied=on_applied,
    )
    return done, "", None


def _fail(attempt: PaymentAttempt, quote: Quote, code: str, now: datetime) -> None:
    attempt.status = AttemptStatus.FAILED
    attempt.failure_code = code
    attempt.save(update_fields=["status", "failure_code", "gateway_charge_id", "finished_at"])
    _release_discount(quote)
    outbox_add(
        account_id=attempt.account_id,
        type="payment.failed",
        payload={"attempt": attempt.pk, "quote": quote.pk, "code": code, "amount": attempt.amount},
        now=now,
    )


def _already_succeeded(attempt: PaymentAttempt) -> CheckoutResult:
    invoice = Invoice.objects.get(pk=attempt.invoice_id)
    return CheckoutResult(subscription=Subscription.objects.get(pk=invoice.subscription_id), invoice=invoice)


def _apply(
    *,
    actor: Actor,
    account: Account,
    quote: Quote,
    subscription: Subscription | None,
    attempt: PaymentAttempt | None,
    now: datetime,
    member_emails: list[str] | None = None,
    on_applied: OnApplied | None = None,
) -> CheckoutResult:
    """Carry out the quote: subscription, credit, invoice, redemption, audit — one transaction."""
    # PostgreSQL: the writes go in two statements instead of one round trip each: those before the invoice
    # number with the number's own (sqlrows `writes=`), then those after it with `on_applied`'s; the
    # series' counter is held from the first of them to the commit.
    with together():
        outcome = quote.outcome
        before = subscription_snapshot(subscription) if subscription else None
        fields = {
            "price_id": quote.price_id,
            "billing_cycle": outcome["billing_cycle"],
            "quantity": outcome["quantity"],
            "unit_amount": outcome["unit_amount"],
            "anchor": datetime.fromisoformat(outcome["anchor"]),
            "current_period_start": datetime.fromisoformat(outcome["period_start"]),
            "current_period_end": datetime.fromisoformat(outcome["period_end"]),
            "period_value": outcome["period_value"],
            "discount_code_id": outcome["discount_code"],
            "discount_remaining_cycles": outcome["discount_remaining_cycles"],
            "scheduled_quantity": None,
            "is_trial": False,
        }
        if subscription is not None and subscription.is_trial:
            fields["auto_renew"] = True  # a converted trial renews like any paid subscription (§4.6)
        if subscription is None:
            subscription = Subscription.objects.create(
                account=account,
                product_id=quote.product_id,
                currency=quote.currency,
                status=Status.ACTIVE,
                created_at=now,
                **fields,
            )
        else:
            for name, value in fields.items():
                setattr(subscription, name, value)
            subscription.version += 1
            update(subscription, [*fields, "version"])
        if subscription.product_id == quote.product_id and Quote.product.is_cached(quote):
            subscription.product = quote.product
        if outcome["credit_balance_change"]:
            account.credit_balance += outcome["credit_balance_change"]
            account.save(update_fields=["credit_balance"])
        invoice = invoice_draft(
            account=account,
            subscription_id=subscription.pk,
            currency=quote.currency,
            lines=[line_from_json(line) for line in quote.lines],
            subtotal=quote.subtotal,
            discount_total=quote.discount_total,
            tax=quote.tax,
            total=quote.total,
            credit_applied=quote.credit_applied,
            amount_due=quote.amount_due,
            paid=True,
            now=now,
        )
        if quote.discount_code_id:
            DiscountRedemption.objects.create(
                account=account,
                discount_code_id=quote.discount_code_id,
                subscription=subscription,
                invoice=invoice,
                created_at=now,
            )
        quote.used_at = now
        update(quote, ["used_at"])
        if attempt is not None:
            attempt.status = AttemptStatus.SUCCEEDED
            attempt.invoice = invoice
            update(attempt, ["status", "invoice", "gateway_charge_id", "finished_at"])
        after = subscription_snapshot(subscription)
        audit_record(
            actor=actor,
            account_id=account.pk,
            action="subscription.checkout",
            obj=subscription,
            now=now,
            before=before,
            after=after,
        )
        # Numbered last: every checkout and renewal waits for the series' counter from here to the commit.
        invoice_issue(invoice)
        # invoice.paid, the receipt (with the PDF, sent after commit) and the subscription's event: one insert.
        events = [
            new(
                OutboxEvent,
                account_id=account.pk,
                type="invoice.paid",
                created_at=now,
                payload={"invoice": invoice.pk, "number": invoice.number, "amount_paid": invoice.amount_paid},
            )
        ]
        # The finishing read brought the receipt's addresses; a checkout with nothing due (step 1) reads them here.
        to = (
            account_recipients(account, member_emails)
            if member_emails is not None
            else billing_recipients([account.pk])[account.pk]
        )
        email = email_rows(account_id=account.pk, to=to, email=receipt(invoice), now=now)
        if email is not None:
            events.append(claimed_by_request(email))  # sent by this request once committed
        events.append(
            new(
                OutboxEvent,
                account_id=account.pk,
                created_at=now,
                type="subscription.created" if before is None else "subscription.updated",
                payload={"subscription": subscription.pk, **after},
            )
        )
        # The invoice is new: nothing of it can be queued yet (a receipt's dedupe key is its invoice's).
        insert(*events, read_keys=False)
        if email is not None:
            send_claimed_after_commit([email])
        # More sessions: the head of the queue is granted as soon as the change is committed (§6).
        leases_settle_on_commit(account.pk, now)
        done = CheckoutResult(subscription=subscription, invoice=invoice)
        if on_applied is not None:
            on_applied(done)  # its writes go with the last of the change's
        return done


def payment_attempt_recover(*, attempt_id: str, gateway: Gateway, now: datetime) -> None:
    """Finish a checkout whose process died after (or while) charging: ask the gateway by key."""
    attempt = PaymentAttempt.objects.get(pk=attempt_id)
    result = gateway.find_charge(idempotency_key=attempt.gateway_key) or ChargeResult(
        succeeded=False,
        charge_id="",
        failure_code="processing_error",
        failure_message="The payment never reached the gateway.",
    )
    try:
        _finish(
            actor=SYSTEM, attempt_id=attempt_id, account_id=attempt.account_id, result=result, gateway=gateway, now=now
        )
    except BillingError:
        pass  # recorded as failed; nobody is waiting for the answer


def payment_attempts_recover(*, gateway: Gateway, now: datetime) -> int:
    """Recover every orphaned checkout attempt (the billing job runs this)."""
    ids = list(
        PaymentAttempt.objects.filter(
            status=AttemptStatus.PENDING, quote__isnull=False, created_at__lt=now - ORPHANED_AFTER
        ).values_list("pk", flat=True)
    )
    for attempt_id in ids:
        payment_attempt_recover(attempt_id=attempt_id, gateway=gateway, now=now)
    return len(ids)
