"""What every change of an existing subscription does: lock it first, record it after."""

from datetime import datetime

from seatplan.accounts.permissions import Actor
from seatplan.billing.errors import BillingError
from seatplan.events.services import audit_record, outbox_add
from seatplan.subscriptions.models import Status, Subscription
from seatplan.subscriptions.serialize import subscription_snapshot


def subscription_lock(subscription: Subscription) -> Subscription:
    """The subscription read again under its row lock, with its product and discount code; refused when
    it has ended (call inside a transaction)."""
    # of=self: PostgreSQL cannot lock the nullable side of the discount code's outer join.
    locked = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("product", "discount_code")
        .get(pk=subscription.pk)
    )
    if locked.status == Status.ENDED:
        raise BillingError("subscription_ended", "This subscription has ended.")
    return locked


def subscription_changed(*, actor: Actor, subscription: Subscription, action: str, before: dict, now: datetime) -> None:
    """The audit entry (before and after) and the `subscription.updated` event of a change, in its transaction."""
    after = subscription_snapshot(subscription)
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
