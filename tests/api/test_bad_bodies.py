"""Every bad input gets a clear error and never a 500 (API.md): each call that takes a body, with each of its
fields replaced by values of the wrong kind, and with bodies that are not objects at all. A refusal changes
nothing; a value that happens to be acceptable may succeed."""

import json

import pytest

from tests.api.test_role_matrix import BODIES, CALLERS, MATRIX, fill, ids, snapshot  # noqa: F401 - ids: fixture
from tests.conftest import Api

pytestmark = pytest.mark.django_db

BAD_VALUES = [None, True, -1, 10**30, 1.5, "x" * 5000, "\u0000", [1, "a"], {"nested": {"deep": 1}}]
# A caller the call is meant for (the first one the matrix lets through).
ALLOWED = {
    name: (method, path, CALLERS[[s < 400 for s in statuses].index(True)])
    for name, method, path, statuses in MATRIX
    if name in BODIES
}
# Optional fields the matrix's bodies leave out: given too, one at a time.
OPTIONAL = {
    "account create": ["currency", "test_clock"],
    "billing details": ["address", "country", "vat_id", "invoice_emails"],
    "product create": ["unit_name", "trial_days", "trial_quantity"],
    "discount create": [
        "amount_off",
        "currency",
        "duration_in_cycles",
        "products",
        "billing_cycles",
        "valid_from",
        "valid_until",
        "max_redemptions",
        "once_per_account",
        "first_purchase_only",
        "min_quantity",
    ],
    "quote create": ["product", "discount_code"],
    "session start": ["ttl_seconds"],
}
CASES = [
    pytest.param(name, field, value, id=f"{name}-{field}-{i}")
    for name, body in BODIES.items()
    for field in [*body, *OPTIONAL.get(name, [])]
    for i, value in enumerate(BAD_VALUES)
]
NOT_OBJECTS = ["[]", '"text"', "42", "null", "{", '{"a": }', ""]


def send(api: Api, method: str, path: str, raw: bytes, key: str):  # noqa: ANN201
    headers = {"HTTP_AUTHORIZATION": f"Bearer {api.key}", "HTTP_IDEMPOTENCY_KEY": key}
    return getattr(api.client, method)(f"/api/v1{path}", raw, content_type="application/json", **headers)


def check(response, before: dict) -> None:
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"code", "message", "param"} and error["code"] and error["message"]
        assert snapshot() == before, "a refused call changed something"


@pytest.mark.parametrize(("name", "field", "value"), CASES)
def test_a_field_of_the_wrong_kind_is_refused_cleanly(world, ids, name, field, value):  # noqa: F811
    method, path, caller = ALLOWED[name]
    body = fill(BODIES[name], ids)
    body[field] = value
    before = snapshot()
    response = send(Api(world.keys[caller]), method, fill(path, ids), json.dumps(body).encode(), f"bad-{field}")
    check(response, before)


@pytest.mark.parametrize("raw", NOT_OBJECTS)
@pytest.mark.parametrize("name", sorted(BODIES))
def test_a_body_that_is_not_an_object_is_a_400(world, ids, name, raw):  # noqa: F811
    method, path, caller = ALLOWED[name]
    before = snapshot()
    response = send(Api(world.keys[caller]), method, fill(path, ids), raw.encode(), "not-an-object")
    check(response, before)
    assert response.status_code in (400, 422), response.content
