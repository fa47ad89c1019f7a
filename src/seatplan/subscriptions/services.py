"""Cancel and reactivate (SPEC §4.4)."""

from datetime import datetime

from django.db import transaction

from seatplan.accounts.permissions import Actor, Capability
from seatplan.subscriptions.changes import subscription_changed, subscription_lock
from seatplan.subscriptions.models import Status, Subscription
from seatplan.subscriptions.serialize import subscription_snapshot


def _set_auto_renew(*, actor: Actor, subscription: Subscription, on: bool, now: datetime) -> Subscription:
    actor.require(Capability.PURCHASE)
    with transaction.atomic():
        subscription = subscription_lock(subscription)
        if subscription.auto_renew == on:
            return subscription  # idempotent: already so
        before = subscription_snapshot(subscription)
        subscription.auto_renew = on
        subscription.version += 1
        subscription.save(update_fields=["auto_renew", "version"])
        action = "subscription.reactivated" if on else "subscription.cancelled"
        subscription_changed(actor=actor, subscription=subscription, action=action, before=before, now=now)
    return subscription


def subscription_cancel(*, actor: Actor, subscription: Subscription, now: datetime) -> Subscription:
    """Auto-renew off: usable until the period end, then ended. No refund."""
    if subscription.status == Status.ENDED:
        actor.require(Capability.PURCHASE)
        return subscription  # cancelling an ended subscription changes nothing
    return _set_auto_renew(actor=actor, subscription=subscription, on=False, now=now)


def subscription_reactivate(*, actor: Actor, subscription: Subscription, now: datetime) -> Subscription:
    return _set_auto_renew(actor=actor, subscription=subscription, on=True, now=now)
