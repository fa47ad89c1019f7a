"""Never more sessions than were bought, under any concurrency (SPEC §6, §10).

64 requests at once against a limit of 8: exactly 8 granted, 24 queued at positions 1..24 and 32
refused — on PostgreSQL (row locks) and on SQLite (requests wait for each other, none fails).
"""

from collections import Counter

import pytest

from seatplan.leases.models import SessionLease, SessionPool
from tests.conftest import Api, subscribe
from tests.threads import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)
REQUESTS = 64


def assert_pool_matches_leases(account_id):
    pool = SessionPool.objects.get(pk=account_id)
    counts = Counter(SessionLease.objects.filter(account_id=account_id).values_list("status", flat=True))
    assert (pool.in_use, pool.queued) == (counts["granted"], counts["queued"])


def test_64_concurrent_acquires_at_limit_8(world):
    subscribe(world, quantity=8)
    keys = [world.keys["member"], world.keys["admin"]]
    path = f"/accounts/{world.account.pk}/sessions"

    def acquire(index):
        response = Api(keys[index % 2]).post(path, {"run_type": "desktop_browser"}, key=f"run-{index}")
        return response.status_code, response.json()

    results = run_in_threads(acquire, REQUESTS)
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 8, 202: 24, 429: 32}, results
    assert sorted(body["position"] for status, body in results if status == 202) == list(range(1, 25))
    assert {body["error"]["code"] for status, body in results if status == 429} == {"session_limit_reached"}
    leases = SessionLease.objects.filter(account=world.account)
    assert Counter(leases.values_list("status", flat=True)) == {"granted": 8, "queued": 24}
    # the queue order is the order positions were given in
    by_ticket = list(leases.filter(status="queued").order_by("ticket").values_list("pk", flat=True))
    by_position = [
        body["id"] for _, body in sorted(((b["position"], b) for s, b in results if s == 202), key=lambda pair: pair[0])
    ]
    assert by_ticket == by_position
    assert_pool_matches_leases(world.account.pk)


def test_concurrent_releases_and_acquires_never_over_grant(world):
    subscribe(world, quantity=4)
    key = world.keys["member"]
    path = f"/accounts/{world.account.pk}/sessions"
    held = [Api(key).post(path, {"run_type": "mobile_native"}, key=f"held-{i}").json()["id"] for i in range(4)]

    def churn(index):
        api = Api(key)
        if index < 4:
            return api.delete(f"/sessions/{held[index]}").json()["status"]
        return api.post(path, {"run_type": "mobile_native"}, key=f"new-{index}").json()["status"]

    outcomes = Counter(run_in_threads(churn, 16))
    assert outcomes["released"] == 4
    leases = SessionLease.objects.filter(account=world.account)
    assert leases.filter(status="granted").count() == 4
    assert leases.filter(status="queued").count() == 8
    assert_pool_matches_leases(world.account.pk)
