"""Deleting an account (SPEC §2): the Owner only, after typing its name; subscriptions end, access goes, books stay."""

import pytest
from django.test import Client

from seatplan.accounts.models import Account, ApiKey, Membership
from seatplan.events.models import AuditEntry, OutboxEvent
from seatplan.invoices.models import Invoice
from seatplan.payments.models import PaymentMethod
from seatplan.subscriptions.models import Subscription
from tests.conftest import subscribe

URL = "/settings/account/delete/"


def _client(world, role: str) -> Client:
    client = Client()
    client.force_login(world.members[role].user)
    return client


def _state(world) -> dict:
    account = world.account
    return {
        "account": Account.objects.filter(pk=account.pk).values_list("deleted_at", flat=True).get(),
        "subs": list(Subscription.objects.filter(account=account).values_list("status", "ended_at", "version")),
        "members": Membership.objects.filter(account=account).count(),
        "keys": ApiKey.objects.filter(account=account, revoked_at__isnull=True).count(),
        "card": PaymentMethod.objects.filter(account=account).count(),
        "invoices": list(Invoice.objects.filter(account=account).values_list("status", flat=True)),
        "audit": AuditEntry.objects.count(),
        "outbox": OutboxEvent.objects.count(),
    }


@pytest.fixture
def live(world) -> dict:
    return subscribe(world, quantity=3)


def test_owner_deletes_the_account_by_typing_its_name(world, live, clock):
    client = _client(world, "owner")
    page = client.get(URL)
    assert page.status_code == 200 and "1 live subscription ends now" in page.content.decode()
    response = client.post(URL, {"confirm_name": "Acme"})
    assert response.status_code == 302 and response["Location"] == "/signin/"  # the Owner had no other account
    after = _state(world)
    assert after["account"] == clock.now()
    assert [(status, ended) for status, ended, _ in after["subs"]] == [("ended", clock.now())]
    assert (after["members"], after["keys"], after["card"]) == (0, 0, 0)
    assert after["invoices"] == ["paid"]  # the books stay
    assert AuditEntry.objects.filter(action="account.deleted", object_id=world.account.pk).exists()
    assert OutboxEvent.objects.filter(type="account.deleted").count() == 1
    ended_email = OutboxEvent.objects.get(type="email", dedupe_key=f"email:ended:{live['subscription']['id']}")
    assert ended_email.payload["to"] == ["billing_manager@acme.test", "owner@acme.test"]
    assert "deleted" in ended_email.payload["body"]
    assert world.api("owner").get("/me").status_code == 401  # the account's keys no longer work
    assert world.api("member").get("/me").status_code == 401
    signin = Client().get("/signin/")
    assert signin.status_code == 200
    operator = world.api("operator")
    assert operator.get(f"/accounts/{world.account.pk}").json()["deleted_at"] == "2027-01-15T12:00:00Z"
    listed = {a["id"]: a["deleted_at"] for a in operator.get("/accounts").json()["data"]}
    assert listed == {world.account.pk: "2027-01-15T12:00:00Z", world.other.pk: None}


@pytest.mark.parametrize("typed", ["", "acme", "Acme Inc", "Other Co"])
def test_a_wrong_name_deletes_nothing(world, live, typed):
    before = _state(world)
    response = _client(world, "owner").post(URL, {"confirm_name": typed})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'role="alert"' in html and 'aria-invalid="true"' in html and "Type the account" in html
    assert _state(world) == before


@pytest.mark.parametrize("role", ["billing_manager", "admin", "member"])
def test_only_the_owner_may_delete(world, live, role):
    before = _state(world)
    client = _client(world, role)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"confirm_name": "Acme"}).status_code == 403
    assert _state(world) == before
    assert URL not in client.get("/people/").content.decode()  # no way there either
    assert client.get("/settings/account/").status_code == 403


def test_the_owner_sees_the_way_to_delete(world):
    assert URL in _client(world, "owner").get("/settings/account/").content.decode()


def test_another_accounts_people_are_untouched(world, live):
    other_members = Membership.objects.filter(account=world.other).count()
    _client(world, "owner").post(URL, {"confirm_name": "Acme"})
    assert Membership.objects.filter(account=world.other).count() == other_members
    assert world.api("outsider").get("/me").status_code == 200


def test_an_unpaid_invoice_is_no_longer_collected(world, live, clock):
    sub = Subscription.objects.get(pk=live["subscription"]["id"])
    unpaid = Invoice.objects.create(
        series="SP",
        sequence=99,
        number="SP-000099",
        account=world.account,
        subscription=sub,
        status="open",
        currency="USD",
        subtotal=44_700,
        discount_total=0,
        tax=0,
        total=44_700,
        credit_applied=0,
        amount_due=44_700,
        billing_details={},
        account_name="Acme",
        issued_at=clock.now(),
    )
    _client(world, "owner").post(URL, {"confirm_name": "Acme"})
    unpaid.refresh_from_db()
    assert unpaid.status == "uncollectible" and unpaid.amount_paid == 0
    event = OutboxEvent.objects.get(type="invoice.marked_uncollectible")
    assert event.payload == {"invoice": unpaid.pk, "number": "SP-000099", "amount_due": 44_700}
