"""Renewal over time with a test clock (SPEC §4.5, §8): anchors, invoices, e-mails, cancel, decrease."""

from datetime import UTC, datetime

import pytest
from django.core import mail

from seatplan.payments.models import SandboxCharge
from tests.lifecycle.conftest import JAN_31, invoice_numbers_gapless

pytestmark = pytest.mark.django_db

RECIPIENTS = ["billing_manager@acme.test", "finance@acme.test", "owner@acme.test"]


def test_a_year_of_monthly_renewals_follows_the_anchor_with_one_receipt_and_reminder_each(clocked):
    account = clocked.world.account
    account.invoice_emails = ["finance@acme.test"]
    account.save(update_fields=["invoice_emails"])
    clocked.card()
    sub = clocked.subscribe(quantity=5)["subscription"]
    assert sub["current_period_end"] == "2027-02-28T10:00:00Z"
    assert clocked.subjects() == ["Receipt for invoice SP-000001 ($745.00)"]
    assert sorted(mail.outbox[0].to) == RECIPIENTS
    assert [name for name, _, _ in mail.outbox[0].attachments] == ["SP-000001.pdf"]

    clocked.advance(datetime(2027, 2, 28, 10, 0, tzinfo=UTC))
    renewed = clocked.subscription(sub["id"])
    assert (renewed["status"], renewed["current_period_start"], renewed["current_period_end"]) == (
        "active",
        "2027-02-28T10:00:00Z",
        "2027-03-31T10:00:00Z",
    )
    second = clocked.invoices()[1]
    assert (second["number"], second["status"], second["total"], second["amount_paid"]) == (
        "SP-000002",
        "paid",
        74500,
        74500,
    )
    assert [
        (li["kind"], li["quantity"], li["amount"], li["period_start"], li["period_end"], li["proration"])
        for li in second["lines"]
    ] == [("charge", 5, 74500, "2027-02-28T10:00:00Z", "2027-03-31T10:00:00Z", False)]
    assert clocked.subjects()[1:] == [
        "Your TestCloud subscription renews on February 28, 2027",
        "Receipt for invoice SP-000002 ($745.00)",
    ]

    clocked.advance(datetime(2028, 1, 31, 10, 0, tzinfo=UTC))  # eleven more in one advance
    invoices = clocked.invoices()
    assert len(invoices) == 13 and all(i["status"] == "paid" for i in invoices)
    assert [i["lines"][0]["period_end"][:10] for i in invoices[1:]] == [
        "2027-03-31",
        "2027-04-30",
        "2027-05-31",
        "2027-06-30",
        "2027-07-31",
        "2027-08-31",
        "2027-09-30",
        "2027-10-31",
        "2027-11-30",
        "2027-12-31",
        "2028-01-31",
        "2028-02-29",
    ]
    subjects = clocked.subjects()
    assert sum(s.startswith("Receipt") for s in subjects) == 13
    assert sum(s.startswith("Your TestCloud subscription renews") for s in subjects) == 12
    assert len(set(subjects)) == len(subjects)  # each e-mail once
    assert invoice_numbers_gapless()
    assert SandboxCharge.objects.filter(status="succeeded").count() == 13


def test_advancing_again_to_the_same_instant_changes_nothing(clocked):
    clocked.card()
    clocked.subscribe()
    at = datetime(2027, 3, 1, tzinfo=UTC)
    clocked.advance(at)
    before = (clocked.invoices(), clocked.subjects(), SandboxCharge.objects.count())
    clocked.advance(at)
    assert (clocked.invoices(), clocked.subjects(), SandboxCharge.objects.count()) == before


def test_annual_from_feb_29_renews_feb_28(clock, db):
    from tests.lifecycle.conftest import Clocked

    leap = datetime(2028, 2, 29, 9, 0, tzinfo=UTC)
    clock.instant = leap
    clocked = Clocked(leap)
    clocked.card()
    sub = clocked.subscribe(quantity=2, cycle="year")["subscription"]
    assert sub["current_period_end"] == "2029-02-28T09:00:00Z"
    clocked.advance(datetime(2032, 3, 1, tzinfo=UTC))
    ends = [i["lines"][0]["period_end"] for i in clocked.invoices()]
    assert ends == [
        "2029-02-28T09:00:00Z",
        "2030-02-28T09:00:00Z",
        "2031-02-28T09:00:00Z",
        "2032-02-29T09:00:00Z",
        "2033-02-28T09:00:00Z",
    ]
    assert [i["total"] for i in clocked.invoices()] == [298000] * 5


