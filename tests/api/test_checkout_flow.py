"""Quote → checkout through the API: exact money, refusals that change nothing, idempotency."""

from datetime import timedelta

import pytest

from seatplan.catalog.models import DiscountCode
from seatplan.events.models import OutboxEvent
from seatplan.invoices.models import Invoice
from seatplan.payments.models import PaymentAttempt, SandboxCharge
from seatplan.subscriptions.models import Quote, Subscription
from tests.conftest import DECLINED, VISA, subscribe

pytestmark = pytest.mark.django_db


def state(world) -> dict:
    """Everything a refused checkout must leave as it was."""
    subs = list(Subscription.objects.filter(account=world.account).values().order_by("pk"))
    return {
        "subscriptions": subs,
        "invoices": Invoice.objects.filter(account=world.account).count(),
        "charges": SandboxCharge.objects.filter(status="succeeded", refunded=False).count(),
        "redeemed": dict(DiscountCode.objects.values_list("code", "times_redeemed")),
        "credit": type(world.account).objects.get(pk=world.account.pk).credit_balance,
    }


def quote(world, who="owner", **body):
    body.setdefault("billing_cycle", "month")
    return world.api(who).post(f"/accounts/{world.account.pk}/quotes", body)


def test_new_subscription_is_charged_in_full_and_invoiced(world):
    done = subscribe(world, quantity=5)
    sub, invoice = done["subscription"], done["invoice"]
    assert (sub["quantity"], sub["billing_cycle"], sub["status"]) == (5, "month", "active")
    assert sub["current_period_start"] == "2027-01-15T12:00:00Z"
    assert sub["current_period_end"] == "2027-02-15T12:00:00Z"
    assert invoice["status"] == "paid"
    assert invoice["total"] == invoice["amount_paid"] == 74500
    assert invoice["number"].endswith("000001")
    assert [line["amount"] for line in invoice["lines"]] == [74500]


def test_upgrade_at_half_of_february_charges_half(world, clock):
    from datetime import UTC, datetime

    clock.instant = datetime(2027, 1, 31, 0, 0, tzinfo=UTC)
    sub = subscribe(world, quantity=5)["subscription"]
    assert sub["current_period_end"] == "2027-02-28T00:00:00Z"
    clock.instant = datetime(2027, 2, 14, 0, 0, tzinfo=UTC)
    q = quote(world, subscription=sub["id"], quantity=8)
    assert q.status_code == 201, q.json()
    body = q.json()
    assert [(li["kind"], li["quantity"], li["unit_amount"], li["amount"], li["proration"]) for li in body["lines"]] == [
        ("charge", 3, 14900, 22350, True)
    ]
    assert (body["subtotal"], body["total"], body["amount_due"]) == (22350, 22350, 22350)
    assert body["next_renewal_at"] == "2027-02-28T00:00:00Z"
    assert body["next_renewal_amount"] == 8 * 14900
    done = world.api("owner").post(f"/quotes/{body['id']}/checkout", key="up-1")
    assert done.status_code == 200, done.json()
    assert done.json()["subscription"]["quantity"] == 8
    assert done.json()["invoice"]["amount_paid"] == 22350


def test_monthly_to_annual_credits_unused_time_of_current_configuration(world, clock):
    sub = subscribe(world, quantity=5)["subscription"]  # Jan 15 → Feb 15 (31 days)
    clock.instant += timedelta(days=10)
    q = quote(world, subscription=sub["id"], quantity=8, billing_cycle="year").json()
    credit, charge = q["lines"]
    remaining, period = 21 * 86400, 31 * 86400
    assert credit["kind"] == "credit"
    assert credit["amount"] == -round(5 * 14900 * remaining / period)
    assert (charge["kind"], charge["amount"], charge["proration"]) == ("charge", 8 * 149000, False)
    assert q["total"] == charge["amount"] + credit["amount"]
    done = world.api("owner").post(f"/quotes/{q['id']}/checkout", key="annual").json()
    assert done["subscription"]["billing_cycle"] == "year"
    assert done["subscription"]["current_period_start"] == "2027-01-25T12:00:00Z"
    assert done["subscription"]["current_period_end"] == "2028-01-25T12:00:00Z"


