"""The Stripe gateway through the official SDK, over HTTP, against a local server that answers as Stripe does."""

import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from django.test import Client

from seatplan.invoices.models import Invoice
from seatplan.payments.models import AttemptStatus, PaymentAttempt, PaymentMethod
from seatplan.payments.stripe_gateway import KEY_METADATA, StripeGateway
from seatplan.subscriptions.models import Subscription
from tests.conftest import VISA, subscribe
from tests.payments.fake_stripe import NEEDS_AUTHENTICATION, FakeStripe

pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe_api(settings):
    fake = FakeStripe()
    settings.PAYMENT_GATEWAY = "seatplan.payments.stripe_gateway.StripeGateway"
    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_NETWORK_RETRIES = 0
    yield fake
    fake.close()


def save_card(world, card: dict):
    return world.api("owner").put(f"/accounts/{world.account.pk}/payment_method", card)


def checkout(world, *, quantity: int = 5):
    api = world.api("owner")
    quote = api.post(
        f"/accounts/{world.account.pk}/quotes", {"product": "testcloud", "billing_cycle": "month", "quantity": quantity}
    )
    assert quote.status_code == 201, quote.json()
    return api.post(f"/quotes/{quote.json()['id']}/checkout", key=f"k-{quote.json()['id']}")


def test_a_saved_card_is_a_stripe_customer_with_the_card_attached(world, stripe_api):
    r = save_card(world, VISA)
    assert r.status_code == 200, r.json()
    saved = PaymentMethod.objects.get(account=world.account)
    customer, method = saved.token.split(" ")
    assert customer.startswith("cus_") and method.startswith("pm_")
    assert stripe_api.payment_methods[method]["customer"] == customer
    assert (saved.brand, saved.last4, saved.exp_month, saved.exp_year) == ("Visa", "4242", 12, 2030)
    assert "4242424242424242" not in saved.token


def test_a_card_tokenised_in_the_browser_is_saved_by_its_token(world, stripe_api):
    token = stripe_api.tokenise()
    r = world.api("owner").put(f"/accounts/{world.account.pk}/payment_method", {"token": token})
    assert r.status_code == 200, r.json()
    assert (r.json()["brand"], r.json()["last4"]) == ("Visa", "4242")
    customer, method = PaymentMethod.objects.get(account=world.account).token.split(" ")
    assert method == token and stripe_api.payment_methods[token]["customer"] == customer
    assert not stripe_api.calls("/v1/payment_methods")  # no card details were sent from here
    assert subscribe_with_saved_card(world)["invoice"]["status"] == "paid"


