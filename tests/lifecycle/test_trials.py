"""The free trial (SPEC §4.6, API.md POST /accounts/{account}/trials)."""

from datetime import UTC, datetime, timedelta

import pytest

from seatplan.catalog.models import Product
from seatplan.leases.services import session_limit
from seatplan.payments.models import SandboxCharge
from tests.lifecycle.conftest import JAN_31

pytestmark = pytest.mark.django_db

TRIAL_END = JAN_31 + timedelta(days=14)


def start_trial(clocked):
    return clocked.owner.post(f"/accounts/{clocked.account_id}/trials", {"product": "testcloud"})


def test_trial_is_free_runs_14_days_with_2_sessions_and_ends_by_itself(clocked):
    created = start_trial(clocked)
    assert created.status_code == 201, created.json()
    trial = created.json()
    assert (trial["quantity"], trial["status"], trial["trial_end"], trial["current_period_end"]) == (
        2,
        "active",
        "2027-02-14T10:00:00Z",
        "2027-02-14T10:00:00Z",
    )
    assert clocked.invoices() == []
    assert session_limit(clocked.account_id, JAN_31) == 2
    again = start_trial(clocked)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "trial_already_used")

    clocked.advance(TRIAL_END - timedelta(days=3))
    assert clocked.subjects() == ["Your TestCloud trial ends on February 14, 2027"]
    clocked.advance(TRIAL_END)
    ended = clocked.subscription(trial["id"])
    assert (ended["status"], ended["ended_at"]) == ("ended", "2027-02-14T10:00:00Z")
    assert clocked.invoices() == [] and SandboxCharge.objects.count() == 0
    assert clocked.subjects() == [
        "Your TestCloud trial ends on February 14, 2027",
        "Your TestCloud subscription has ended",
    ]
    after = start_trial(clocked)
    assert (after.status_code, after.json()["error"]["code"]) == (409, "trial_already_used")


def test_trial_length_and_sessions_are_set_per_product(clocked):
    Product.objects.filter(code="testcloud").update(trial_days=30, trial_quantity=4)
    trial = start_trial(clocked).json()
    assert (trial["quantity"], trial["trial_end"]) == (4, "2027-03-02T10:00:00Z")


def test_no_trial_while_a_subscription_is_live(clocked):
    clocked.card()
    clocked.subscribe(quantity=1)
    refused = start_trial(clocked)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "subscription_active")
    assert clocked.world.api("admin").post(f"/accounts/{clocked.account_id}/trials", {}).status_code == 403


def test_checkout_converts_the_trial_at_full_price_from_that_moment(clocked):
    trial = start_trial(clocked).json()
    clocked.card()
    clocked.advance(JAN_31 + timedelta(days=5))
    quote = clocked.owner.post(
        f"/accounts/{clocked.account_id}/quotes", {"subscription": trial["id"], "billing_cycle": "month", "quantity": 3}
    ).json()
    assert [(li["kind"], li["quantity"], li["amount"], li["proration"]) for li in quote["lines"]] == [
        ("charge", 3, 44700, False)
    ]
    done = clocked.subscribe(quantity=3, subscription=trial["id"])
    converted = done["subscription"]
    assert converted["id"] == trial["id"]
    assert (converted["current_period_start"], converted["current_period_end"], converted["auto_renew"]) == (
        "2027-02-05T10:00:00Z",
        "2027-03-05T10:00:00Z",
        True,
    )
    assert done["invoice"]["amount_paid"] == 44700
    clocked.advance(datetime(2027, 3, 6, tzinfo=UTC))  # past the old trial end and the first renewal
    renewed = clocked.subscription(trial["id"])
    assert (renewed["status"], renewed["current_period_end"]) == ("active", "2027-04-05T10:00:00Z")
    assert [i["total"] for i in clocked.invoices()] == [44700, 44700]
    assert "Your TestCloud trial ends on February 14, 2027" not in clocked.subjects()
