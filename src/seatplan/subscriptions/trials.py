"""The free trial (SPEC §4.6): once per account, ends by itself, a checkout converts it."""

from datetime import datetime, timedelta

from django.db import transaction

from seatplan.accounts.models import Account
from seatplan.accounts.permissions import Actor, Capability
from seatplan.billing.errors import BillingError
from seatplan.catalog.selectors import price_active, product_get
from seatplan.events.services import audit_record, outbox_add
from seatplan.subscriptions.models import LIVE_STATUSES, Status, Subscription
from seatplan.subscriptions.renewal import leases_settle_on_commit
from seatplan.subscriptions.serialize import subscription_snapshot


def trial_start(*, actor: Actor, account: Account, product_code: str, now: datetime) -> Subscription:
    """Start the account's one trial: the product's trial sessions for its trial days, free."""
    actor.require(Capability.PURCHASE)
    product = product_get(product_code)
    price = price_active(product, account.currency, "month")  # what a conversion to monthly would cost
    with transaction.atomic():
        Account.objects.select_for_update().filter(pk=account.pk).first()  # one trial start at a time
        # A converted trial keeps its trial_end: the trial counts as used for the account's life.
        if Subscription.objects.filter(account=account, trial_end__isnull=False).exists():
            raise BillingError("trial_already_used", "This account has had its free trial already.")
        if Subscription.objects.filter(account=account, product=product, status__in=LIVE_STATUSES).exists():
            raise BillingError("subscription_active", "A subscription is live for this product.", "product")
        trial_end = now + timedelta(days=product.trial_days)
        subscription = Subscription.objects.create(
            account=account,
            product=product,
            price=price,
            billing_cycle="month",
            quantity=product.trial_quantity,
            unit_amount=price.unit_amount,
            currency=price.currency,
            status=Status.ACTIVE,
            anchor=now,
            current_period_start=now,
            current_period_end=trial_end,
            period_value=0,
            auto_renew=False,
            is_trial=True,
            trial_end=trial_end,
            created_at=now,
        )
        after = subscription_snapshot(subscription)
        audit_record(
            actor=actor,
            account_id=account.pk,
            action="subscription.trial_started",
            obj=subscription,
            now=now,
            after=after,
        )
        outbox_add(
            account_id=account.pk,
            type="subscription.created",
            payload={"subscription": subscription.pk, **after},
            now=now,
        )
        leases_settle_on_commit(account.pk, now)  # the limit rises: queued requests may start
    return subscription
