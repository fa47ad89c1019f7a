"""Session leases through the API (SPEC §6, API.md "Sessions at run time")."""

from datetime import timedelta

import pytest

from seatplan.events.models import OutboxEvent
from seatplan.leases.models import SessionLease, SessionPool
from seatplan.subscriptions.models import Subscription
from tests.conftest import T0, subscribe

pytestmark = pytest.mark.django_db


class Runner:
    """The test cloud, acting with one member's key."""

    def __init__(self, world, who: str = "member") -> None:
        self.api = world.api(who)
        self.account_id = world.account.pk
        self.who = who
        self.count = 0

    def acquire(self, run_type: str = "desktop_browser", key: str | None = None, **extra):
        self.count += 1
        return self.api.post(
            f"/accounts/{self.account_id}/sessions",
            {"run_type": run_type, **extra},
            key=key or f"{self.who}-run-{self.count}",
        )

    def get(self, lease_id: str):
        return self.api.get(f"/sessions/{lease_id}")

    def release(self, lease_id: str):
        return self.api.delete(f"/sessions/{lease_id}")

    def heartbeat(self, lease_id: str):
        return self.api.post(f"/sessions/{lease_id}/heartbeat")

    def usage(self):
        return self.api.get(f"/accounts/{self.account_id}/usage").json()


def snapshot(world) -> tuple:
    """Everything a refused request must leave as it was."""
    pool = SessionPool.objects.filter(pk=world.account.pk).values().first()
    leases = list(SessionLease.objects.filter(account=world.account).order_by("ticket").values())
    return pool, leases


def test_fill_queue_refuse_and_release_grants_the_head(world):
    subscribe(world, quantity=2)
    runner = Runner(world)
    granted = [runner.acquire() for _ in range(2)]
    assert [r.status_code for r in granted] == [201, 201]
    body = granted[0].json()
    assert body["status"] == "granted"
    assert body["expires_at"] == "2027-01-15T15:00:00Z"  # default ttl: 180 minutes
    assert body["account"] == world.account.pk and body["position"] is None
    queued = [runner.acquire("mobile_native") for _ in range(6)]  # up to 3 × the limit
    assert [(r.status_code, r.json()["status"], r.json()["position"]) for r in queued] == [
        (202, "queued", n) for n in range(1, 7)
    ]

    before = snapshot(world)
    refused = runner.acquire()
    assert (refused.status_code, refused.json()["error"]["code"]) == (429, "session_limit_reached")
    assert snapshot(world) == before

    assert runner.get(queued[2].json()["id"]).json()["position"] == 3
    released = runner.release(granted[0].json()["id"])
    assert (released.status_code, released.json()["status"]) == (200, "released")
    head = runner.get(queued[0].json()["id"]).json()
    assert (head["status"], head["position"], head["expires_at"]) == ("granted", None, "2027-01-15T15:00:00Z")
    assert [runner.get(r.json()["id"]).json()["position"] for r in queued[1:]] == [1, 2, 3, 4, 5]

    # a queued request withdrawn from the middle: the positions close up, no gap
    assert runner.release(queued[3].json()["id"]).json()["status"] == "released"
    assert [runner.get(r.json()["id"]).json()["position"] for r in queued[1:]] == [1, 2, None, 3, 4]
    # releasing again answers the same (idempotent) and frees nothing more
    assert runner.release(granted[0].json()["id"]).json()["status"] == "released"
    assert runner.usage() == {
        "limit": 2,
        "in_use": 2,
        "queued": 4,
        "peak_today": 2,
        "in_use_by_run_type": {"desktop_browser": 1, "mobile_browser": 0, "mobile_native": 1},
        "queued_by_run_type": {"desktop_browser": 0, "mobile_browser": 0, "mobile_native": 4},
    }


def test_upgrade_grants_the_queue_at_once(world, django_capture_on_commit_callbacks):
    sub = subscribe(world, quantity=2)["subscription"]
    runner = Runner(world)
    leases = [runner.acquire().json() for _ in range(5)]
    assert [lease["status"] for lease in leases] == ["granted"] * 2 + ["queued"] * 3
    owner = world.api("owner")
    quote = owner.post(
        f"/accounts/{world.account.pk}/quotes", {"subscription": sub["id"], "billing_cycle": "month", "quantity": 4}
    ).json()
    with django_capture_on_commit_callbacks(execute=True):
        assert owner.post(f"/quotes/{quote['id']}/checkout", key="upgrade").status_code == 200
    # granted by the checkout's commit hook, before anyone polls
    statuses = dict(SessionLease.objects.filter(account=world.account).values_list("pk", "status"))
    assert [statuses[lease["id"]] for lease in leases] == ["granted"] * 4 + ["queued"]
    assert runner.get(leases[4]["id"]).json()["position"] == 1
    assert runner.usage()["in_use"] == 4


