"""The README's curl walk-through as a test: operator, test clock, new account, quote, checkout, upgrade."""

import pytest

from tests.conftest import VISA

pytestmark = pytest.mark.django_db


def test_operator_walks_a_clocked_account_through_checkout_and_a_prorated_upgrade(world):
    operator = world.api("operator")
    clock = operator.post("/test_clocks", {"frozen_time": "2027-01-31T00:00:00Z"})
    assert clock.status_code == 201, clock.json()
    account = operator.post(
        "/accounts", {"name": "Clocked", "owner_email": "boss@clocked.test", "test_clock": clock.json()["id"]}
    )
    assert account.status_code == 201, account.json()
    account_id = account.json()["id"]
    key = operator.post(f"/accounts/{account_id}/api_keys", {"name": "boss", "user_email": "boss@clocked.test"})
    assert key.status_code == 201
    owner = type(operator)(key.json()["key"])
    assert owner.get("/me").json()["role"] == "owner"

    assert owner.put(f"/accounts/{account_id}/payment_method", VISA).json()["last4"] == "4242"
    quote = owner.post(
        f"/accounts/{account_id}/quotes", {"product": "testcloud", "billing_cycle": "month", "quantity": 5}
    ).json()
    assert quote["lines"][0]["period_start"] == "2027-01-31T00:00:00Z"
    assert quote["lines"][0]["period_end"] == "2027-02-28T00:00:00Z"  # Jan 31 anchor, clamped
    subscription = owner.post(f"/quotes/{quote['id']}/checkout", key="first").json()["subscription"]

    moved = operator.post(f"/test_clocks/{clock.json()['id']}/advance", {"frozen_time": "2027-02-14T00:00:00Z"})
    assert moved.status_code == 200
    backwards = operator.post(f"/test_clocks/{clock.json()['id']}/advance", {"frozen_time": "2027-02-01T00:00:00Z"})
    assert (backwards.status_code, backwards.json()["error"]["code"]) == (422, "clock_backwards")
    too_far = operator.post(f"/test_clocks/{clock.json()['id']}/advance", {"frozen_time": "9999-01-01T00:00:00Z"})
    assert (too_far.status_code, too_far.json()["error"]["code"]) == (422, "clock_advance_too_far")
    assert operator.get(f"/test_clocks/{clock.json()['id']}").json()["frozen_time"] == "2027-02-14T00:00:00Z"

    upgrade = owner.post(
        f"/accounts/{account_id}/quotes", {"subscription": subscription["id"], "billing_cycle": "month", "quantity": 8}
    ).json()
    assert upgrade["expires_at"] == "2027-02-14T00:30:00Z"  # the account lives on its clock
    done = owner.post(f"/quotes/{upgrade['id']}/checkout", key="upgrade").json()
    invoice = done["invoice"]
    assert [(line["quantity"], line["amount"], line["proration"]) for line in invoice["lines"]] == [(3, 22350, True)]
    assert invoice["amount_paid"] == 22350
    assert owner.get(f"/invoices/{invoice['id']}").json()["number"] == invoice["number"]

    # another account's objects are invisible: 404, not 403
    outsider = world.api("outsider")
    assert outsider.get(f"/invoices/{invoice['id']}").status_code == 404
    assert outsider.get(f"/subscriptions/{subscription['id']}").status_code == 404


def test_operator_lists_accounts_by_name_or_member_email(world):
    operator = world.api("operator")
    assert [a["name"] for a in operator.get("/accounts", q="acme").json()["data"]] == ["Acme"]
    assert [a["name"] for a in operator.get("/accounts", q="owner@other.test").json()["data"]] == ["Other Co"]
    page = operator.get("/accounts", limit=1).json()
    assert page["has_more"] is True and len(page["data"]) == 1
    rest = operator.get("/accounts", limit=1, cursor=page["next_cursor"]).json()
    assert rest["data"][0]["id"] != page["data"][0]["id"]
    assert operator.get("/accounts", limit=0).json()["error"]["code"] == "limit_invalid"
    assert world.api("owner").get("/accounts").status_code == 403


def test_unauthenticated_and_malformed_requests(world):
    from django.test import Client

    assert Client().get("/api/v1/me").json()["error"]["code"] == "unauthenticated"
    bad = Client().get("/api/v1/me", HTTP_AUTHORIZATION="Bearer nope")
    assert (bad.status_code, bad.json()["error"]["code"]) == (401, "unauthenticated")
    owner = world.api("owner")
    raw = owner.client.post(
        f"/api/v1/accounts/{world.account.pk}/quotes",
        "{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {owner.key}",
    )
    assert (raw.status_code, raw.json()["error"]["code"]) == (400, "malformed_request")
    extra = owner.post(
        f"/accounts/{world.account.pk}/quotes", {"billing_cycle": "month", "quantity": 1, "colour": "blue"}
    )
    assert (extra.status_code, extra.json()["error"]["param"]) == (422, "colour")
