"""SPEC §5: a checkout that dies between charging the card and recording it loses no payment and charges
nothing twice; a change that went stale while the card was charged is refunded; nothing due, nothing charged."""

from datetime import timedelta

import pytest

from seatplan.invoices.models import Invoice
from seatplan.payments.gateway import get_gateway
from seatplan.payments.models import AttemptStatus, PaymentAttempt, SandboxCharge
from seatplan.subscriptions.checkout import ORPHANED_AFTER, payment_attempts_recover
from seatplan.subscriptions.models import Subscription
from tests.conftest import subscribe

pytestmark = pytest.mark.django_db


class Crash(BaseException):
    """The process dying (not an error any handler would answer)."""


def upgrade_quote(world, quantity: int = 8, **extra) -> dict:
    sub = Subscription.objects.get(account=world.account)
    r = world.api("owner").post(
        f"/accounts/{world.account.pk}/quotes",
        {"subscription": sub.pk, "billing_cycle": "month", "quantity": quantity, **extra},
    )
    assert r.status_code == 201, r.json()
    return r.json()


def crash_after(monkeypatch, what: str) -> None:
    """The next checkout dies at its charge: right after the gateway made it ("charge"), or before the
    call left the process ("charge_never_sent")."""
    gateway_class = type(get_gateway())
    real = gateway_class.charge

    def then_crash(self, **kwargs):  # noqa: ANN001, ANN003, ANN202
        if what == "charge":
            real(self, **kwargs)
        raise Crash

    monkeypatch.setattr(gateway_class, "charge", then_crash)


def checkout_that_crashes(world, quote: dict) -> None:
    with pytest.raises(Crash):
        world.api("owner").post(f"/quotes/{quote['id']}/checkout", key=f"crash-{quote['id']}")


def test_a_charge_made_before_the_crash_is_applied_by_recovery_once(world, clock, monkeypatch):
    subscribe(world, quantity=5)
    quote = upgrade_quote(world)
    with monkeypatch.context() as patch:
        crash_after(patch, "charge")
        checkout_that_crashes(world, quote)
    attempt = PaymentAttempt.objects.get(quote_id=quote["id"])
    assert attempt.status == AttemptStatus.PENDING
    assert SandboxCharge.objects.filter(idempotency_key=attempt.gateway_key, status="succeeded").count() == 1
    assert Subscription.objects.get(account=world.account).quantity == 5  # not applied yet

    assert payment_attempts_recover(gateway=get_gateway(), now=clock.now()) == 0  # may still be running
    clock.instant += ORPHANED_AFTER + timedelta(seconds=1)
    assert payment_attempts_recover(gateway=get_gateway(), now=clock.now()) == 1
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUCCEEDED
    assert Subscription.objects.get(account=world.account).quantity == 8
    invoice = Invoice.objects.get(pk=attempt.invoice_id)
    assert (invoice.status, invoice.amount_paid) == ("paid", quote["amount_due"])
    assert SandboxCharge.objects.filter(idempotency_key=attempt.gateway_key).count() == 1  # charged once
    assert payment_attempts_recover(gateway=get_gateway(), now=clock.now()) == 0  # nothing left
    # The customer's retry of the same checkout: the quote is used, nothing more is charged.
    again = world.api("owner").post(f"/quotes/{quote['id']}/checkout", key="after-recovery")
    assert again.status_code == 409 and again.json()["error"]["code"] == "quote_used"
    assert SandboxCharge.objects.count() == 2  # the first subscription's and the upgrade's