def test_discount_code_once_applies_to_charges_only(world, clock):
    from seatplan.accounts.permissions import SYSTEM
    from seatplan.catalog.services import discount_code_create

    discount_code_create(actor=SYSTEM, now=clock.now(), code="WELCOME10", percent_off=10, duration="once")
    sub = subscribe(world, quantity=5)["subscription"]
    clock.instant += timedelta(days=10)
    q = quote(world, subscription=sub["id"], quantity=8, billing_cycle="year", discount_code="welcome10").json()
    kinds = [line["kind"] for line in q["lines"]]
    assert kinds == ["credit", "charge", "discount"]
    assert q["lines"][2]["amount"] == -round(8 * 149000 / 10)
    assert q["discount_total"] == q["lines"][2]["amount"]
    assert q["total"] == q["subtotal"] + q["discount_total"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"quantity": 4}, 422, "quantity_decrease_not_allowed"),
        ({"quantity": 5}, 422, "nothing_to_change"),
        ({"quantity": 0}, 422, "quantity_invalid"),
        ({"quantity": 1001}, 422, "quantity_invalid"),
        ({"quantity": 6, "discount_code": "NOPE"}, 422, "discount_not_found"),
        ({"quantity": 6, "billing_cycle": "week"}, 422, "billing_cycle_invalid"),
        ({"quantity": "six"}, 422, "quantity_invalid"),
        ({}, 400, "parameter_missing"),
    ],
)
def test_quote_refusals(world, body, status, code):
    sub = subscribe(world, quantity=5)["subscription"]
    before = state(world)
    response = quote(world, subscription=sub["id"], **body)
    assert response.status_code == status, response.json()
    assert response.json()["error"]["code"] == code
    assert state(world) == before


def test_annual_rules(world, clock):
    sub = subscribe(world, quantity=2, cycle="year")["subscription"]
    assert quote(world, subscription=sub["id"], quantity=3, billing_cycle="month").json()["error"]["code"] == (
        "annual_to_monthly_not_allowed"
    )
    again = quote(world, product="testcloud", quantity=3, billing_cycle="month")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "annual_subscription_active")
    again = quote(world, product="testcloud", quantity=3, billing_cycle="year")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "subscription_active")


def test_declined_card_changes_nothing_and_quote_stays_usable(world):
    sub = subscribe(world, quantity=5)["subscription"]
    api = world.api("owner")
    api.put(f"/accounts/{world.account.pk}/payment_method", DECLINED)
    q = quote(world, subscription=sub["id"], quantity=7).json()
    before = state(world)
    declined = api.post(f"/quotes/{q['id']}/checkout", key="try-1")
    assert (declined.status_code, declined.json()["error"]["code"]) == (402, "card_declined")
    assert state(world) == before
    assert Quote.objects.get(pk=q["id"]).used_at is None
    api.put(f"/accounts/{world.account.pk}/payment_method", VISA)
    ok = api.post(f"/quotes/{q['id']}/checkout", key="try-2")
    assert ok.status_code == 200
    assert ok.json()["subscription"]["quantity"] == 7


def test_same_idempotency_key_replays_and_other_request_is_refused(world):
    sub = subscribe(world, quantity=5)["subscription"]
    api = world.api("owner")
    q = quote(world, subscription=sub["id"], quantity=6).json()
    first = api.post(f"/quotes/{q['id']}/checkout", key="same")
    second = api.post(f"/quotes/{q['id']}/checkout", key="same")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert Invoice.objects.filter(account=world.account).count() == 2
    q2 = quote(world, subscription=sub["id"], quantity=7).json()
    reused = api.post(f"/quotes/{q2['id']}/checkout", key="same")
    assert (reused.status_code, reused.json()["error"]["code"]) == (409, "idempotency_key_reused")
    missing = api.post(f"/quotes/{q2['id']}/checkout")
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "idempotency_key_missing")


def test_used_expired_and_stale_quotes_are_refused(world, clock):
    sub = subscribe(world, quantity=5)["subscription"]
    api = world.api("owner")
    old = quote(world, subscription=sub["id"], quantity=6).json()
    newer = quote(world, subscription=sub["id"], quantity=7).json()
    assert api.post(f"/quotes/{newer['id']}/checkout", key="a").status_code == 200
    used = api.post(f"/quotes/{newer['id']}/checkout", key="b")
    assert used.json()["error"]["code"] == "quote_used"
    stale = api.post(f"/quotes/{old['id']}/checkout", key="c")
    assert (stale.status_code, stale.json()["error"]["code"]) == (409, "quote_stale")
    late = quote(world, subscription=sub["id"], quantity=9).json()
    clock.instant += timedelta(minutes=30)
    before = state(world)
    expired = api.post(f"/quotes/{late['id']}/checkout", key="d")
    assert (expired.status_code, expired.json()["error"]["code"]) == (409, "quote_expired")
    assert state(world) == before


