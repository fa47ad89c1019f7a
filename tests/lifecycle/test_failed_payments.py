"""A renewal that cannot be charged (SPEC §4.5): past due, retries on days 1, 3, 5, 7, recovery, the end."""

from datetime import UTC, datetime, timedelta

import pytest

from seatplan.leases.services import session_limit
from seatplan.payments.models import PaymentAttempt, SandboxCharge
from tests.conftest import DECLINED, VISA

pytestmark = pytest.mark.django_db

RENEWAL = datetime(2027, 2, 28, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
GATEWAY_ERROR = {**VISA, "card_number": "4000000000000119"}


def attempts(clocked) -> list[tuple[str, str, str]]:
    return [
        (a.created_at.isoformat()[:16], a.status, a.failure_code)
        for a in PaymentAttempt.objects.filter(quote__isnull=True).order_by("created_at", "pk")
    ]


def declined_at_renewal(clocked) -> dict:
    clocked.card()
    sub = clocked.subscribe(quantity=5)["subscription"]
    clocked.card(DECLINED)  # nothing is open yet: saving the card charges nothing
    clocked.advance(RENEWAL)
    return sub


def test_decline_makes_it_past_due_and_retries_then_a_new_card_pays_at_once(clocked):
    sub = declined_at_renewal(clocked)
    past_due = clocked.subscription(sub["id"])
    assert (past_due["status"], past_due["current_period_end"]) == ("past_due", "2027-03-31T10:00:00Z")
    invoice = clocked.invoices()[1]
    assert (invoice["status"], invoice["amount_paid"], invoice["total"]) == ("open", 0, 74500)
    assert session_limit(clocked.account_id, RENEWAL + DAY) == 5  # still usable while retried
    assert clocked.subjects()[-1] == f"Payment failed for invoice {invoice['number']}"
    assert "/billing/payment-method/" in clocked.mail_bodies()[-1]

    clocked.advance(RENEWAL + 2 * DAY)  # the day-1 retry
    assert attempts(clocked) == [
        ("2027-02-28T10:00", "failed", "card_declined"),
        ("2027-03-01T10:00", "failed", "card_declined"),
    ]
    assert clocked.subscription(sub["id"])["status"] == "past_due"

    clocked.card(VISA)  # retried before the request returns
    assert clocked.subscription(sub["id"])["status"] == "active"
    paid = clocked.owner.get(f"/invoices/{invoice['id']}").json()
    assert (paid["status"], paid["amount_paid"], paid["paid_at"]) == ("paid", 74500, "2027-03-02T10:00:00Z")
    assert clocked.subjects()[-1] == f"Receipt for invoice {invoice['number']} ($745.00)"
    clocked.advance(RENEWAL + 10 * DAY)
    assert len(attempts(clocked)) == 3  # no retry after it was paid
    assert SandboxCharge.objects.filter(status="succeeded").count() == 2


def test_seven_days_unpaid_ends_it_and_the_invoice_is_uncollectible(clocked):
    sub = declined_at_renewal(clocked)
    clocked.advance(RENEWAL + 7 * DAY - timedelta(seconds=1))
    assert clocked.subscription(sub["id"])["status"] == "past_due"
    assert session_limit(clocked.account_id, RENEWAL + 6 * DAY) == 5
    clocked.advance(RENEWAL + 8 * DAY)
    assert [a[0][:10] for a in attempts(clocked)] == [
        "2027-02-28",
        "2027-03-01",
        "2027-03-03",
        "2027-03-05",
        "2027-03-07",
    ]
    ended = clocked.subscription(sub["id"])
    assert (ended["status"], ended["ended_at"]) == ("ended", "2027-03-07T10:00:00Z")
    assert clocked.invoices()[1]["status"] == "uncollectible"
    assert session_limit(clocked.account_id, RENEWAL + 8 * DAY) == 0
    failed = [s for s in clocked.subjects() if s.startswith("Payment failed")]
    assert len(failed) == 4
    assert clocked.subjects()[-1] == "Your TestCloud subscription has ended"
    clocked.advance(RENEWAL + 40 * DAY)
    assert len(clocked.invoices()) == 2  # an ended subscription never renews


def test_gateway_errors_are_retried_without_counting_as_a_decline(clocked):
    clocked.card()
    sub = clocked.subscribe(quantity=1)["subscription"]
    clocked.card(GATEWAY_ERROR)
    clocked.advance(RENEWAL + timedelta(minutes=90))
    assert clocked.subscription(sub["id"])["status"] == "active"  # one error, retried an hour later
    assert [a[1:] for a in attempts(clocked)] == [("failed", "processing_error")] * 2
    assert not any(s.startswith("Payment failed") for s in clocked.subjects())
    clocked.advance(RENEWAL + 3 * timedelta(hours=1))
    assert clocked.subscription(sub["id"])["status"] == "past_due"  # the third error in a row counts
    assert len(attempts(clocked)) == 3
    clocked.card(VISA)
    assert clocked.subscription(sub["id"])["status"] == "active"


def test_no_card_at_renewal_is_a_decline(clocked):
    clocked.card()
    sub = clocked.subscribe(quantity=1)["subscription"]
    assert clocked.owner.delete(f"/accounts/{clocked.account_id}/payment_method").status_code == 200
    clocked.advance(RENEWAL)
    assert clocked.subscription(sub["id"])["status"] == "past_due"
    assert attempts(clocked) == [("2027-02-28T10:00", "failed", "payment_method_missing")]


def test_a_past_due_subscription_must_be_paid_before_an_upgrade(clocked):
    sub = declined_at_renewal(clocked)
    refused = clocked.owner.post(
        f"/accounts/{clocked.account_id}/quotes", {"subscription": sub["id"], "billing_cycle": "month", "quantity": 6}
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "subscription_past_due")