def test_a_poll_grants_the_head_when_the_limit_rose_without_the_hook(world):
    sub = subscribe(world, quantity=1)["subscription"]
    runner = Runner(world)
    runner.acquire()
    waiting = runner.acquire().json()
    Subscription.objects.filter(pk=sub["id"]).update(quantity=2)  # e.g. a change made by another process
    assert runner.get(waiting["id"]).json()["status"] == "granted"


def test_an_unrenewed_lease_expires_on_read_and_frees_its_session(world, clock):
    subscribe(world, quantity=1)
    runner = Runner(world)
    first = runner.acquire(ttl_seconds=60).json()
    waiting = runner.acquire().json()
    assert waiting["position"] == 1
    clock.instant = T0 + timedelta(seconds=59)
    assert runner.get(first["id"]).json()["status"] == "granted"
    clock.instant = T0 + timedelta(seconds=60)
    assert runner.get(first["id"]).json()["status"] == "expired"
    head = runner.get(waiting["id"]).json()
    assert (head["status"], head["expires_at"]) == ("granted", "2027-01-15T15:01:00Z")
    assert SessionLease.objects.get(pk=first["id"]).ended_at == T0 + timedelta(seconds=60)
    assert runner.usage()["in_use"] == 1


def test_heartbeat_extends_and_is_refused_unless_granted(world, clock):
    subscribe(world, quantity=1)
    runner = Runner(world)
    lease = runner.acquire(ttl_seconds=120).json()
    queued = runner.acquire().json()
    clock.instant = T0 + timedelta(seconds=100)
    beat = runner.heartbeat(lease["id"])
    assert (beat.status_code, beat.json()["expires_at"]) == (200, "2027-01-15T12:03:40Z")
    clock.instant = T0 + timedelta(seconds=200)
    assert runner.get(lease["id"]).json()["status"] == "granted"  # renewed: still alive
    not_granted = runner.heartbeat(queued["id"])
    assert (not_granted.status_code, not_granted.json()["error"]["code"]) == (409, "lease_not_active")
    clock.instant = T0 + timedelta(seconds=220)  # 120 s after the heartbeat
    late = runner.heartbeat(lease["id"])
    assert (late.status_code, late.json()["error"]["code"]) == (409, "lease_not_active")
    assert runner.get(lease["id"]).json()["status"] == "expired"
    assert runner.get(queued["id"]).json()["status"] == "granted"


def test_a_queued_request_times_out_after_30_minutes(world, clock):
    subscribe(world, quantity=1)
    runner = Runner(world)
    runner.acquire()
    first, second = runner.acquire().json(), None
    clock.instant = T0 + timedelta(minutes=10)
    second = runner.acquire().json()
    assert second["position"] == 2
    clock.instant = T0 + timedelta(minutes=30)
    assert runner.get(first["id"]).json()["status"] == "timed_out"
    assert runner.get(second["id"]).json()["position"] == 1
    clock.instant = T0 + timedelta(minutes=40)
    assert runner.get(second["id"]).json()["status"] == "timed_out"
    assert runner.usage()["queued"] == 0


def test_when_the_limit_falls_running_leases_run_on_and_nothing_is_granted_above_it(world):
    sub = subscribe(world, quantity=4)["subscription"]
    runner = Runner(world)
    leases = [runner.acquire().json() for _ in range(6)]
    Subscription.objects.filter(pk=sub["id"]).update(quantity=2)  # as a renewal with a scheduled change does
    assert runner.release(leases[0]["id"]).status_code == 200
    assert [runner.get(lease["id"]).json()["status"] for lease in leases[1:]] == ["granted"] * 3 + ["queued"] * 2
    assert runner.release(leases[1]["id"]).status_code == 200
    assert runner.release(leases[2]["id"]).status_code == 200
    assert runner.get(leases[4]["id"]).json()["status"] == "granted"  # 1 + 1 = the new limit
    assert runner.get(leases[5]["id"]).json()["position"] == 1
    # the queue is capped at 3 × the new limit: 1 queued now, 5 more, then refused
    assert [runner.acquire().status_code for _ in range(6)] == [202] * 5 + [429]


def test_when_nothing_is_live_queued_requests_are_cancelled(world, clock):
    sub = subscribe(world, quantity=1)["subscription"]
    assert sub["current_period_end"] == "2027-02-15T12:00:00Z"
    # cancelled: auto-renew off (set directly: this test is about the leases, not the cancel call)
    Subscription.objects.filter(pk=sub["id"]).update(auto_renew=False)
    runner = Runner(world)
    clock.instant = T0 + timedelta(days=31, minutes=-15)
    running = runner.acquire().json()
    waiting = runner.acquire().json()
    clock.instant = T0 + timedelta(days=31)  # the period end: the subscription stops counting
    assert runner.get(waiting["id"]).json()["status"] == "cancelled"
    assert runner.get(running["id"]).json()["status"] == "granted"  # runs to its end
    refused = runner.acquire()
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "no_active_subscription")
    assert runner.usage() | {"in_use_by_run_type": None, "queued_by_run_type": None} == {
        "limit": 0,
        "in_use": 1,
        "queued": 0,
        "peak_today": 1,
        "in_use_by_run_type": None,
        "queued_by_run_type": None,
    }
    clock.instant = T0 + timedelta(days=31, hours=3)
    assert runner.get(running["id"]).json()["status"] == "expired"