def test_exhausted_code_at_checkout_charges_nothing(world, clock):
    from seatplan.accounts.permissions import SYSTEM
    from seatplan.catalog.services import discount_code_create

    discount_code_create(
        actor=SYSTEM, now=clock.now(), code="ONLYONE", percent_off=50, duration="once", max_redemptions=1
    )
    sub = subscribe(world, quantity=5)["subscription"]
    q = quote(world, subscription=sub["id"], quantity=6, discount_code="ONLYONE").json()
    DiscountCode.objects.filter(code="ONLYONE").update(times_redeemed=1)  # someone else used it meanwhile
    before = state(world)
    refused = world.api("owner").post(f"/quotes/{q['id']}/checkout", key="x")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "discount_exhausted")
    assert state(world) == before
    assert not PaymentAttempt.objects.filter(quote_id=q["id"]).exists()


def test_payment_method_missing(world):
    q = quote(world, product="testcloud", quantity=1).json()
    refused = world.api("owner").post(f"/quotes/{q['id']}/checkout", key="nocard")
    assert (refused.status_code, refused.json()["error"]["code"]) == (402, "payment_method_missing")
    assert not Subscription.objects.filter(account=world.account).exists()


def test_the_receipt_goes_out_with_the_checkout_once(world, django_capture_on_commit_callbacks, mailoutbox):
    api = world.api("owner")
    assert api.put(f"/accounts/{world.account.pk}/payment_method", VISA).status_code == 200
    q = quote(world, product="testcloud", quantity=5)
    with django_capture_on_commit_callbacks(execute=True):
        done = api.post(f"/quotes/{q.json()['id']}/checkout", key="receipt-once")
        again = api.post(f"/quotes/{q.json()['id']}/checkout", key="receipt-once")  # a client's retry
    assert done.status_code == again.status_code == 200 and done.json() == again.json()
    number = done.json()["invoice"]["number"]
    receipts = [m for m in mailoutbox if m.subject.startswith(f"Receipt for invoice {number} ")]
    assert len(receipts) == 1
    assert sorted(receipts[0].to) == ["billing_manager@acme.test", "owner@acme.test"]
    assert [name for name, _, _ in receipts[0].attachments] == [f"{number}.pdf"]
    event = OutboxEvent.objects.get(dedupe_key=f"email:receipt:{done.json()['invoice']['id']}")
    assert event.delivered_at is not None and event.attempts == 1


def test_a_receipt_that_cannot_be_sent_is_left_to_the_worker(
    world, clock, django_capture_on_commit_callbacks, mailoutbox, monkeypatch
):
    from django.core.mail.backends.locmem import EmailBackend

    from seatplan.events.delivery import outbox_deliver

    api = world.api("owner")
    assert api.put(f"/accounts/{world.account.pk}/payment_method", VISA).status_code == 200
    q = quote(world, product="testcloud", quantity=5)
    outbox_deliver(now=clock.now())  # what setting up the account queued
    with monkeypatch.context() as broken:
        broken.setattr(EmailBackend, "send_messages", lambda self, messages: (_ for _ in ()).throw(OSError("down")))
        with django_capture_on_commit_callbacks(execute=True):
            done = api.post(f"/quotes/{q.json()['id']}/checkout", key="receipt-later")
    assert done.status_code == 200  # the checkout stands; only the e-mail waits
    event = OutboxEvent.objects.get(dedupe_key=f"email:receipt:{done.json()['invoice']['id']}")
    assert (event.delivered_at, event.attempts) == (None, 1)  # the request's claim, given back
    assert outbox_deliver(now=clock.now()) == 1
    number = done.json()["invoice"]["number"]
    assert len([m for m in mailoutbox if m.subject.startswith(f"Receipt for invoice {number} ")]) == 1
    event.refresh_from_db()
    assert event.delivered_at is not None and event.attempts == 2
    assert outbox_deliver(now=clock.now()) == 0  # sent once


