"""The operator's catalog calls refuse every bad input with API.md's error shape and a 4xx — never a 500 —
and a refused call creates nothing."""

import pytest

from seatplan.catalog.models import DiscountCode, Price, Product
from seatplan.events.models import AuditEntry

pytestmark = pytest.mark.django_db


def _catalog() -> tuple:
    return (
        list(Product.objects.values_list("code", "name").order_by("code")),
        list(Price.objects.values_list("pk", "active").order_by("pk")),
        list(DiscountCode.objects.values_list("code", flat=True).order_by("code")),
        AuditEntry.objects.count(),
    )


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"code": "", "name": "X"}, 422, "code_invalid"),
        ({"code": "bad code!", "name": "X"}, 422, "code_invalid"),
        ({"code": "x" * 51, "name": "X"}, 422, "code_invalid"),
        ({"code": "newprod", "name": "  "}, 422, "name_invalid"),
        ({"code": "newprod", "name": "X", "trial_days": 0}, 422, "value_invalid"),
        ({"code": "newprod", "name": "X", "trial_quantity": 1001}, 422, "value_invalid"),
        ({"code": "newprod", "name": "X", "trial_days": "14"}, 422, "trial_days_invalid"),
        ({"code": "TESTCLOUD", "name": "Again"}, 409, "product_exists"),
        ({"name": "X"}, 400, "parameter_missing"),
        ({"code": "newprod", "name": "X", "colour": "red"}, 422, "parameter_unknown"),
    ],
)
def test_a_bad_product_is_refused(world, body, status, code):
    before = _catalog()
    r = world.api("operator").post("/products", body)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.json()
    assert _catalog() == before


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"currency": "USD", "billing_cycle": "week", "unit_amount": 100}, 422, "billing_cycle_invalid"),
        ({"currency": "XYZ", "billing_cycle": "month", "unit_amount": 100}, 422, "currency_invalid"),
        ({"currency": "USD", "billing_cycle": "month", "unit_amount": -1}, 422, "amount_invalid"),
        ({"currency": "USD", "billing_cycle": "month", "unit_amount": 10**13}, 422, "amount_invalid"),
        ({"currency": "USD", "billing_cycle": "month", "unit_amount": 1.5}, 422, "unit_amount_invalid"),
        ({"currency": "USD", "billing_cycle": "month"}, 400, "parameter_missing"),
    ],
)
def test_a_bad_price_is_refused(world, body, status, code):
    before = _catalog()
    r = world.api("operator").post("/products/testcloud/prices", body)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.json()
    assert _catalog() == before


def test_a_price_for_no_product_is_a_404(world):
    before = _catalog()
    r = world.api("operator").post(
        "/products/nope/prices", {"currency": "USD", "billing_cycle": "month", "unit_amount": 100}
    )
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
    assert _catalog() == before


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"code": "", "percent_off": "10", "duration": "once"}, 422, "code_invalid"),
        (
            {"code": "BOTH", "percent_off": "10", "amount_off": 100, "currency": "USD", "duration": "once"},
            422,
            "discount_invalid",
        ),
        ({"code": "NEITHER", "duration": "once"}, 422, "discount_invalid"),
        ({"code": "ZERO", "percent_off": "0", "duration": "once"}, 422, "discount_invalid"),
        ({"code": "OVER", "percent_off": "100.5", "duration": "once"}, 422, "discount_invalid"),
        ({"code": "FINE", "percent_off": "10.001", "duration": "once"}, 422, "discount_invalid"),
        ({"code": "NOTNUM", "percent_off": "ten", "duration": "once"}, 422, "percent_off_invalid"),
        ({"code": "NEG", "amount_off": -5, "currency": "USD", "duration": "once"}, 422, "discount_invalid"),
        ({"code": "NOCUR", "amount_off": 500, "duration": "once"}, 422, "currency_invalid"),
        ({"code": "REP", "percent_off": "10", "duration": "repeating"}, 422, "discount_invalid"),
        ({"code": "ONCE3", "percent_off": "10", "duration": "once", "duration_in_cycles": 3}, 422, "discount_invalid"),
        ({"code": "FOREVERISH", "percent_off": "10", "duration": "always"}, 422, "duration_invalid"),
        ({"code": "NOPROD", "percent_off": "10", "duration": "once", "products": ["nope"]}, 404, "not_found"),
        (
            {"code": "WEEKLY", "percent_off": "10", "duration": "once", "billing_cycles": ["week"]},
            422,
            "billing_cycles_invalid",
        ),
        (
            {
                "code": "BACKWARDS",
                "percent_off": "10",
                "duration": "once",
                "valid_from": "2027-02-01T00:00:00Z",
                "valid_until": "2027-01-01T00:00:00Z",
            },
            422,
            "discount_invalid",
        ),
        ({"code": "MAX0", "percent_off": "10", "duration": "once", "max_redemptions": 0}, 422, "discount_invalid"),
        ({"code": "MIN0", "percent_off": "10", "duration": "once", "min_quantity": 0}, 422, "discount_invalid"),
    ],
)
def test_a_bad_discount_code_is_refused(world, body, status, code):
    before = _catalog()
    r = world.api("operator").post("/discount_codes", body)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.json()
    assert _catalog() == before


def test_a_discount_code_taken_already_is_a_409(world):
    api = world.api("operator")
    assert api.post("/discount_codes", {"code": "ONCE", "percent_off": "10", "duration": "once"}).status_code == 201
    before = _catalog()
    r = api.post("/discount_codes", {"code": "once", "percent_off": "20", "duration": "forever"})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "discount_code_exists")
    assert _catalog() == before