def test_no_active_subscription_changes_nothing(world):
    runner = Runner(world)
    before = snapshot(world)
    refused = runner.acquire()
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "no_active_subscription")
    assert snapshot(world)[1] == before[1] == []


def test_roles(world):
    subscribe(world, quantity=3)
    account = world.account.pk
    before = snapshot(world)
    refused = Runner(world, "billing_manager").acquire()
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "permission_denied")
    assert snapshot(world) == before
    for who in ("owner", "admin", "member"):
        assert Runner(world, who).acquire().status_code == 201, who
    lease = SessionLease.objects.filter(account_id=account).first()
    manager = world.api("billing_manager")
    assert manager.get(f"/sessions/{lease.pk}").status_code == 200
    assert manager.get(f"/accounts/{account}/usage").json()["in_use"] == 3
    assert manager.post(f"/sessions/{lease.pk}/heartbeat").status_code == 403
    assert manager.delete(f"/sessions/{lease.pk}").status_code == 403
    outsider = world.api("outsider")
    assert outsider.post(f"/accounts/{account}/sessions", {"run_type": "desktop_browser"}, key="x").status_code == 404
    for response in (
        outsider.get(f"/sessions/{lease.pk}"),
        outsider.delete(f"/sessions/{lease.pk}"),
        outsider.post(f"/sessions/{lease.pk}/heartbeat"),
        outsider.get(f"/accounts/{account}/usage"),
    ):
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert world.api("operator").get(f"/sessions/{lease.pk}").status_code == 200
    assert SessionLease.objects.get(pk=lease.pk).status == "granted"


def test_idempotency_key_is_required_and_replays(world):
    subscribe(world, quantity=1)
    api = world.api("member")
    path = f"/accounts/{world.account.pk}/sessions"
    missing = api.post(path, {"run_type": "desktop_browser"})
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "idempotency_key_missing")
    first = api.post(path, {"run_type": "desktop_browser"}, key="run-a")
    again = api.post(path, {"run_type": "desktop_browser"}, key="run-a")
    assert (again.status_code, again.json()) == (first.status_code, first.json()) == (201, first.json())
    queued = api.post(path, {"run_type": "mobile_browser"}, key="run-b")
    assert (api.post(path, {"run_type": "mobile_browser"}, key="run-b").json()) == queued.json()
    reused = api.post(path, {"run_type": "mobile_native"}, key="run-a")
    assert (reused.status_code, reused.json()["error"]["code"]) == (409, "idempotency_key_reused")
    assert SessionLease.objects.filter(account=world.account).count() == 2


def test_invalid_requests(world):
    subscribe(world, quantity=1)
    runner = Runner(world)
    cases = [
        ({"run_type": "tablet"}, "run_type_invalid"),
        ({"ttl_seconds": 59}, "ttl_seconds_invalid"),
        ({"ttl_seconds": 86_401}, "ttl_seconds_invalid"),
        ({"ttl_seconds": "60"}, "ttl_seconds_invalid"),
    ]
    for extra, code in cases:
        response = runner.acquire(**{"run_type": "desktop_browser", **extra})
        assert (response.status_code, response.json()["error"]["code"]) == (422, code), extra
    assert runner.acquire(ttl_seconds=86_400).json()["expires_at"] == "2027-01-16T12:00:00Z"
    assert runner.get("lease_nope").status_code == 404


def test_seventy_five_percent_notice_once_a_day(world, clock):
    from seatplan.leases.selectors import usage_notice

    subscribe(world, quantity=4)
    runner = Runner(world)
    leases = [runner.acquire(ttl_seconds=86_400).json() for _ in range(2)]
    assert usage_notice(world.account, clock.now()) is None
    runner.acquire(ttl_seconds=86_400)  # 3 of 4
    emails = OutboxEvent.objects.filter(type="email", dedupe_key__startswith="usage75:")
    assert list(emails.values_list("dedupe_key", flat=True)) == [f"usage75:{world.account.pk}:2027-01-15"]
    assert emails.get().payload["to"] == ["billing_manager@acme.test", "owner@acme.test"]
    assert "3 of your 4 parallel sessions" in usage_notice(world.account, clock.now())
    runner.release(leases[0]["id"])
    runner.acquire(ttl_seconds=86_400)
    assert emails.count() == 1  # once a day
    clock.instant = T0 + timedelta(hours=12)  # midnight UTC: a new day
    assert usage_notice(world.account, clock.now()) is None
    runner.acquire()  # 4 of 4, the next day
    assert emails.count() == 2
