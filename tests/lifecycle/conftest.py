"""A world whose account lives on a test clock, and the helpers every lifecycle scenario uses."""

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.test import TestCase

from seatplan.clocks.models import TestClock
from seatplan.events.delivery import outbox_deliver
from seatplan.invoices.models import Invoice
from tests.conftest import VISA, Api, build_world

JAN_31 = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)


def z(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class CommittingApi(Api):
    """An Api whose requests run their after-commit work (e-mails) as if each request committed."""

    def _run(self, method: str, *args, **kwargs):
        with TestCase.captureOnCommitCallbacks(execute=True):
            return getattr(super(), method)(*args, **kwargs)

    def get(self, *args, **kwargs):
        return self._run("get", *args, **kwargs)

    def post(self, *args, **kwargs):
        return self._run("post", *args, **kwargs)

    def put(self, *args, **kwargs):
        return self._run("put", *args, **kwargs)

    def delete(self, *args, **kwargs):
        return self._run("delete", *args, **kwargs)


class Clocked:
    """The Acme world on a test clock, driven through the API like a new user would."""

    def __init__(self, start: datetime) -> None:
        self.test_clock = TestClock.objects.create(frozen_time=start, created_at=start)
        self.world = build_world(start, test_clock_id=self.test_clock.pk)
        self.account_id = self.world.account.pk
        self.owner = CommittingApi(self.world.keys["owner"])
        self.operator = CommittingApi(self.world.keys["operator"])
        outbox_deliver(now=start)  # the invitations of build_world: not what these tests count
        mail.outbox.clear()

    def advance(self, to: datetime) -> dict:
        response = self.operator.post(f"/test_clocks/{self.test_clock.pk}/advance", {"frozen_time": z(to)})
        assert response.status_code == 200, response.json()
        return response.json()

    def card(self, card: dict = VISA) -> dict:
        response = self.owner.put(f"/accounts/{self.account_id}/payment_method", card)
        assert response.status_code == 200, response.json()
        return response.json()

    def subscribe(
        self, *, quantity: int = 5, cycle: str = "month", code: str | None = None, subscription: str | None = None
    ) -> dict:
        body = {"product": "testcloud", "billing_cycle": cycle, "quantity": quantity, "discount_code": code}
        if subscription:
            body["subscription"] = subscription
        quote = self.owner.post(f"/accounts/{self.account_id}/quotes", body)
        assert quote.status_code == 201, quote.json()
        done = self.owner.post(f"/quotes/{quote.json()['id']}/checkout", key=f"k-{quote.json()['id']}")
        assert done.status_code == 200, done.json()
        return done.json()

    def subscription(self, sub_id: str) -> dict:
        return self.owner.get(f"/subscriptions/{sub_id}").json()

    def invoices(self) -> list[dict]:
        """Oldest first."""
        page = self.owner.get(f"/accounts/{self.account_id}/invoices", limit=100).json()["data"]
        return sorted(page, key=lambda i: i["number"])

    def subjects(self) -> list[str]:
        return [message.subject for message in mail.outbox]

    def mail_bodies(self) -> list[str]:
        return [message.body for message in mail.outbox]


@pytest.fixture
def clocked(db, clock) -> Clocked:
    clock.instant = JAN_31  # wall time too, so nothing real-time is due behind the clock's back
    return Clocked(JAN_31)


def invoice_numbers_gapless() -> bool:
    sequences = sorted(Invoice.objects.values_list("sequence", flat=True))
    return sequences == list(range(1, len(sequences) + 1))
