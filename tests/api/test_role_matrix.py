"""SPEC §2 through the API: who may call what, and what a refused call leaves behind (nothing).

Each row of MATRIX is one endpoint and the status each caller gets, in the order of
CALLERS: the four roles of Acme, an outsider (Other Co's Owner using its own key on Acme's
objects: 404, never 403) and a vendor operator (reads every account, does the operator
calls, never a customer's write). No key or a bad key is 401 everywhere.
"""

import pytest
from django.core import mail

from seatplan.accounts.models import Account, ApiKey, Membership, User
from seatplan.catalog.models import DiscountCode, Price, Product
from seatplan.clocks.models import TestClock as Clock
from seatplan.events.models import AuditEntry, OutboxEvent
from seatplan.invoices.models import Invoice
from seatplan.leases.models import SessionLease
from seatplan.payments.models import PaymentMethod, SandboxCharge
from seatplan.subscriptions.models import Quote, Subscription
from tests.conftest import Api, subscribe

pytestmark = pytest.mark.django_db

CALLERS = ["owner", "billing_manager", "admin", "member", "outsider", "operator"]
ERROR_CODES = {401: "unauthenticated", 403: "permission_denied", 404: "not_found"}

# path placeholders: {a} Acme, {s} its subscription, {q} an open upgrade quote, {i} its invoice,
# {m} the Member's membership, {p} the TestCloud product, {c} a test clock, {l} a Member's running session.
MATRIX = [
    # name                  method    path                                 owner  bm  admin member outsider operator
    ("me", "get", "/me", (200, 200, 200, 200, 200, 200)),
    ("account get", "get", "/accounts/{a}", (200, 200, 200, 200, 404, 200)),
    ("account list", "get", "/accounts", (403, 403, 403, 403, 403, 200)),
    ("account rename", "patch", "/accounts/{a}", (200, 403, 403, 403, 404, 403)),
    ("account create", "post", "/accounts", (403, 403, 403, 403, 403, 201)),
    ("billing details", "patch", "/accounts/{a}/billing_details", (200, 200, 403, 403, 404, 403)),
    ("members list", "get", "/accounts/{a}/members", (200, 200, 200, 200, 404, 200)),
    ("member add", "post", "/accounts/{a}/members", (201, 201, 201, 403, 404, 403)),
    ("member change role", "patch", "/accounts/{a}/members/{m}", (200, 200, 200, 403, 404, 403)),
    ("member remove", "delete", "/accounts/{a}/members/{m}", (200, 200, 200, 403, 404, 403)),
    ("transfer ownership", "post", "/accounts/{a}/transfer_ownership", (200, 403, 403, 403, 404, 403)),
    ("api key (own)", "post", "/accounts/{a}/api_keys", (201, 201, 201, 201, 404, 403)),
    ("products list", "get", "/products", (200, 200, 200, 200, 200, 200)),
    ("product create", "post", "/products", (403, 403, 403, 403, 403, 201)),
    ("price create", "post", "/products/{p}/prices", (403, 403, 403, 403, 403, 201)),
    ("discount create", "post", "/discount_codes", (403, 403, 403, 403, 403, 201)),
    ("discount list", "get", "/discount_codes", (403, 403, 403, 403, 403, 200)),
    ("payment method get", "get", "/accounts/{a}/payment_method", (200, 200, 403, 403, 404, 200)),
    ("payment method put", "put", "/accounts/{a}/payment_method", (200, 200, 403, 403, 404, 403)),
    ("payment method del", "delete", "/accounts/{a}/payment_method", (200, 200, 403, 403, 404, 403)),
    ("subscriptions list", "get", "/accounts/{a}/subscriptions", (200, 200, 200, 200, 404, 200)),
    ("subscription get", "get", "/subscriptions/{s}", (200, 200, 200, 200, 404, 200)),
    ("cancel", "post", "/subscriptions/{s}/cancel", (200, 200, 403, 403, 404, 403)),
    ("reactivate", "post", "/subscriptions/{s}/reactivate", (200, 200, 403, 403, 404, 403)),
    ("quote create", "post", "/accounts/{a}/quotes", (201, 201, 403, 403, 404, 403)),
    ("quote get", "get", "/quotes/{q}", (200, 200, 403, 403, 404, 200)),
    ("checkout", "post", "/quotes/{q}/checkout", (200, 200, 403, 403, 404, 403)),
    ("invoices list", "get", "/accounts/{a}/invoices", (200, 200, 403, 403, 404, 200)),
    ("invoice get", "get", "/invoices/{i}", (200, 200, 403, 403, 404, 200)),
    ("invoice pdf", "get", "/invoices/{i}/pdf", (200, 200, 403, 403, 404, 200)),
    ("schedule decrease", "post", "/subscriptions/{s}/scheduled_change", (200, 200, 403, 403, 404, 403)),
    ("unschedule decrease", "delete", "/subscriptions/{s}/scheduled_change", (200, 200, 403, 403, 404, 403)),
    ("usage", "get", "/accounts/{a}/usage", (200, 200, 200, 200, 404, 200)),
    ("session start", "post", "/accounts/{a}/sessions", (201, 403, 201, 201, 404, 403)),
    ("session get", "get", "/sessions/{l}", (200, 200, 200, 200, 404, 200)),
    ("session heartbeat", "post", "/sessions/{l}/heartbeat", (200, 403, 200, 200, 404, 403)),
    ("session release", "delete", "/sessions/{l}", (200, 403, 200, 200, 404, 403)),
    ("test clock create", "post", "/test_clocks", (403, 403, 403, 403, 403, 201)),
    ("test clock advance", "post", "/test_clocks/{c}/advance", (403, 403, 403, 403, 403, 200)),
]
# A valid body for each call that takes one, so that the only reason to refuse is the caller.
BODIES = {
    "account create": {"name": "New", "owner_email": "o@new.test"},
    "billing details": {"business_name": "Acme GmbH"},
    "account rename": {"name": "Acme Testing"},
    "member add": {"email": "new@acme.test", "role": "member"},
    "member change role": {"role": "admin"},
    "transfer ownership": {"member": "{m}"},
    "api key (own)": {"name": "ci"},
    "product create": {"code": "newprod", "name": "New"},
    "price create": {"currency": "USD", "billing_cycle": "month", "unit_amount": 15900},
    "discount create": {"code": "SAVE10", "percent_off": "10", "duration": "once"},
    "payment method put": {"card_number": "4242424242424242", "exp_month": 1, "exp_year": 2031, "cvc": "999"},
    "quote create": {"subscription": "{s}", "billing_cycle": "month", "quantity": 7},
    "test clock create": {"frozen_time": "2027-01-15T12:00:00Z"},
    "schedule decrease": {"quantity": 3},
    "session start": {"run_type": "desktop_browser"},
    "test clock advance": {"frozen_time": "2027-01-16T12:00:00Z"},
}