def test_an_unknown_token_is_refused_and_nothing_is_saved(world, stripe_api):
    r = world.api("owner").put(f"/accounts/{world.account.pk}/payment_method", {"token": "pm_nope"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "token_invalid"
    assert not PaymentMethod.objects.filter(account=world.account).exists() and not stripe_api.customers


def test_the_sandbox_takes_no_tokens_and_a_token_goes_alone(world):
    api = world.api("owner")
    r = api.put(f"/accounts/{world.account.pk}/payment_method", {"token": "pm_123"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "token_not_supported"
    r = api.put(f"/accounts/{world.account.pk}/payment_method", {**VISA, "token": "pm_123"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_request"
    assert not PaymentMethod.objects.filter(account=world.account).exists()


def subscribe_with_saved_card(world) -> dict:
    r = checkout(world)
    assert r.status_code == 200, r.json()
    return r.json()


@pytest.mark.parametrize(
    ("number", "month", "code"),
    [
        ("4242424242424241", 12, "card_number_invalid"),
        ("4242424242424242", 13, "card_expiry_invalid"),
    ],
)
def test_a_card_stripe_refuses_is_our_error_and_nothing_is_saved(world, stripe_api, number, month, code):
    r = save_card(world, {**VISA, "card_number": number, "exp_month": month})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == code
    assert not PaymentMethod.objects.filter(account=world.account).exists()
    assert not stripe_api.customers


def test_checkout_charges_the_quote_once_with_the_attempts_key(world, stripe_api):
    assert save_card(world, VISA).status_code == 200
    done = subscribe(world, quantity=5)
    invoice = done["invoice"]
    assert (invoice["status"], invoice["amount_paid"]) == ("paid", 74500)
    [call] = stripe_api.calls("/v1/payment_intents")
    attempt = PaymentAttempt.objects.get(account=world.account)
    params = call["params"]
    assert (params["amount"], params["currency"], params["confirm"], params["off_session"]) == (
        "74500",
        "usd",
        "true",
        "true",
    )
    assert call["headers"]["idempotency-key"] == attempt.gateway_key == params[f"metadata[{KEY_METADATA}]"]
    assert attempt.status == AttemptStatus.SUCCEEDED
    assert stripe_api.intents[attempt.gateway_charge_id]["amount"] == 74500


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("4000000000000002", "card_declined"),
        ("4000000000009995", "insufficient_funds"),
        (NEEDS_AUTHENTICATION, "card_declined"),
    ],
)
def test_a_decline_is_our_code_and_changes_nothing(world, stripe_api, number, code):
    assert save_card(world, {**VISA, "card_number": number}).status_code == 200
    r = checkout(world)
    assert r.status_code == 402, r.json()
    assert r.json()["error"]["code"] == code
    assert not Subscription.objects.filter(account=world.account).exists()
    assert not Invoice.objects.filter(account=world.account).exists()
    attempt = PaymentAttempt.objects.get(account=world.account)
    assert (attempt.status, attempt.failure_code) == (AttemptStatus.FAILED, code)
    assert attempt.gateway_charge_id.startswith("pi_")


def test_a_charge_whose_answer_was_lost_is_found_by_its_key(world, stripe_api):
    assert save_card(world, VISA).status_code == 200
    stripe_api.lose_answers = True  # Stripe charges the card, its answer never arrives
    r = checkout(world)
    assert r.status_code == 200, r.json()
    assert len(stripe_api.intents) == 1  # found, not charged again
    [intent] = stripe_api.intents.values()
    assert PaymentAttempt.objects.get(account=world.account).gateway_charge_id == intent["id"]
    assert r.json()["invoice"]["status"] == "paid"


def test_the_same_key_charges_once_and_a_refund_is_made_once(world, stripe_api, clock):
    assert save_card(world, VISA).status_code == 200
    token = PaymentMethod.objects.get(account=world.account).token
    gateway = StripeGateway()
    first = gateway.charge(token=token, amount=1234, currency="EUR", idempotency_key="chk_same", now=clock.now())
    again = gateway.charge(token=token, amount=1234, currency="EUR", idempotency_key="chk_same", now=clock.now())
    assert first == again and first.succeeded
    assert len(stripe_api.intents) == 1
    assert stripe_api.intents[first.charge_id]["currency"] == "eur"
    assert gateway.find_charge(idempotency_key="chk_same") == first
    assert gateway.find_charge(idempotency_key="chk_never") is None
    gateway.refund(charge_id=first.charge_id)
    gateway.refund(charge_id=first.charge_id)
    assert [r["payment_intent"] for r in stripe_api.refunds] == [first.charge_id]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SEATPLAN_PAYMENT_GATEWAY": "stripe"}, "SEATPLAN_STRIPE_SECRET_KEY is not set"),
        ({"SEATPLAN_PAYMENT_GATEWAY": "paypal"}, "one of: sandbox, stripe"),
    ],
)
def test_a_gateway_set_up_wrong_is_refused_at_start(tmp_path, env, message):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SEATPLAN_")}
    clean.update(env, SEATPLAN_DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}")
    done = subprocess.run(
        [sys.executable, "-m", "seatplan.cli", "migrate"],
        env=clean,
        cwd=tmp_path,  # noqa: S603
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert message in done.stderr


def test_the_card_page_names_the_sandbox_test_cards_only_with_the_sandbox(world, settings):
    client = Client()
    client.force_login(world.members["owner"].user)
    page = client.get("/billing/payment-method/")
    assert page.status_code == 200 and "4242 4242 4242 4242" in page.content.decode()
    settings.PAYMENT_GATEWAY = "seatplan.payments.stripe_gateway.StripeGateway"
    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    page = client.get("/billing/payment-method/")
    assert page.status_code == 200 and "4242 4242 4242 4242" not in page.content.decode()


def test_the_billing_job_renews_through_stripe_off_session(world, stripe_api, clock):
    from seatplan.jobs import billing_run

    assert save_card(world, VISA).status_code == 200
    sub = subscribe(world, quantity=5)["subscription"]
    clock.instant = datetime.fromisoformat(sub["current_period_end"].replace("Z", "+00:00"))
    assert billing_run(now=clock.now())["renewed"] == 1
    renewal = Invoice.objects.filter(account=world.account).order_by("-sequence").first()
    assert (renewal.status, renewal.amount_paid) == ("paid", 74500)
    intents = sorted(stripe_api.intents.values(), key=lambda i: i["id"])
    assert [i["amount"] for i in intents] == [74500, 74500]  # the checkout's, then the renewal's
    call = stripe_api.calls("/v1/payment_intents")[-1]
    assert (call["params"]["off_session"], call["params"]["confirm"]) == ("true", "true")
    attempt = PaymentAttempt.objects.get(invoice_id=renewal.pk)
    assert call["headers"]["idempotency-key"] == attempt.gateway_key


def test_a_renewal_whose_answer_was_lost_is_found_by_its_key(world, stripe_api, clock):
    from seatplan.jobs import billing_run

    assert save_card(world, VISA).status_code == 200
    sub = subscribe(world, quantity=5)["subscription"]
    stripe_api.lose_answers = True
    clock.instant = datetime.fromisoformat(sub["current_period_end"].replace("Z", "+00:00"))
    assert billing_run(now=clock.now())["renewed"] == 1
    renewal = Invoice.objects.filter(account=world.account).order_by("-sequence").first()
    assert (renewal.status, renewal.amount_paid) == ("paid", 74500)
    assert len(stripe_api.intents) == 2  # found by its key, not charged again


def test_stripe_out_of_reach_is_a_processing_error_and_nothing_is_saved(world, settings):
    settings.PAYMENT_GATEWAY = "seatplan.payments.stripe_gateway.StripeGateway"
    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    settings.STRIPE_NETWORK_RETRIES = 0
    r = save_card(world, VISA)
    assert r.status_code == 402 and r.json()["error"]["code"] == "processing_error"
    assert not PaymentMethod.objects.filter(account=world.account).exists()


def test_a_lost_answer_that_search_does_not_show_yet_stays_pending_until_recovery(world, stripe_api, clock):
    from seatplan.subscriptions.checkout import ORPHANED_AFTER, payment_attempts_recover

    assert save_card(world, VISA).status_code == 200
    stripe_api.lose_answers = stripe_api.search_lag = True  # charged; the answer lost; search not caught up
    r = checkout(world)
    assert r.status_code == 402 and r.json()["error"]["code"] == "processing_error"
    attempt = PaymentAttempt.objects.get(account=world.account)
    assert attempt.status == AttemptStatus.PENDING  # not failed: the card may have been charged
    assert not Subscription.objects.filter(account=world.account).exists()
    stripe_api.lose_answers = stripe_api.search_lag = False
    clock.instant += ORPHANED_AFTER + timedelta(seconds=1)
    assert payment_attempts_recover(gateway=StripeGateway(), now=clock.now()) == 1
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUCCEEDED
    assert Subscription.objects.get(account=world.account).quantity == 5
    assert len(stripe_api.intents) == 1  # one charge, applied once


def test_a_renewal_stripe_cannot_confirm_yet_is_left_for_recovery_not_charged_again(world, stripe_api, clock):
    from seatplan.jobs import billing_run

    assert save_card(world, VISA).status_code == 200
    sub = subscribe(world, quantity=5)["subscription"]
    stripe_api.lose_answers = stripe_api.search_lag = True
    clock.instant = datetime.fromisoformat(sub["current_period_end"].replace("Z", "+00:00"))
    billing_run(now=clock.now())
    renewal = Invoice.objects.filter(account=world.account).order_by("-sequence").first()
    assert renewal.status == "open"
    assert PaymentAttempt.objects.get(invoice_id=renewal.pk).status == AttemptStatus.PENDING
    stripe_api.lose_answers = stripe_api.search_lag = False
    clock.instant += timedelta(minutes=11)
    assert billing_run(now=clock.now())["recovered"] == 1
    renewal.refresh_from_db()
    assert (renewal.status, renewal.amount_paid) == ("paid", 74500)
    assert len(stripe_api.intents) == 2  # the checkout's and the renewal's: nothing charged twice