def test_cancelled_ends_at_period_end_without_invoice_and_reactivated_renews(clocked):
    clocked.card()
    sub = clocked.subscribe()["subscription"]
    cancelled = clocked.owner.post(f"/subscriptions/{sub['id']}/cancel").json()
    assert cancelled["auto_renew"] is False
    clocked.advance(datetime(2027, 2, 28, 9, 59, tzinfo=UTC))
    assert clocked.subscription(sub["id"])["status"] == "active"
    clocked.advance(datetime(2027, 2, 28, 10, 0, tzinfo=UTC))
    ended = clocked.subscription(sub["id"])
    assert (ended["status"], ended["ended_at"]) == ("ended", "2027-02-28T10:00:00Z")
    assert len(clocked.invoices()) == 1
    assert "Your TestCloud subscription renews on February 28, 2027" not in clocked.subjects()  # cancelled: none
    assert clocked.subjects()[-1] == "Your TestCloud subscription has ended"
    late = clocked.owner.post(f"/subscriptions/{sub['id']}/reactivate")
    assert (late.status_code, late.json()["error"]["code"]) == (409, "subscription_ended")


def test_reactivated_before_the_end_renews(clocked):
    clocked.card()
    sub = clocked.subscribe()["subscription"]
    clocked.owner.post(f"/subscriptions/{sub['id']}/cancel")
    clocked.advance(datetime(2027, 2, 20, tzinfo=UTC))
    assert clocked.owner.post(f"/subscriptions/{sub['id']}/reactivate").json()["auto_renew"] is True
    clocked.advance(datetime(2027, 3, 1, tzinfo=UTC))
    assert clocked.subscription(sub["id"])["current_period_end"] == "2027-03-31T10:00:00Z"
    assert len(clocked.invoices()) == 2


def test_scheduled_decrease_applies_at_the_next_renewal(clocked):
    clocked.card()
    sub = clocked.subscribe(quantity=5)["subscription"]
    path = f"/subscriptions/{sub['id']}/scheduled_change"
    for bad in (5, 6, 0):
        refused = clocked.owner.post(path, {"quantity": bad})
        assert (refused.status_code, refused.json()["error"]["code"]) == (422, "quantity_invalid")
    assert clocked.world.api("admin").post(path, {"quantity": 2}).status_code == 403
    shown = clocked.owner.post(path, {"quantity": 2}).json()
    assert shown["scheduled_change"] == {"quantity": 2, "effective_at": "2027-02-28T10:00:00Z"}
    assert shown["quantity"] == 5
    assert clocked.owner.delete(path).json()["scheduled_change"] is None
    clocked.owner.post(path, {"quantity": 3})
    clocked.advance(datetime(2027, 3, 1, tzinfo=UTC))
    renewed = clocked.subscription(sub["id"])
    assert (renewed["quantity"], renewed["scheduled_change"]) == (3, None)
    assert clocked.invoices()[1]["total"] == 3 * 14900


def test_scheduled_change_on_an_ended_subscription_is_refused(clocked):
    clocked.card()
    sub = clocked.subscribe(quantity=5)["subscription"]
    clocked.owner.post(f"/subscriptions/{sub['id']}/cancel")
    clocked.advance(datetime(2027, 3, 1, tzinfo=UTC))
    refused = clocked.owner.post(f"/subscriptions/{sub['id']}/scheduled_change", {"quantity": 2})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "subscription_ended")


def test_repeating_discount_runs_out_after_its_cycles(clocked):
    created = clocked.operator.post(
        "/discount_codes", {"code": "SPRING20", "percent_off": "20", "duration": "repeating", "duration_in_cycles": 3}
    )
    assert created.status_code == 201, created.json()
    clocked.card()
    done = clocked.subscribe(quantity=5, code="SPRING20")
    assert done["subscription"]["discount"] == {"code": "SPRING20", "remaining_cycles": 2}
    clocked.advance(datetime(2027, 5, 31, 10, 0, tzinfo=UTC))
    assert [i["total"] for i in clocked.invoices()] == [59600, 59600, 59600, 74500, 74500]
    assert clocked.subscription(done["subscription"]["id"])["discount"] is None


def test_account_credit_is_used_first_at_renewal(clocked):
    clocked.card()
    clocked.subscribe()
    account = clocked.world.account
    account.credit_balance = 10000
    account.save(update_fields=["credit_balance"])
    clocked.advance(datetime(2027, 3, 1, tzinfo=UTC))
    renewal = clocked.invoices()[1]
    assert (renewal["total"], renewal["credit_applied"], renewal["amount_paid"]) == (74500, 10000, 64500)
    assert type(account).objects.get(pk=account.pk).credit_balance == 0
    assert SandboxCharge.objects.order_by("-created_at").first().amount == 64500


def test_annual_that_ended_lets_the_account_buy_monthly_again(clocked):
    clocked.card()
    sub = clocked.subscribe(quantity=2, cycle="year")["subscription"]
    body = {"product": "testcloud", "billing_cycle": "month", "quantity": 1}
    refused = clocked.owner.post(f"/accounts/{clocked.account_id}/quotes", body)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "annual_subscription_active")
    clocked.owner.post(f"/subscriptions/{sub['id']}/cancel")
    clocked.advance(datetime(2028, 1, 31, 10, 0, tzinfo=UTC))
    assert clocked.subscription(sub["id"])["status"] == "ended"
    monthly = clocked.subscribe(quantity=1)["subscription"]
    assert (monthly["billing_cycle"], monthly["status"]) == ("month", "active")
    assert JAN_31.year == 2027