CASES = [
    pytest.param(method, path, BODIES.get(name), caller, status, id=f"{name}-{caller}")
    for name, method, path, statuses in MATRIX
    for caller, status in [*zip(CALLERS, statuses, strict=True), ("no key", 401), ("bad key", 401)]
]


def snapshot() -> dict:
    """Every row a refused call must leave as it was."""

    def rows(model, *exclude):  # noqa: ANN001, ANN202
        return [{k: v for k, v in row.items() if k not in exclude} for row in model.objects.order_by("pk").values()]

    return {
        "accounts": rows(Account),
        "memberships": rows(Membership),
        "api_keys": rows(ApiKey),
        "users": rows(User, "last_login"),
        "subscriptions": rows(Subscription),
        "quotes": rows(Quote),
        "payment_methods": rows(PaymentMethod),
        "invoices": rows(Invoice),
        "products": rows(Product),
        "prices": rows(Price),
        "discounts": rows(DiscountCode),
        "clocks": rows(Clock),
        "charges": SandboxCharge.objects.count(),
        "audit": AuditEntry.objects.count(),
        "outbox": OutboxEvent.objects.count(),
        "mail": len(mail.outbox),
        "leases": rows(SessionLease),
    }


@pytest.fixture
def ids(world) -> dict:
    """Acme with a live subscription, its invoice, a saved card, an open upgrade quote, and a test clock."""
    sub = subscribe(world, quantity=5)
    quote = world.api("owner").post(
        f"/accounts/{world.account.pk}/quotes",
        {"subscription": sub["subscription"]["id"], "billing_cycle": "month", "quantity": 6},
    )
    assert quote.status_code == 201, quote.json()
    clock = world.api("operator").post("/test_clocks", {"frozen_time": "2027-01-15T12:00:00Z"})
    assert clock.status_code == 201, clock.json()
    lease = world.api("member").post(
        f"/accounts/{world.account.pk}/sessions", {"run_type": "mobile_native"}, key="matrix-lease"
    )
    assert lease.status_code == 201, lease.json()
    return {
        "l": lease.json()["id"],
        "a": world.account.pk,
        "s": sub["subscription"]["id"],
        "i": sub["invoice"]["id"],
        "q": quote.json()["id"],
        "m": world.members["member"].pk,
        "p": world.product.pk,
        "c": clock.json()["id"],
    }


