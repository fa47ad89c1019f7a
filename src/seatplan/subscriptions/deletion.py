"""Deleting an account (SPEC §2, the Owner only): what the customer bought ends, what the vendor must keep stays.

One transaction: every live subscription ends now (no refund, like a cancellation that takes effect at
once; its open invoices become uncollectible), the people lose access (memberships removed, API keys
revoked), the saved card is forgotten, and the account is marked deleted. Invoices, payments and the
audit log stay: they are the vendor's books. The Owner and Billing Managers get the "subscription
ended" e-mail first.
"""

from datetime import datetime

from django.db import transaction

from seatplan.accounts.models import Account, ApiKey, Membership
from seatplan.accounts.permissions import Actor, Capability
from seatplan.billing.errors import BillingError
from seatplan.events.services import audit_record, outbox_add
from seatplan.invoices.models import Invoice, InvoiceStatus
from seatplan.payments.models import PaymentMethod
from seatplan.subscriptions import emails
from seatplan.subscriptions.models import LIVE_STATUSES, Subscription
from seatplan.subscriptions.renewal import sub_end
from seatplan.subscriptions.serialize import subscription_snapshot


def account_delete(*, actor: Actor, account_id: str, confirm_name: str, now: datetime) -> Account:
    """Delete the account if `confirm_name` is its name exactly; changes nothing otherwise."""
    actor.require(Capability.ACCOUNT_SETTINGS)
    with transaction.atomic():
        account = Account.objects.select_for_update().filter(pk=account_id, deleted_at__isnull=True).first()
        if account is None:
            raise BillingError("not_found", "No such account.")
        if confirm_name.strip() != account.name:
            raise BillingError(
                "confirmation_invalid", f"Type the account's name, {account.name}, to delete it.", "confirm_name"
            )
        subs = list(
            Subscription.objects.select_for_update(of=("self",))
            .select_related("product", "discount_code")
            .filter(account=account, status__in=LIVE_STATUSES)
            .order_by("created_at")
        )
        for sub in subs:
            email = sub_end(
                sub,
                ended_at=now,
                action="subscription.ended_with_account",
                before=subscription_snapshot(sub),
                now=now,
                reason="the account was deleted.",
            )
            emails.email_send(account_id=account.pk, email=email, now=now)
        open_invoices = list(Invoice.objects.filter(account=account, status=InvoiceStatus.OPEN))
        for invoice in open_invoices:
            outbox_add(
                account_id=account.pk,
                type="invoice.marked_uncollectible",
                now=now,
                payload={"invoice": invoice.pk, "number": invoice.number, "amount_due": invoice.amount_due},
            )
        Invoice.objects.filter(pk__in=[i.pk for i in open_invoices]).update(status=InvoiceStatus.UNCOLLECTIBLE)
        members = Membership.objects.filter(account=account).count()
        ApiKey.objects.filter(account=account, revoked_at__isnull=True).update(revoked_at=now)
        PaymentMethod.objects.filter(account=account).delete()
        Membership.objects.filter(account=account).delete()
        account.deleted_at = now
        account.save(update_fields=["deleted_at"])
        audit_record(
            actor=actor,
            account_id=account.pk,
            action="account.deleted",
            obj=account,
            now=now,
            before={"name": account.name, "members": members, "live_subscriptions": len(subs)},
            after={"deleted_at": now.isoformat()},
        )
        outbox_add(account_id=account.pk, type="account.deleted", payload={"account": account.pk}, now=now)
    return account
