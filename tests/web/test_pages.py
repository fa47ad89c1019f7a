"""The web pages through Django's test client: every page × role, forms without JavaScript, the guards."""

import re
from datetime import timedelta

import pytest
from django.test import Client

from seatplan.accounts.permissions import SYSTEM
from seatplan.catalog.models import DiscountCode
from seatplan.catalog.services import discount_code_create
from seatplan.invoices.models import Invoice
from seatplan.leases.services import lease_acquire, lease_release
from seatplan.payments.models import SandboxCharge
from seatplan.subscriptions.models import Subscription
from tests.conftest import DECLINED, ROLES, VISA, subscribe

pytestmark = pytest.mark.django_db

BILLING_ROLES = ["owner", "billing_manager"]
OTHER_ROLES = ["admin", "member"]


# ---------------------------------------------------------------- helpers and fixtures


@pytest.fixture
def sub(world) -> dict:
    """Acme's 5-session monthly TestCloud subscription and its first invoice (API bodies)."""
    return subscribe(world, quantity=5)


@pytest.fixture
def outsider(world) -> dict:
    """Other Co's own subscription and invoice, bought with its own key."""
    api = world.api("outsider")
    assert api.put(f"/accounts/{world.other.pk}/payment_method", VISA).status_code == 200
    quote = api.post(
        f"/accounts/{world.other.pk}/quotes", {"product": "testcloud", "billing_cycle": "month", "quantity": 2}
    )
    assert quote.status_code == 201, quote.json()
    done = api.post(f"/quotes/{quote.json()['id']}/checkout", key="outsider-1")
    assert done.status_code == 200, done.json()
    return done.json()


def client_for(world, role: str, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(world.members[role].user)
    return client


def state(world) -> dict:
    """Everything a refused checkout must leave as it was."""
    return {
        "subscriptions": list(Subscription.objects.filter(account=world.account).values().order_by("pk")),
        "invoices": Invoice.objects.filter(account=world.account).count(),
        "charges": SandboxCharge.objects.filter(status="succeeded", refunded=False).count(),
        "redeemed": dict(DiscountCode.objects.values_list("code", "times_redeemed")),
    }


def hidden(html: str, name: str) -> str:
    """The value of the hidden input `name` in a page."""
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden input {name!r} in the page"
    return match.group(1)


def menu_items(html: str) -> list[str]:
    """The labels of the role=menuitem elements on the page (links and buttons)."""
    return [
        re.sub(r"<[^>]+>", "", label).strip()
        for label in re.findall(r'role="menuitem"[^>]*>(.*?)</(?:a|button)>', html, flags=re.S)
    ]


def page_urls(sub: dict) -> dict[str, str]:
    sid, iid = sub["subscription"]["id"], sub["invoice"]["id"]
    return {
        "checkout": f"/settings/subscriptions/{sid}/upgrade/",
        "subscribe": "/settings/subscriptions/new/",
        "cancel": f"/settings/subscriptions/{sid}/cancel/",
        "confirmation": f"/settings/checkout/done/{iid}/",
        "invoices": "/billing/",
        "invoices_of_subscription": f"/billing/?subscription={sid}",
        "invoice": f"/billing/invoices/{iid}/",
        "invoice_pdf": f"/billing/invoices/{iid}/pdf/",
        "payment_method": "/billing/payment-method/",
        "payment_method_remove": "/billing/payment-method/remove/",
        "billing_details": "/billing/details/",
    }


# ---------------------------------------------------------------- who sees which page


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", ["/settings/subscriptions/", "/people/", "/usage/"])
def test_everyone_sees_subscription_management_people_and_usage(world, sub, role, path):
    response = client_for(world, role).get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/settings/subscriptions/"' in html and ">Subscription Management<" in html
    assert 'href="/people/"' in html and ">People and roles<" in html
    assert ("/billing/payment-method/" in html) == (role in BILLING_ROLES)  # billing nav only where allowed


@pytest.mark.parametrize("role", BILLING_ROLES)
@pytest.mark.parametrize(
    "page",
    [
        "checkout",
        "cancel",
        "confirmation",
        "invoices",
        "invoices_of_subscription",
        "invoice",
        "invoice_pdf",
        "payment_method",
        "payment_method_remove",
        "billing_details",
    ],
)
def test_owner_and_billing_manager_get_the_billing_pages(world, sub, role, page):
    response = client_for(world, role).get(page_urls(sub)[page])
    assert response.status_code == 200, response.content[:500]


@pytest.mark.parametrize("role", BILLING_ROLES)
def test_new_subscription_page_goes_to_the_live_subscriptions_upgrade(world, sub, role):
    response = client_for(world, role).get("/settings/subscriptions/new/")
    assert response.status_code == 302
    assert response["Location"] == f"/settings/subscriptions/{sub['subscription']['id']}/upgrade/"


@pytest.mark.parametrize("role", OTHER_ROLES)
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "page",
    [
        "checkout",
        "subscribe",
        "cancel",
        "confirmation",
        "invoices",
        "invoice",
        "invoice_pdf",
        "payment_method",
        "payment_method_remove",
        "billing_details",
    ],
)
def test_admin_and_member_are_refused_billing_pages(world, sub, role, method, page):
    before = state(world)
    client = client_for(world, role)
    data = (
        {
            "action": "checkout",
            "additional": "3",
            "card_number": VISA["card_number"],
            "exp_month": "12",
            "exp_year": "2030",
            "cvc": "123",
            "business_name": "Hijack",
        }
        if method == "post"
        else {}
    )
    response = getattr(client, method)(page_urls(sub)[page], data)
    assert response.status_code == 403
    assert state(world) == before
    html = response.content.decode()
    assert "You can't do this here" in html and 'aria-label="Main"' in html  # in the layout, with the nav


