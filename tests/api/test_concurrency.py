"""Many requests at once: never two charges for one change, never a lost update (SPEC §4.2, §10).

The same tests run on SQLite, where requests wait for each other and must never fail for it,
and on PostgreSQL, where row locks do the work.
"""

from collections import Counter

import pytest
from django.db import connection
from django.db.models import Sum

from seatplan.invoices.models import Invoice
from seatplan.payments.models import SandboxCharge
from seatplan.subscriptions.models import Subscription
from tests.conftest import Api, subscribe
from tests.threads import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)
THREADS = 16


def test_sixteen_checkouts_of_one_quote_charge_once(world):
    sub = subscribe(world, quantity=5)["subscription"]
    quote = (
        world.api("owner")
        .post(
            f"/accounts/{world.account.pk}/quotes", {"subscription": sub["id"], "billing_cycle": "month", "quantity": 9}
        )
        .json()
    )
    charges_before = SandboxCharge.objects.filter(status="succeeded").count()
    key = world.keys["owner"]

    def checkout(index):
        response = Api(key).post(f"/quotes/{quote['id']}/checkout", key=f"click-{index}")
        return response.status_code, response.json()

    results = run_in_threads(checkout, THREADS)
    statuses = Counter(status for status, _ in results)
    assert statuses[200] == 1, results
    assert statuses[200] + statuses[409] == THREADS, results
    assert {body["error"]["code"] for status, body in results if status == 409} <= {"quote_used"}
    assert SandboxCharge.objects.filter(status="succeeded").count() == charges_before + 1
    assert Invoice.objects.filter(account=world.account).count() == 2
    assert Subscription.objects.get(pk=sub["id"]).quantity == 9


def test_sixteen_concurrent_upgrades_lose_nothing(world):
    sub = subscribe(world, quantity=5)["subscription"]
    key = world.keys["owner"]

    def upgrade(index):
        api = Api(key)
        outcomes = []
        for attempt in range(6):
            current = api.get(f"/subscriptions/{sub['id']}").json()["quantity"]
            quote = api.post(
                f"/accounts/{world.account.pk}/quotes",
                {"subscription": sub["id"], "billing_cycle": "month", "quantity": current + 1},
            )
            if quote.status_code != 201:
                outcomes.append(quote.json()["error"]["code"])
                continue
            done = api.post(f"/quotes/{quote.json()['id']}/checkout", key=f"up-{index}-{attempt}")
            if done.status_code == 200:
                return outcomes + ["ok"]
            outcomes.append(done.json()["error"]["code"])
        return outcomes

    results = run_in_threads(upgrade, THREADS)
    succeeded = sum(1 for outcome in results if outcome and outcome[-1] == "ok")
    refusals = {code for outcome in results for code in outcome if code != "ok"}
    assert refusals <= {"quote_stale", "quote_used", "nothing_to_change", "quantity_decrease_not_allowed"}, results
    assert succeeded >= 1
    subscription = Subscription.objects.get(pk=sub["id"])
    assert subscription.quantity == 5 + succeeded  # no lost update
    invoices = Invoice.objects.filter(account=world.account)
    assert invoices.count() == 1 + succeeded
    charges = SandboxCharge.objects.filter(status="succeeded", refunded=False)
    assert charges.count() == invoices.count()  # every charge matches an invoice
    assert charges.aggregate(total=Sum("amount"))["total"] == invoices.aggregate(total=Sum("amount_paid"))["total"]
    numbers = sorted(invoices.values_list("sequence", flat=True))
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # gapless


def test_database_is_the_one_under_test():
    # Documents which backend this run exercised (both run in CI).
    assert connection.vendor in {"sqlite", "postgresql"}
