"""Pages' forms with values longer than their columns: a message on the page, never a 500 (PostgreSQL
enforces the lengths SQLite does not), and nothing changed."""

import pytest
from django.test import Client

from seatplan.accounts.models import Account, Membership

pytestmark = pytest.mark.django_db
LONG = "x" * 300


def _owner(world) -> Client:
    client = Client()
    client.force_login(world.members["owner"].user)
    return client


def _state(world) -> tuple:
    account = Account.objects.get(pk=world.account.pk)
    return account.name, account.billing_details(), Membership.objects.filter(account=world.account).count()


@pytest.mark.parametrize(
    ("path", "data"),
    [
        (
            "/billing/details/",
            {"business_name": LONG, "address": "", "country": "", "vat_id": "", "invoice_emails": ""},
        ),
        (
            "/billing/details/",
            {"business_name": "", "address": "", "country": "", "vat_id": "V" * 41, "invoice_emails": ""},
        ),
        (
            "/billing/details/",
            {"business_name": "", "address": "a" * 501, "country": "", "vat_id": "", "invoice_emails": ""},
        ),
        ("/settings/account/", {"name": LONG}),
        ("/people/invite/", {"email": f"{LONG}@acme.test", "role": "member"}),
    ],
)
def test_an_over_long_value_is_a_message_and_changes_nothing(world, path, data):
    before = _state(world)
    client = _owner(world)
    r = client.post(path, data, follow=True)
    assert r.status_code in (200, 422)
    assert 'role="alert"' in r.content.decode()
    assert _state(world) == before
