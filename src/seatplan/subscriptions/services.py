"""Cancel and reactivate (SPEC §4.4)."""

from datetime import datetime

from django.db import transaction

from seatplan.accounts.permissions import Actor, Capability
from seatplan.billing.errors import BillingError
from seatplan.events.services import audit_record, outbox_add
from seatplan.subscriptions.models import Status, Subscription
from seatplan.subscriptions.serialize import subscription_snapshot


def _set_auto_renew(*, actor: Actor, subscription: Subscription, on: bool, now: datetime) -> Subscription:
    actor.require(Capability.PURCHASE)
    with transaction.atomic():
        # of=self: PostgreSQL cannot lock the nullable side of the discount code's outer join.
        subscription = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("product", "discount_code")
            .get(pk=subscription.pk)
        )
        if subscription.status == Status.ENDED:
            raise BillingError("subscription_ended", "This subscription has ended.")
        if subscription.auto_renew == on:
            return subscription  # idempotent: already so
        before = subscription_snapshot(subscription)
        subscription.auto_renew = on
        subscription.version += 1
        subscription.save(update_fields=["auto_renew", "version"])
        after = subscription_snapshot(subscription)
        action = "subscription.reactivated" if on else "subscription.cancelled"
        audit_record(
            actor=actor,
            account_id=subscription.account_id,
            action=action,
            obj=subscription,
            now=now,
            before=before,
            after=after,
        )
        outbox_add(
            account_id=subscription.account_id,
            type="subscription.updated",
            payload={"subscription": subscription.pk, **after},
            now=now,
        )
    return subscription


def subscription_cancel(*, actor: Actor, subscription: Subscription, now: datetime) -> Subscription:
    """Auto-renew off: usable until the period end, then ended. No refund."""
    if subscription.status == Status.ENDED:
        actor.require(Capability.PURCHASE)
        return subscription  # cancelling an ended subscription changes nothing
    return _set_auto_renew(actor=actor, subscription=subscription, on=False, now=now)


def subscription_reactivate(*, actor: Actor, subscription: Subscription, now: datetime) -> Subscription:
    return _set_auto_renew(actor=actor, subscription=subscription, on=True, now=now)
