"""Webhooks (SPEC §7): outbox events, signed, delivered to a real HTTP endpoint, retried with back-off."""

import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.test import override_settings

from seatplan.events.models import OutboxEvent, WebhookDelivery
from seatplan.events.services import email_enqueue, outbox_add
from seatplan.events.webhooks import BACKOFF_SECONDS, MAX_ATTEMPTS, webhooks_deliver
from tests.threads import run_in_threads

NOW = datetime(2027, 5, 1, 12, tzinfo=UTC)
SECRET = "whsec_test"


class Endpoint:
    """A local HTTP endpoint that records what it receives and answers with the next status in line."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.received: list[dict] = []
        self.statuses = list(statuses or [])
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status = endpoint.statuses.pop(0) if endpoint.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    server = Endpoint()
    yield server
    server.close()


def _event(type_: str = "invoice.paid", **payload) -> OutboxEvent:
    return outbox_add(account_id=None, type=type_, payload=payload or {"invoice": "inv_1"}, now=NOW)


def _verify(received: dict) -> dict:
    """The signature checked as a receiver would; returns the decoded body."""
    stamp, _, signature = received["headers"]["Seatplan-Signature"].partition(",v1=")
    timestamp = stamp.removeprefix("t=")
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + received["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    assert int(timestamp) == int(NOW.timestamp())
    return json.loads(received["body"])


@pytest.mark.django_db
def test_an_event_is_delivered_signed_once(endpoint):
    event = _event(invoice="inv_1", number="SP-000001")
    with override_settings(WEBHOOK_URLS=[endpoint.url], WEBHOOK_SECRET=SECRET):
        assert webhooks_deliver(now=NOW) == 1
        assert webhooks_deliver(now=NOW + timedelta(hours=1)) == 0  # nothing twice
    assert len(endpoint.received) == 1
    received = endpoint.received[0]
    body = _verify(received)
    assert body == {
        "id": f"evt_{event.pk}",
        "type": "invoice.paid",
        "created_at": NOW.isoformat(),
        "account": None,
        "data": {"invoice": "inv_1", "number": "SP-000001"},
    }
    assert received["headers"]["Seatplan-Event-Id"] == f"evt_{event.pk}"
    assert received["headers"]["Content-Type"] == "application/json"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.last_status, delivery.delivered_at) == (1, 200, NOW)


@pytest.mark.django_db
def test_a_tampered_body_fails_the_signature(endpoint):
    _event()
    with override_settings(WEBHOOK_URLS=[endpoint.url], WEBHOOK_SECRET=SECRET):
        webhooks_deliver(now=NOW)
    received = dict(endpoint.received[0])
    received["body"] = received["body"].replace(b"inv_1", b"inv_2")
    with pytest.raises(AssertionError):
        _verify(received)


@pytest.mark.django_db
def test_a_failing_endpoint_is_retried_with_back_off_until_it_answers():
    endpoint = Endpoint(statuses=[500, 503])
    try:
        _event()
        with override_settings(WEBHOOK_URLS=[endpoint.url], WEBHOOK_SECRET=SECRET):
            assert webhooks_deliver(now=NOW) == 0  # attempt 1: 500
            assert webhooks_deliver(now=NOW + timedelta(seconds=BACKOFF_SECONDS[0] - 1)) == 0  # not due yet
            assert len(endpoint.received) == 1
            second = NOW + timedelta(seconds=BACKOFF_SECONDS[0])
            assert webhooks_deliver(now=second) == 0  # attempt 2: 503
            assert webhooks_deliver(now=second + timedelta(seconds=BACKOFF_SECONDS[1] - 1)) == 0
            third = second + timedelta(seconds=BACKOFF_SECONDS[1])
            assert webhooks_deliver(now=third) == 1  # attempt 3: 200
        assert len(endpoint.received) == 3
        assert len({r["body"] for r in endpoint.received}) == 1  # the same event each time
        delivery = WebhookDelivery.objects.get()
        assert (delivery.attempts, delivery.last_status, delivery.delivered_at) == (3, 200, third)
    finally:
        endpoint.close()


@pytest.mark.django_db
def test_an_endpoint_that_never_answers_is_given_up_after_the_last_attempt():
    unreachable = Endpoint()
    url = unreachable.url
    unreachable.close()  # nothing listens there any more: every attempt is refused
    _event()
    at = NOW
    with override_settings(WEBHOOK_URLS=[url], WEBHOOK_SECRET=SECRET):
        for attempt in range(1, MAX_ATTEMPTS + 1):
            assert webhooks_deliver(now=at) == 0
            delivery = WebhookDelivery.objects.get()
            assert delivery.attempts == attempt and delivery.last_status is None and delivery.last_error
            if attempt < MAX_ATTEMPTS:
                at += timedelta(seconds=BACKOFF_SECONDS[attempt - 1])
        assert delivery.failed_at == at and delivery.delivered_at is None
        webhooks_deliver(now=at + timedelta(days=30))
    assert WebhookDelivery.objects.get().attempts == MAX_ATTEMPTS  # no attempt after giving up


@pytest.mark.django_db
def test_every_endpoint_gets_every_event_but_e_mails(endpoint):
    other = Endpoint()
    try:
        first, second = _event("invoice.paid"), _event("subscription.updated", subscription="sub_1")
        email_enqueue(account_id=None, to=["a@example.test"], subject="Hello", body="Hi", now=NOW)
        with override_settings(WEBHOOK_URLS=[endpoint.url, other.url], WEBHOOK_SECRET=SECRET):
            assert webhooks_deliver(now=NOW) == 4
        for server in (endpoint, other):
            assert [json.loads(r["body"])["id"] for r in server.received] == [f"evt_{first.pk}", f"evt_{second.pk}"]
    finally:
        other.close()


@pytest.mark.django_db
def test_with_no_endpoint_configured_events_wait_in_the_outbox(endpoint):
    event = _event()
    with override_settings(WEBHOOK_URLS=[], WEBHOOK_SECRET=SECRET):
        assert webhooks_deliver(now=NOW) == 0
    event.refresh_from_db()
    assert event.delivered_at is None and not WebhookDelivery.objects.exists()
    with override_settings(WEBHOOK_URLS=[endpoint.url], WEBHOOK_SECRET=SECRET):
        assert webhooks_deliver(now=NOW + timedelta(minutes=5)) == 1  # configured later: sent then
    assert len(endpoint.received) == 1


@pytest.mark.django_db
def test_an_event_of_a_rolled_back_change_is_never_sent(endpoint):
    with pytest.raises(RuntimeError), transaction.atomic():
        _event()
        raise RuntimeError("the change failed")
    with override_settings(WEBHOOK_URLS=[endpoint.url], WEBHOOK_SECRET=SECRET):
        assert webhooks_deliver(now=NOW) == 0
    assert endpoint.received == []


@pytest.mark.django_db(transaction=True)
def test_four_workers_at_once_send_each_event_once(endpoint):
    events = [_event(invoice=f"inv_{i}") for i in range(40)]
    with override_settings(WEBHOOK_URLS=[endpoint.url], WEBHOOK_SECRET=SECRET):
        sent = run_in_threads(lambda _: webhooks_deliver(now=NOW, limit=5), 4)
    assert sum(sent) == 40
    ids = sorted(json.loads(r["body"])["id"] for r in endpoint.received)
    assert ids == sorted(f"evt_{e.pk}" for e in events)  # every event, none twice
    assert WebhookDelivery.objects.filter(attempts=1, delivered_at=NOW).count() == 40


def test_endpoints_without_a_secret_are_refused_at_start(tmp_path):
    env = {
        **os.environ,
        "SEATPLAN_WEBHOOK_URLS": "http://127.0.0.1:9/hooks",
        "SEATPLAN_WEBHOOK_SECRET": "",
        "SEATPLAN_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "seatplan.cli", "bill", "--no-deliver"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )  # noqa: S603 - our own command
    assert done.returncode != 0
    assert "SEATPLAN_WEBHOOK_SECRET is not" in done.stderr
    assert not (tmp_path / "x.sqlite3").exists() or (tmp_path / "x.sqlite3").stat().st_size == 0  # nothing done