def call(api: Api, method: str, path: str, body: dict | None):  # noqa: ANN201
    if method == "post":
        return api.post(path, body, key="matrix-1")
    if method in ("put", "patch"):
        return getattr(api, method)(path, body or {})
    return getattr(api, method)(path)


def fill(value, ids: dict):  # noqa: ANN001, ANN201
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body", "caller", "expected"), CASES)
def test_role_matrix(world, ids, method, path, body, caller, expected):
    key = {"no key": None, "bad key": "sp_not-a-real-key"}.get(caller, world.keys.get(caller))
    before = snapshot()
    response = call(Api(key), method, fill(path, ids), fill(body, ids))
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response.json()["error"]["code"] == ERROR_CODES[expected]
        assert snapshot() == before, "a refused call changed something"


# ---- People (SPEC §2: "not Owner", "not Owner, not Billing Manager", exactly one Owner) ----


def members_path(world, who: str | None = None) -> str:
    base = f"/accounts/{world.account.pk}/members"
    return f"{base}/{world.members[who].pk}" if who else base


def roles(world) -> dict:
    return dict(Membership.objects.filter(account=world.account).values_list("user__email", "role"))


def refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code


# (actor, target role it may not touch) and (actor, role it may not grant)
UNTOUCHABLE = [
    ("billing_manager", "owner"),
    ("admin", "owner"),
    ("admin", "billing_manager"),
    ("member", "owner"),
    ("member", "billing_manager"),
    ("member", "admin"),
]
UNGRANTABLE = [
    ("billing_manager", "owner"),
    ("admin", "owner"),
    ("admin", "billing_manager"),
    ("member", "member"),
    ("member", "admin"),
]


@pytest.mark.parametrize(("actor", "target"), UNTOUCHABLE)
def test_cannot_change_or_remove_a_member_above_their_reach(world, actor, target):
    api, before = world.api(actor), snapshot()
    refused(api.patch(members_path(world, target), {"role": "member"}), 403, "permission_denied")
    refused(api.delete(members_path(world, target)), 403, "permission_denied")
    assert snapshot() == before


@pytest.mark.parametrize(("actor", "role"), UNGRANTABLE)
def test_cannot_grant_a_role_above_their_reach(world, actor, role):
    api, before = world.api(actor), snapshot()
    refused(api.post(members_path(world), {"email": "new@acme.test", "role": role}), 403, "permission_denied")
    peer = "member" if actor != "member" else "admin"
    refused(api.patch(members_path(world, peer), {"role": role}), 403, "permission_denied")
    assert snapshot() == before


def test_billing_manager_may_grant_and_touch_billing_managers(world):
    api = world.api("billing_manager")
    assert api.post(members_path(world), {"email": "bm2@acme.test", "role": "billing_manager"}).status_code == 201
    assert api.patch(members_path(world, "admin"), {"role": "billing_manager"}).status_code == 200
    assert roles(world)["admin@acme.test"] == "billing_manager"


def test_admin_may_manage_admins_and_members(world):
    api = world.api("admin")
    assert api.post(members_path(world), {"email": "a2@acme.test", "role": "admin"}).status_code == 201
    assert api.patch(members_path(world, "member"), {"role": "admin"}).status_code == 200
    assert api.delete(members_path(world, "member")).status_code == 200
    assert "member@acme.test" not in roles(world)


def test_owner_cannot_be_removed_or_demoted_and_owner_cannot_be_granted(world):
    api, before = world.api("owner"), snapshot()
    refused(api.delete(members_path(world, "owner")), 409, "owner_required")
    refused(api.patch(members_path(world, "owner"), {"role": "admin"}), 409, "owner_required")
    refused(api.patch(members_path(world, "member"), {"role": "owner"}), 409, "owner_required")
    refused(api.post(members_path(world), {"email": "new@acme.test", "role": "owner"}), 422, "role_invalid")
    assert snapshot() == before
    assert list(roles(world).values()).count("owner") == 1


