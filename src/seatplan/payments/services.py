"""The saved card of an account."""

from datetime import datetime

from django.db import transaction

from seatplan.accounts.models import Account
from seatplan.accounts.permissions import Actor, Capability
from seatplan.billing.errors import BillingError
from seatplan.events.services import audit_record
from seatplan.payments.gateway import Gateway
from seatplan.payments.models import PaymentMethod


def payment_method_save(
    *,
    actor: Actor,
    account: Account,
    gateway: Gateway,
    now: datetime,
    card_number: str = "",
    exp_month: int = 0,
    exp_year: int = 0,
    cvc: str = "",
    token: str | None = None,
) -> PaymentMethod:
    """Replace the account's card (the old one is forgotten): card details, or the processor's token for one."""
    actor.require(Capability.BILLING)
    if token is not None:
        card = gateway.save_token(token=token, now=now)
    else:
        card = gateway.save_card(number=card_number, exp_month=exp_month, exp_year=exp_year, cvc=cvc, now=now)
    with transaction.atomic():
        Account.objects.select_for_update().filter(pk=account.pk).first()
        old = PaymentMethod.objects.filter(account=account).first()
        before = {"brand": old.brand, "last4": old.last4} if old else None
        if old:
            old.delete()
        method = PaymentMethod.objects.create(
            account=account,
            gateway=gateway.name,
            token=card.token,
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            created_at=now,
        )
        audit_record(
            actor=actor,
            account_id=account.pk,
            action="payment_method.saved",
            obj=method,
            now=now,
            before=before,
            after={"brand": card.brand, "last4": card.last4},
        )
    from seatplan.subscriptions.retries import renewal_invoices_retry  # billing sits above payments

    # An unpaid renewal is charged to the new card at once, before the request returns (§4.5).
    renewal_invoices_retry(account_id=account.pk, gateway=gateway, now=now)
    return method


@transaction.atomic
def payment_method_delete(*, actor: Actor, account: Account, now: datetime) -> None:
    actor.require(Capability.BILLING)
    method = PaymentMethod.objects.select_for_update().filter(account=account).first()
    if method is None:
        raise BillingError("not_found", "There is no saved card.")
    audit_record(
        actor=actor,
        account_id=account.pk,
        action="payment_method.deleted",
        obj=method,
        now=now,
        before={"brand": method.brand, "last4": method.last4},
    )
    method.delete()