def test_a_checkout_with_nothing_due_applies_without_a_charge(
    world, clock, django_capture_on_commit_callbacks, mailoutbox
):
    from seatplan.accounts.permissions import SYSTEM
    from seatplan.catalog.services import discount_code_create

    discount_code_create(actor=SYSTEM, now=clock.now(), code="FREEMONTH", percent_off=100, duration="once")
    api = world.api("owner")
    assert api.put(f"/accounts/{world.account.pk}/payment_method", VISA).status_code == 200
    charges = SandboxCharge.objects.count()
    q = quote(world, product="testcloud", quantity=2, discount_code="FREEMONTH")
    assert q.status_code == 201 and q.json()["amount_due"] == 0, q.json()
    with django_capture_on_commit_callbacks(execute=True):
        done = api.post(f"/quotes/{q.json()['id']}/checkout", key="free")
    assert done.status_code == 200, done.json()
    invoice = done.json()["invoice"]
    assert (invoice["status"], invoice["total"], invoice["amount_paid"]) == ("paid", 0, 0)
    assert done.json()["subscription"]["quantity"] == 2
    assert SandboxCharge.objects.count() == charges  # the card was not called
    assert [m for m in mailoutbox if m.subject.startswith(f"Receipt for invoice {invoice['number']} ")]


def test_a_keyed_response_is_kept_as_the_json_it_was(world):
    from seatplan.idempotency.models import IdempotencyRecord

    api = world.api("owner")
    assert api.put(f"/accounts/{world.account.pk}/payment_method", VISA).status_code == 200
    q = quote(world, product="testcloud", quantity=3)
    done = api.post(f"/quotes/{q.json()['id']}/checkout", key="kept-as-json")
    record = IdempotencyRecord.objects.get(key="kept-as-json")
    # Stored as the JSON object it was (not as a string of JSON), and replayed as it was sent.
    assert record.status_code == 200 and isinstance(record.response, dict)
    assert record.response == done.json()
    assert api.post(f"/quotes/{q.json()['id']}/checkout", key="kept-as-json").json() == done.json()


def test_a_keyed_checkout_records_its_response_in_the_transaction_that_makes_the_change(world, monkeypatch):
    from seatplan.api import billing
    from seatplan.idempotency.models import IdempotencyRecord

    api = world.api("owner")
    sub = subscribe(world, quantity=5)["subscription"]
    seen = {}
    real = billing.quote_checkout

    def checkout_then_look(**kwargs):
        result = real(**kwargs)
        # The change is done, and the view has not answered yet: the key already holds the response.
        seen["record"] = IdempotencyRecord.objects.values("status_code", "response").get(key="with-change")
        return result

    monkeypatch.setattr(billing, "quote_checkout", checkout_then_look)
    q = quote(world, subscription=sub["id"], quantity=6).json()
    done = api.post(f"/quotes/{q['id']}/checkout", key="with-change")
    assert done.status_code == 200
    assert seen["record"] == {"status_code": 200, "response": done.json()}
    assert api.post(f"/quotes/{q['id']}/checkout", key="with-change").json() == done.json()

    # When the change is rolled back after the response was recorded, the record goes with it: the
    # request fails as a server error, the claim is dropped, and nothing changed but the charge, whose
    # attempt stays pending for recovery (as after any crash between charging and finishing).
    def fail_after_recording(**kwargs):
        on_applied = kwargs["on_applied"]

        def record_then_fail(result):
            on_applied(result)
            raise RuntimeError("the commit failed")

        return real(**{**kwargs, "on_applied": record_then_fail})

    monkeypatch.setattr(billing, "quote_checkout", fail_after_recording)
    q2 = quote(world, subscription=sub["id"], quantity=7).json()
    before = state(world)
    failed = api.post(f"/quotes/{q2['id']}/checkout", key="rolled-back")
    assert failed.status_code == 500
    assert {**state(world), "charges": None} == {**before, "charges": None}
    assert PaymentAttempt.objects.get(quote_id=q2["id"]).status == "pending"
    assert not IdempotencyRecord.objects.filter(key="rolled-back").exists()
    assert Quote.objects.get(pk=q2["id"]).used_at is None