def test_transfer_ownership_makes_the_old_owner_an_admin(world):
    done = world.api("owner").post(
        f"/accounts/{world.account.pk}/transfer_ownership", {"member": world.members["member"].pk}
    )
    assert done.status_code == 200, done.json()
    assert roles(world) == {
        "owner@acme.test": "admin",
        "billing_manager@acme.test": "billing_manager",
        "admin@acme.test": "admin",
        "member@acme.test": "owner",
    }
    # The keys follow the roles: the old Owner can no longer transfer, the new one can.
    again = {"member": world.members["owner"].pk}
    refused(
        world.api("owner").post(f"/accounts/{world.account.pk}/transfer_ownership", again), 403, "permission_denied"
    )
    assert world.api("member").get("/me").json()["role"] == "owner"
    assert world.api("member").post(f"/accounts/{world.account.pk}/transfer_ownership", again).status_code == 200
    assert list(roles(world).values()).count("owner") == 1


def test_transfer_to_someone_outside_the_account_is_not_found(world):
    other_owner = Membership.objects.get(account=world.other)
    before = snapshot()
    refused(
        world.api("owner").post(f"/accounts/{world.account.pk}/transfer_ownership", {"member": other_owner.pk}),
        404,
        "not_found",
    )
    assert snapshot() == before


def test_outsider_cannot_reach_acme_members_by_id(world):
    other = f"/accounts/{world.other.pk}/members/{world.members['member'].pk}"
    before = snapshot()
    refused(world.api("outsider").patch(other, {"role": "admin"}), 404, "not_found")
    refused(world.api("outsider").delete(other), 404, "not_found")
    assert snapshot() == before


# ---- API keys ----


def test_operator_mints_a_key_that_acts_with_the_members_role(world):
    audit_before = AuditEntry.objects.filter(action="api_key.created").count()
    minted = world.api("operator").post(
        f"/accounts/{world.account.pk}/api_keys", {"name": "support", "user_email": "member@acme.test"}
    )
    assert minted.status_code == 201, minted.json()
    assert minted.json()["user"] == "member@acme.test"
    assert AuditEntry.objects.filter(action="api_key.created").count() == audit_before + 1
    as_member = Api(minted.json()["key"])
    me = as_member.get("/me").json()
    assert (me["role"], me["user"]["email"], me["operator"]) == ("member", "member@acme.test", False)
    assert as_member.get(f"/accounts/{world.account.pk}/subscriptions").status_code == 200
    refused(
        as_member.post(
            f"/accounts/{world.account.pk}/quotes", {"product": "testcloud", "billing_cycle": "month", "quantity": 1}
        ),
        403,
        "permission_denied",
    )
    refused(as_member.get(f"/accounts/{world.account.pk}/invoices"), 403, "permission_denied")


def test_operator_cannot_mint_for_a_stranger_and_customers_cannot_mint_for_others(world):
    path, before = f"/accounts/{world.account.pk}/api_keys", snapshot()
    refused(world.api("operator").post(path, {"name": "x", "user_email": "owner@other.test"}), 404, "not_found")
    refused(world.api("owner").post(path, {"name": "x", "user_email": "member@acme.test"}), 403, "permission_denied")
    assert snapshot() == before


def test_a_removed_members_key_stops_working(world):
    assert world.api("member").get("/me").status_code == 200
    assert world.api("owner").delete(members_path(world, "member")).status_code == 200
    refused(world.api("member").get("/me"), 401, "unauthenticated")
    refused(world.api("member").get(f"/accounts/{world.account.pk}/subscriptions"), 401, "unauthenticated")


def test_a_key_follows_a_role_change(world):
    path = f"/accounts/{world.account.pk}/quotes"
    body = {"product": "testcloud", "billing_cycle": "month", "quantity": 1}
    assert world.api("owner").patch(members_path(world, "billing_manager"), {"role": "member"}).status_code == 200
    refused(world.api("billing_manager").post(path, body), 403, "permission_denied")


@pytest.mark.parametrize(
    ("caller", "expected"),
    [("owner", 201), ("billing_manager", 201), ("admin", 403), ("member", 403), ("outsider", 404), ("operator", 403)],
)
def test_who_may_start_the_free_trial(world, caller, expected):
    before = snapshot()
    response = Api(world.keys[caller]).post(
        f"/accounts/{world.account.pk}/trials", {"product": "testcloud"}, key="trial-1"
    )
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response.json()["error"]["code"] == ERROR_CODES[expected]
        assert snapshot() == before
    else:
        assert response.json()["trial_end"] is not None
