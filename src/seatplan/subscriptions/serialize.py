"""A subscription as a plain dict: the audit log's before/after and the API's body."""

from seatplan.subscriptions.models import Subscription


def iso(value) -> str | None:  # noqa: ANN001
    return value.isoformat().replace("+00:00", "Z") if value else None


def subscription_snapshot(subscription: Subscription) -> dict:
    scheduled = None
    if subscription.scheduled_quantity is not None:
        scheduled = {"quantity": subscription.scheduled_quantity, "effective_at": iso(subscription.current_period_end)}
    discount = None
    if subscription.discount_code is not None:  # no query without a code: Django answers None at once
        discount = {"code": subscription.discount_code.code, "remaining_cycles": subscription.discount_remaining_cycles}
    return {
        "id": subscription.pk,
        "account": subscription.account_id,
        "product": subscription.product.code,
        "billing_cycle": subscription.billing_cycle,
        "quantity": subscription.quantity,
        "unit_amount": subscription.unit_amount,
        "currency": subscription.currency,
        "status": subscription.status,
        "current_period_start": iso(subscription.current_period_start),
        "current_period_end": iso(subscription.current_period_end),
        "auto_renew": subscription.auto_renew,
        "scheduled_change": scheduled,
        "discount": discount,
        "trial_end": iso(subscription.trial_end),
        "ended_at": iso(subscription.ended_at),
    }