@pytest.mark.parametrize("role", OTHER_ROLES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_admin_and_member_cannot_reactivate(world, sub, role, method):
    Subscription.objects.filter(pk=sub["subscription"]["id"]).update(auto_renew=False)
    response = getattr(client_for(world, role), method)(
        f"/settings/subscriptions/{sub['subscription']['id']}/reactivate/"
    )
    assert response.status_code == 403
    assert Subscription.objects.get(pk=sub["subscription"]["id"]).auto_renew is False


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_admin_and_member_see_no_upgrade_or_cancel_in_the_menu(world, sub, role):
    html = client_for(world, role).get("/settings/subscriptions/").content.decode()
    assert 'aria-label="Options for TestCloud"' in html
    assert menu_items(html) == ["Usage"]
    assert "/upgrade/" not in html and "/cancel/" not in html and "/reactivate/" not in html
    assert "Buy TestCloud sessions" not in html


@pytest.mark.parametrize("role", BILLING_ROLES)
def test_owner_and_billing_manager_see_the_whole_menu(world, sub, role):
    html = client_for(world, role).get("/settings/subscriptions/").content.decode()
    assert menu_items(html) == ["Upgrade", "Cancel", "Billing history", "Usage"]


@pytest.mark.parametrize("role", BILLING_ROLES)
def test_another_accounts_objects_are_not_found(world, sub, outsider, role):
    sid, iid = outsider["subscription"]["id"], outsider["invoice"]["id"]
    client = client_for(world, role)
    for path in [
        f"/settings/subscriptions/{sid}/upgrade/",
        f"/settings/subscriptions/{sid}/cancel/",
        f"/settings/checkout/done/{iid}/",
        f"/billing/invoices/{iid}/",
        f"/billing/invoices/{iid}/pdf/",
        f"/billing/?subscription={sid}",
    ]:
        assert client.get(path).status_code == 404, path
    before = Subscription.objects.get(pk=sid).auto_renew
    assert client.post(f"/settings/subscriptions/{sid}/cancel/").status_code == 404
    assert client.post(f"/settings/subscriptions/{sid}/reactivate/").status_code == 404
    assert (
        client.post(f"/settings/subscriptions/{sid}/upgrade/", {"action": "checkout", "additional": "1"}).status_code
        == 404
    )
    assert Subscription.objects.get(pk=sid).auto_renew == before


def test_unknown_ids_are_not_found(world, sub):
    client = client_for(world, "owner")
    assert client.get("/settings/subscriptions/sub_nope/upgrade/").status_code == 404
    missing = client.get("/billing/invoices/in_nope/")
    assert missing.status_code == 404 and "Page not found" in missing.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/settings/subscriptions/",
        "/people/",
        "/usage/",
        "/billing/",
        "/billing/payment-method/",
        "/billing/details/",
        "/settings/subscriptions/new/",
    ],
)
def test_signed_out_goes_to_sign_in(world, path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/signin/")
    if path != "/":
        assert response["Location"] == f"/signin/?next={path}"


def test_signed_out_object_pages_go_to_sign_in(world, sub):
    for path in page_urls(sub).values():
        response = Client().get(path)
        assert response.status_code == 302 and response["Location"].startswith("/signin/?next="), path


def test_sign_in_page_has_the_labelled_fields(world):
    html = Client().get("/signin/").content.decode()
    assert '<label for="email">E-mail</label>' in html
    assert '<label for="password">Password</label>' in html
    assert ">Sign in</button>" in html


# ---------------------------------------------------------------- the free trial


def test_owner_starts_the_free_trial_from_the_buy_page_once(world):
    client = client_for(world, "owner")
    page = client.get("/settings/subscriptions/new/").content.decode()
    assert "Start free trial" in page and "2 parallel sessions for 14 days" in page
    response = client.post("/settings/subscriptions/trial/", follow=True)
    assert response.redirect_chain[-1][0] == "/settings/subscriptions/"
    assert "Your free trial has started" in response.content.decode()
    trial = Subscription.objects.get(account=world.account)
    assert (trial.is_trial, trial.quantity, trial.status) == (True, 2, "active")
    assert Invoice.objects.filter(account=world.account).count() == 0  # free
    again = client.post("/settings/subscriptions/trial/", follow=True).content.decode()
    assert "had its free trial already" in again and "Start free trial" not in again
    assert Subscription.objects.filter(account=world.account).count() == 1


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_admin_and_member_cannot_start_a_trial(world, role):
    assert client_for(world, role).post("/settings/subscriptions/trial/").status_code == 403
    assert not Subscription.objects.filter(account=world.account).exists()


# ---------------------------------------------------------------- usage


def test_usage_page_shows_now_by_run_type_and_a_30_day_chart_with_the_limit(world, clock):
    subscribe(world, quantity=4)
    Subscription.objects.filter(account=world.account).update(created_at=clock.instant - timedelta(days=3))
    member = world.actor("member")

    def acquire(run_type: str, ttl: int = 86_400):
        return lease_acquire(
            actor=member, account_id=world.account.pk, run_type=run_type, ttl_seconds=ttl, now=clock.instant
        )

    start = clock.instant
    clock.instant = start - timedelta(days=2)  # all 4 at once (the limit), then 1 runs on for its day-long TTL
    leases = [acquire("desktop_browser") for _ in range(4)]
    clock.instant += timedelta(minutes=5)
    for lease in leases[1:]:
        lease_release(actor=member, lease=lease, now=clock.instant)
    clock.instant = start
    acquire("mobile_native")
    acquire("desktop_browser")

    owner_html = client_for(world, "owner").get("/usage/").content.decode()
    meters = dict(re.findall(r'<p class="muted small">([^<]+)</p><p class="meter-value">(\d+)</p>', owner_html))
    assert meters == {"Parallel session limit": "4", "In use now": "2", "Queued now": "0", "Peak today (UTC)": "2"}
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td class="num" data-label="In use">(\d+)</td>', owner_html)
    assert rows == [("Desktop browser", "1"), ("Mobile browser", "0"), ("Mobile native", "1")]
    bars = re.findall(r'<rect class="bar( bar-full)?"[^>]*><title>([^<]+)</title>', owner_html)
    assert len(bars) == 30
    assert [title for full, title in bars if full] == ["Jan 13: 4"]  # the day it reached the limit
    assert bars[-1][1] == "Jan 15: 2" and bars[-2][1] == "Jan 14: 1"
    assert '<line class="limit"' in owner_html and "Limit 4" in owner_html
    assert "parallel sessions were in use" not in owner_html  # the notice is for the day it happened

    clock.instant = start - timedelta(days=2, minutes=-10)  # back on the day of the notice
    assert "parallel sessions were in use (75 % or more)" in client_for(world, "owner").get("/usage/").content.decode()
    member_html = client_for(world, "member").get("/usage/").content.decode()
    assert "parallel sessions were in use" not in member_html  # the notice goes to Owner and Billing Managers
    clock.instant = start


# ---------------------------------------------------------------- cancel and reactivate


def test_cancel_page_shows_the_end_date_and_cancel_then_reactivate(world, sub):
    sid = sub["subscription"]["id"]
    client = client_for(world, "owner")
    page = client.get(f"/settings/subscriptions/{sid}/cancel/").content.decode()
    assert "February 15, 2027" in page  # the period end (T0 + 1 month)
    response = client.post(f"/settings/subscriptions/{sid}/cancel/", follow=True)
    assert response.redirect_chain[-1][0] == "/settings/subscriptions/"
    html = response.content.decode()
    assert "stays usable until February 15, 2027" in html
    assert Subscription.objects.get(pk=sid).auto_renew is False
    assert menu_items(html) == ["Upgrade", "Reactivate", "Billing history", "Usage"]
    response = client.post(f"/settings/subscriptions/{sid}/reactivate/", follow=True)
    assert "Reactivated" in response.content.decode()
    assert Subscription.objects.get(pk=sid).auto_renew is True


def test_reactivate_only_takes_post(world, sub):
    response = client_for(world, "owner").get(f"/settings/subscriptions/{sub['subscription']['id']}/reactivate/")
    assert response.status_code == 405


# ---------------------------------------------------------------- checkout without JavaScript


def upgrade_url(sub: dict) -> str:
    return f"/settings/subscriptions/{sub['subscription']['id']}/upgrade/"


def test_checkout_page_has_its_controls(world, sub):
    html = client_for(world, "owner").get(upgrade_url(sub)).content.decode()
    assert '<label for="additional">Additional sessions</label>' in html
    assert 'type="number"' in html
    assert '<span class="radio-title">Monthly</span>' in html and '<span class="radio-title">Annual</span>' in html
    assert '<label for="discount_code">Discount code</label>' in html
    assert 'value="apply"' in html and ">Apply</button>" in html
    assert 'role="region" aria-label="Order summary"' in html
    assert "Visa ending in 4242" in html or "ending in 4242" in html
    assert 'name="quote"' not in html  # nothing chosen yet: no quote, Checkout disabled


def test_update_shows_the_order_summary(world, sub):
    response = client_for(world, "owner").post(
        upgrade_url(sub), {"action": "update", "additional": "3", "billing_cycle": "month"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "New total: <strong>8</strong> sessions" in html
    assert hidden(html, "quote").startswith("quo")  # a quote id from the core
    assert "Total due today" in html and 'data-testid="amount-due"' in html
    assert "Jan 15 – Feb 15, 2027" in html  # the prorated line's period, as people write dates
    assert "<html" in html  # a whole page without htmx


def test_htmx_update_answers_only_the_summary(world, sub):
    response = client_for(world, "owner").post(
        upgrade_url(sub), {"action": "update", "additional": "2"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<aside id="order-summary"')
    assert 'hx-swap-oob="true"' in html and "<strong>7</strong>" in html


def test_bad_code_shows_an_alert_and_changes_nothing(world, sub):
    client = client_for(world, "owner")
    before = state(world)
    response = client.post(
        upgrade_url(sub), {"action": "apply", "additional": "3", "billing_cycle": "month", "discount_code": "NOPE"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'role="alert">[^<]+<', html)
    assert re.search(r'id="discount_code"[^>]*value="NOPE"[^>]*aria-invalid="true"', html)  # kept, to correct
    assert hidden(html, "applied_code") == ""
    assert "Applied:" not in html
    assert "New total: <strong>8</strong>" in html  # the rest of the order stays as entered
    assert state(world) == before


def test_good_code_is_applied_to_the_summary(world, sub):
    discount_code_create(actor=SYSTEM, now=world.account.created_at, code="WELCOME10", percent_off=10, duration="once")
    html = (
        client_for(world, "owner")
        .post(
            upgrade_url(sub),
            {"action": "apply", "additional": "3", "billing_cycle": "month", "discount_code": "welcome10"},
        )
        .content.decode()
    )
    assert 'role="alert"' not in html
    assert hidden(html, "applied_code") == "WELCOME10"
    assert 'class="line-discount"' in html and "-$" in html


def checkout_form(client: Client, sub: dict, **order) -> dict:
    """The form as the page renders it after an update: the order, its quote id and idempotency key."""
    order = {"additional": "3", "billing_cycle": "month", "applied_code": "", **order}
    html = client.post(upgrade_url(sub), {"action": "update", **order}).content.decode()
    return {
        **order,
        "action": "checkout",
        "quote": hidden(html, "quote"),
        "idempotency_key": hidden(html, "idempotency_key"),
    }


def test_checkout_charges_once_and_confirms(world, sub):
    client = client_for(world, "owner")
    form = checkout_form(client, sub)
    before = state(world)
    response = client.post(upgrade_url(sub), form)
    assert response.status_code == 302
    invoice = Invoice.objects.filter(account=world.account).order_by("-sequence").first()
    assert response["Location"] == f"/settings/checkout/done/{invoice.pk}/"
    assert Subscription.objects.get(pk=sub["subscription"]["id"]).quantity == 8
    assert Invoice.objects.filter(account=world.account).count() == before["invoices"] + 1
    assert SandboxCharge.objects.filter(status="succeeded").count() == before["charges"] + 1
    page = client.get(response["Location"]).content.decode()
    assert f"View invoice {invoice.number}" in page and "Download PDF" in page
    assert "<dt>Sessions</dt><dd>8</dd>" in page

    again = client.post(upgrade_url(sub), form)  # the same form once more (back button, double submit)
    assert again.status_code in (200, 302)
    assert Subscription.objects.get(pk=sub["subscription"]["id"]).quantity == 8
    assert Invoice.objects.filter(account=world.account).count() == before["invoices"] + 1
    assert SandboxCharge.objects.filter(status="succeeded").count() == before["charges"] + 1


def test_resubmitted_checkout_form_replays_the_confirmation(world, sub):
    client = client_for(world, "owner")
    form = checkout_form(client, sub)
    first = client.post(upgrade_url(sub), form)
    again = client.post(upgrade_url(sub), form)
    assert again.status_code == 302 and again["Location"] == first["Location"]


def test_checkout_with_a_changed_order_asks_to_review(world, sub):
    client = client_for(world, "owner")
    form = checkout_form(client, sub)
    before = state(world)
    response = client.post(upgrade_url(sub), {**form, "additional": "4"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your order changed" in html and "New total: <strong>9</strong>" in html
    assert state(world) == before


def test_declined_card_shows_an_alert_and_changes_nothing(world, sub):
    api = world.api("owner")
    assert api.put(f"/accounts/{world.account.pk}/payment_method", DECLINED).status_code == 200
    client = client_for(world, "owner")
    form = checkout_form(client, sub)
    before = state(world)
    response = client.post(upgrade_url(sub), form)
    assert response.status_code == 402
    html = response.content.decode()
    assert re.search(r'class="alert" role="alert">[^<]*declined', html, flags=re.I), html[:3000]
    assert state(world) == before
    # The same form again answers the same refusal; a fresh key after a new card goes through.
    assert client.post(upgrade_url(sub), form).status_code == 402
    assert state(world) == before
    assert api.put(f"/accounts/{world.account.pk}/payment_method", VISA).status_code == 200
    assert client.post(upgrade_url(sub), checkout_form(client, sub)).status_code == 302
    assert Subscription.objects.get(pk=sub["subscription"]["id"]).quantity == 8


def test_switch_to_annual_then_monthly_is_disabled(world, sub):
    client = client_for(world, "billing_manager")
    form = checkout_form(client, sub, additional="0", billing_cycle="year")
    assert client.post(upgrade_url(sub), form).status_code == 302
    assert Subscription.objects.get(pk=sub["subscription"]["id"]).billing_cycle == "year"
    html = client.get(upgrade_url(sub)).content.decode()
    assert re.search(r'<input type="radio" name="billing_cycle" value="month"\s+disabled', html)
    assert "Monthly billing is not available" in html
    monthly = client.post(upgrade_url(sub), {"action": "update", "additional": "0", "billing_cycle": "month"})
    assert 'role="alert"' in monthly.content.decode()  # the server refuses it too


def test_no_card_disables_checkout(world, sub):
    client = client_for(world, "owner")
    assert client.post("/billing/payment-method/remove/").status_code == 302
    html = client.post(upgrade_url(sub), {"action": "update", "additional": "1"}).content.decode()
    assert "Add a card to check out." in html


# ---------------------------------------------------------------- payment method and billing details


def test_payment_method_form_saves_and_never_echoes_the_number(world, sub):
    client = client_for(world, "billing_manager")
    response = client.post(
        "/billing/payment-method/",
        {"card_number": "4000000000000002", "exp_month": "11", "exp_year": "2031", "cvc": "999"},
        follow=True,
    )
    html = response.content.decode()
    assert "Your card is saved." in html and "0002" in html
    assert "4000000000000002" not in html
    bad = client.post(
        "/billing/payment-method/", {"card_number": "1234", "exp_month": "1", "exp_year": "2031", "cvc": "1"}
    )
    assert bad.status_code == 422 and 'role="alert"' in bad.content.decode()


def test_billing_details_form(world, sub):
    client = client_for(world, "owner")
    response = client.post(
        "/billing/details/",
        {
            "business_name": "Acme GmbH",
            "address": "Street 1",
            "country": "DE",
            "vat_id": "DE123456789",
            "invoice_emails": "ap@acme.test",
        },
        follow=True,
    )
    assert "Billing details saved." in response.content.decode()
    world.account.refresh_from_db()
    assert world.account.business_name == "Acme GmbH"


# ---------------------------------------------------------------- invoices as PDF


def test_invoice_pdf_from_the_page_and_the_api(world, sub):
    iid = sub["invoice"]["id"]
    page = client_for(world, "owner").get(f"/billing/invoices/{iid}/pdf/")
    assert page.status_code == 200
    assert page["Content-Type"] == "application/pdf"
    assert page.content.startswith(b"%PDF")
    api = world.api("owner").get(f"/invoices/{iid}/pdf")
    assert api.status_code == 200
    assert api.content.startswith(b"%PDF")
    assert world.api("outsider").get(f"/invoices/{iid}/pdf").status_code == 404


# ---------------------------------------------------------------- sign-in, CSRF, CSP


def test_sign_in_with_password(world):
    user = world.members["owner"].user
    user.set_password("correct horse battery")
    user.save()
    response = Client().post("/signin/", {"email": "Owner@acme.test", "password": "correct horse battery"})
    assert response.status_code == 302 and response["Location"] == "/settings/subscriptions/"
    wrong = Client().post("/signin/", {"email": "owner@acme.test", "password": "nope"})
    assert wrong.status_code == 200 and 'role="alert"' in wrong.content.decode()


def test_sign_in_is_rate_limited_per_email(world):
    user = world.members["owner"].user
    user.set_password("correct horse battery")
    user.save()
    for _ in range(5):
        assert Client().post("/signin/", {"email": "owner@acme.test", "password": "wrong"}).status_code == 200
    refused = Client().post("/signin/", {"email": "owner@acme.test", "password": "correct horse battery"})
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in refused.content.decode()
    assert "_auth_user_id" not in refused.client.session
    other = world.members["member"].user
    other.set_password("another good password")
    other.save()
    response = Client(REMOTE_ADDR="10.0.0.2").post(
        "/signin/", {"email": "member@acme.test", "password": "another good password"}
    )
    assert response.status_code == 302  # another e-mail is not locked out


def test_sign_in_ignores_an_offsite_next(world):
    user = world.members["owner"].user
    user.set_password("correct horse battery")
    user.save()
    response = Client().post(
        "/signin/?next=https://evil.test/",
        {"email": "owner@acme.test", "password": "correct horse battery", "next": "https://evil.test/"},
    )
    assert response["Location"] == "/settings/subscriptions/"


def test_csrf_is_enforced(world, sub):
    client = client_for(world, "owner", enforce_csrf_checks=True)
    sid = sub["subscription"]["id"]
    assert client.post(f"/settings/subscriptions/{sid}/cancel/").status_code == 403
    assert client.post(upgrade_url(sub), {"action": "checkout", "additional": "3"}).status_code == 403
    assert client.post("/billing/payment-method/", {"card_number": VISA["card_number"]}).status_code == 403
    assert Client(enforce_csrf_checks=True).post("/signin/", {"email": "x@y.test", "password": "x"}).status_code == 403
    assert Subscription.objects.get(pk=sid).auto_renew is True
    # With the token from the page, a POST goes through.
    page = client.get("/billing/details/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(
        "/billing/details/", {"csrfmiddlewaretoken": token, "business_name": "Acme Inc.", "country": "US"}
    )
    assert response.status_code == 302


@pytest.mark.parametrize("path", ["/signin/", "/settings/subscriptions/"])
def test_pages_have_a_content_security_policy(world, sub, path):
    response = client_for(world, "owner").get(path)
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
