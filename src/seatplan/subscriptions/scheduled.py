"""Scheduled decrease (SPEC §4.1): fewer sessions from the next renewal, no refund."""

from datetime import datetime

from django.db import transaction

from seatplan.accounts.permissions import Actor, Capability
from seatplan.billing.errors import BillingError
from seatplan.events.services import audit_record, outbox_add
from seatplan.subscriptions.models import Status, Subscription
from seatplan.subscriptions.serialize import subscription_snapshot


def _locked(subscription: Subscription) -> Subscription:
    locked = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("product", "discount_code")
        .get(pk=subscription.pk)
    )
    if locked.status == Status.ENDED:
        raise BillingError("subscription_ended", "This subscription has ended.")
    return locked


def _save(*, actor: Actor, subscription: Subscription, quantity: int | None, now: datetime) -> Subscription:
    before = subscription_snapshot(subscription)
    subscription.scheduled_quantity = quantity
    subscription.version += 1  # a quote made before no longer shows the next renewal right
    subscription.save(update_fields=["scheduled_quantity", "version"])
    after = subscription_snapshot(subscription)
    action = "subscription.decrease_scheduled" if quantity is not None else "subscription.decrease_cancelled"
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


def subscription_schedule_decrease(
    *, actor: Actor, subscription: Subscription, quantity: int, now: datetime
) -> Subscription:
    """Fewer sessions from the next renewal; replaces a decrease scheduled before."""
    actor.require(Capability.PURCHASE)
    with transaction.atomic():
        subscription = _locked(subscription)
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
        subscription = _locked(subscription)
        if subscription.scheduled_quantity is None:
            return subscription
        return _save(actor=actor, subscription=subscription, quantity=None, now=now)