def test_a_charge_that_never_reached_the_gateway_fails_and_the_code_is_released(world, clock, monkeypatch):
    from seatplan.accounts.permissions import SYSTEM
    from seatplan.catalog.models import DiscountCode
    from seatplan.catalog.services import discount_code_create

    subscribe(world, quantity=5)
    discount_code_create(actor=SYSTEM, now=clock.now(), code="TEN", percent_off=10, duration="once", max_redemptions=1)
    quote = upgrade_quote(world, discount_code="TEN")
    charges = SandboxCharge.objects.count()
    with monkeypatch.context() as patch:
        crash_after(patch, "charge_never_sent")  # the process dies before the charge leaves it
        checkout_that_crashes(world, quote)
    assert DiscountCode.objects.get(code="TEN").times_redeemed == 1  # held while the attempt is pending
    clock.instant += ORPHANED_AFTER + timedelta(seconds=1)
    assert payment_attempts_recover(gateway=get_gateway(), now=clock.now()) == 1
    attempt = PaymentAttempt.objects.get(quote_id=quote["id"])
    assert (attempt.status, attempt.failure_code) == (AttemptStatus.FAILED, "processing_error")
    assert SandboxCharge.objects.count() == charges  # nothing was charged
    assert Subscription.objects.get(account=world.account).quantity == 5
    assert DiscountCode.objects.get(code="TEN").times_redeemed == 0  # the hold is released


def test_the_next_checkout_of_the_account_recovers_an_orphan_first(world, clock, monkeypatch):
    subscribe(world, quantity=5)
    first = upgrade_quote(world, quantity=8)
    with monkeypatch.context() as patch:
        crash_after(patch, "charge")
        checkout_that_crashes(world, first)
    clock.instant += ORPHANED_AFTER + timedelta(seconds=1)
    second = upgrade_quote(world, quantity=9)  # quoted against 5 sessions: stale once the orphan is applied
    r = world.api("owner").post(f"/quotes/{second['id']}/checkout", key="second")
    assert r.status_code == 409 and r.json()["error"]["code"] == "quote_stale"
    assert PaymentAttempt.objects.get(quote_id=first["id"]).status == AttemptStatus.SUCCEEDED
    assert Subscription.objects.get(account=world.account).quantity == 8  # the paid upgrade is not lost
    fresh = upgrade_quote(world, quantity=9)
    r = world.api("owner").post(f"/quotes/{fresh['id']}/checkout", key="third")
    assert r.status_code == 200, r.json()
    assert r.json()["subscription"]["quantity"] == 9


def test_a_change_that_went_stale_while_charging_is_refunded(world, clock, monkeypatch):
    subscribe(world, quantity=5)
    quote = upgrade_quote(world)
    sub_id = Subscription.objects.get(account=world.account).pk
    gateway_class = type(get_gateway())
    real = gateway_class.charge

    def cancel_meanwhile(self, **kwargs):  # noqa: ANN001, ANN003, ANN202
        assert world.api("billing_manager").post(f"/subscriptions/{sub_id}/cancel").status_code == 200
        return real(self, **kwargs)

    monkeypatch.setattr(gateway_class, "charge", cancel_meanwhile)
    invoices = Invoice.objects.count()
    r = world.api("owner").post(f"/quotes/{quote['id']}/checkout", key="stale")
    assert r.status_code == 409 and r.json()["error"]["code"] == "quote_stale"
    attempt = PaymentAttempt.objects.get(quote_id=quote["id"])
    assert (attempt.status, attempt.failure_code) == (AttemptStatus.FAILED, "quote_stale")
    charge = SandboxCharge.objects.get(idempotency_key=attempt.gateway_key)
    assert charge.status == "succeeded" and charge.refunded  # the money went back
    assert Invoice.objects.count() == invoices
    assert Subscription.objects.get(pk=sub_id).quantity == 5


def test_an_upgrade_with_nothing_due_applies_without_calling_the_card(world, clock):
    from seatplan.accounts.permissions import SYSTEM
    from seatplan.catalog.services import discount_code_create

    subscribe(world, quantity=5)
    discount_code_create(actor=SYSTEM, now=clock.now(), code="FREEUP", percent_off=100, duration="once")
    quote = upgrade_quote(world, discount_code="FREEUP")
    assert quote["amount_due"] == 0
    charges = SandboxCharge.objects.count()
    r = world.api("owner").post(f"/quotes/{quote['id']}/checkout", key="free-upgrade")
    assert r.status_code == 200, r.json()
    assert r.json()["subscription"]["quantity"] == 8
    assert (r.json()["invoice"]["status"], r.json()["invoice"]["amount_paid"]) == ("paid", 0)
    assert SandboxCharge.objects.count() == charges
    assert not PaymentAttempt.objects.filter(quote_id=quote["id"]).exists()
