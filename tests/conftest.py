"""Shared fixtures: a frozen clock, the catalog, and one account with every role plus an outsider."""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from django.test import Client

from seatplan.accounts.models import Account, Membership, Role
from seatplan.accounts.permissions import SYSTEM, Actor
from seatplan.accounts.services import account_create, api_key_create, member_add, operator_key_create
from seatplan.catalog.models import Product
from seatplan.clocks.clock import FixedClock, get_clock, set_clock
from seatplan.demo import catalog_seed

T0 = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
ROLES = ["owner", "billing_manager", "admin", "member"]
VISA = {"card_number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
DECLINED = {**VISA, "card_number": "4000000000000002"}


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.SANDBOX = True
    settings.BENCHMARK_ENDPOINTS = True


@pytest.fixture(autouse=True)
def clock():
    previous = get_clock()
    fixed = FixedClock(T0)
    set_clock(fixed)
    yield fixed
    set_clock(previous)


class Api:
    """A JSON client acting with one API key."""

    def __init__(self, key: str | None) -> None:
        self.key = key
        self.client = Client()

    def _headers(self, idempotency_key: str | None) -> dict:
        headers = {}
        if self.key:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {self.key}"
        if idempotency_key:
            headers["HTTP_IDEMPOTENCY_KEY"] = idempotency_key
        return headers

    def get(self, path: str, **params):
        return self.client.get(f"/api/v1{path}", params, **self._headers(None))

    def post(self, path: str, body: dict | None = None, *, key: str | None = None):
        return self.client.post(
            f"/api/v1{path}", json.dumps(body or {}), content_type="application/json", **self._headers(key)
        )

    def put(self, path: str, body: dict):
        return self.client.put(
            f"/api/v1{path}", json.dumps(body), content_type="application/json", **self._headers(None)
        )

    def patch(self, path: str, body: dict):
        return self.client.patch(
            f"/api/v1{path}", json.dumps(body), content_type="application/json", **self._headers(None)
        )

    def delete(self, path: str):
        return self.client.delete(f"/api/v1{path}", **self._headers(None))


@dataclass
class World:
    product: Product
    account: Account
    other: Account
    keys: dict[str, str] = field(default_factory=dict)  # role (+ "outsider", "operator") → key
    members: dict[str, Membership] = field(default_factory=dict)

    def api(self, who: str = "owner") -> Api:
        return Api(self.keys[who])

    def actor(self, role: str = "owner") -> Actor:
        membership = self.members[role]
        return Actor(user=membership.user, role=membership.role)


def build_world(now: datetime, *, test_clock_id: str | None = None) -> World:
    product = catalog_seed(now=now)
    account = account_create(
        actor=SYSTEM, name="Acme", owner_email="owner@acme.test", test_clock_id=test_clock_id, now=now
    )
    other = account_create(actor=SYSTEM, name="Other Co", owner_email="owner@other.test", now=now)
    world = World(product=product, account=account, other=other)
    owner = Membership.objects.get(account=account, role=Role.OWNER)
    world.members["owner"] = owner
    owner_actor = Actor(user=owner.user, role=Role.OWNER)
    for role in ROLES[1:]:
        world.members[role] = member_add(
            actor=owner_actor, account=account, email=f"{role}@acme.test", role=role, now=now
        )
    for role, membership in world.members.items():
        _, world.keys[role] = api_key_create(
            actor=Actor(user=membership.user, role=role), account=account, name=role, now=now
        )
    other_owner = Membership.objects.get(account=other, role=Role.OWNER)
    _, world.keys["outsider"] = api_key_create(
        actor=Actor(user=other_owner.user, role=Role.OWNER), account=other, name="outsider", now=now
    )
    _, world.keys["operator"] = operator_key_create(email="ops@vendor.test", now=now)
    return world


@pytest.fixture
def world(db, clock) -> World:
    return build_world(clock.now())


def subscribe(world: World, *, quantity: int = 5, cycle: str = "month", code: str | None = None) -> dict:
    """Save a card and check out a new subscription through the API; returns the checkout body."""
    api = world.api("owner")
    assert api.put(f"/accounts/{world.account.pk}/payment_method", VISA).status_code == 200
    quote = api.post(
        f"/accounts/{world.account.pk}/quotes",
        {"product": "testcloud", "billing_cycle": cycle, "quantity": quantity, "discount_code": code},
    )
    assert quote.status_code == 201, quote.json()
    done = api.post(f"/quotes/{quote.json()['id']}/checkout", key=f"sub-{quote.json()['id']}")
    assert done.status_code == 200, done.json()
    return done.json()
