"""Scheduled decrease (SPEC §4.1): fewer sessions from the next renewal, no refund."""

from datetime import datetime

from django.db import transaction

from seatplan.accounts.permissions import Actor, Capability
from seatplan.billing.errors import BillingError
from seatplan.subscriptions.changes import subscription_changed, subscription_lock
from seatplan.subscriptions.models import Subscription
from seatplan.subscriptions.serialize import subscription_snapshot


def _save(*, actor: Actor, subscription: Subscription, quantity: int | None, now: datetime) -> Subscription:
    before = subscription_snapshot(subscription)
    subscription.scheduled_quantity = quantity
    subscription.version += 1  # a quote made before no longer shows the next renewal right
    subscription.save(update_fields=["scheduled_quantity", "version"])
    action = "subscription.decrease_scheduled" if quantity is not None else "subscription.decrease_cancelled"
    subscription_changed(actor=actor, subscription=subscription, action=action, before=before, now=now)
    return subscription


def subscription_schedule_decrease(
    *, actor: Actor, subscription: Subscription, quantity: int, now: datetime
) -> Subscription:
    """Fewer sessions from the next renewal; replaces a decrease scheduled before."""
    actor.require(Capability.PURCHASE)
    with transaction.atomic():
        subscription = subscription_lock(subscription)
        if subscription.is_trial:
            error = BillingError("subscription_trial", "A trial does not renew: it has nothing to decrease.")
            error.status = 409  # type: ignore[attr-defined]
            raise error
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity < subscription.quantity:
            raise BillingError(
                "quantity_invalid",
                f"A scheduled change is fewer sessions: 1 to {subscription.quantity - 1}.",
                "quantity",
            )
        if subscription.scheduled_quantity == quantity:
            return subscription  # idempotent
        return _save(actor=actor, subscription=subscription, quantity=quantity, now=now)


def subscription_scheduled_change_clear(*, actor: Actor, subscription: Subscription, now: datetime) -> Subscription:
    """Keep the current number of sessions at the next renewal (idempotent)."""
    actor.require(Capability.PURCHASE)
    with transaction.atomic():
        subscription = subscription_lock(subscription)
        if subscription.scheduled_quantity is None:
            return subscription
        return _save(actor=actor, subscription=subscription, quantity=None, now=now)
