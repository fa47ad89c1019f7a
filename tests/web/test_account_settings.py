"""Account settings (SPEC §2): the Owner renames the account; every other role is refused and sees no way there."""

import pytest
from django.test import Client

from seatplan.accounts.models import Account
from seatplan.events.models import AuditEntry, OutboxEvent

pytestmark = pytest.mark.django_db
URL = "/settings/account/"


def _client(world, role: str) -> Client:
    client = Client()
    client.force_login(world.members[role].user)
    return client


def test_the_owner_renames_the_account(world):
    client = _client(world, "owner")
    page = client.get(URL)
    assert page.status_code == 200 and 'value="Acme"' in page.content.decode()
    response = client.post(URL, {"name": "  Acme Testing Ltd  "})
    assert response.status_code == 302 and response["Location"] == URL
    assert Account.objects.get(pk=world.account.pk).name == "Acme Testing Ltd"
    entry = AuditEntry.objects.get(action="account.renamed", object_id=world.account.pk)
    assert (entry.before, entry.after) == ({"name": "Acme"}, {"name": "Acme Testing Ltd"})
    assert OutboxEvent.objects.get(type="account.updated").payload == {
        "account": world.account.pk,
        "name": "Acme Testing Ltd",
    }
    assert "The account&#x27;s name is saved." in client.get(URL).content.decode()


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("", "name_invalid"),
        ("   ", "name_invalid"),
        ("x" * 201, "value_too_long"),
    ],
)
def test_a_bad_name_is_refused_and_changes_nothing(world, name, code):
    audit = AuditEntry.objects.count()
    response = _client(world, "owner").post(URL, {"name": name})
    assert response.status_code == 422
    assert 'role="alert"' in response.content.decode() and 'aria-invalid="true"' in response.content.decode()
    r = world.api("owner").patch(f"/accounts/{world.account.pk}", {"name": name})
    assert r.status_code == 422 and r.json()["error"] == {
        "code": code,
        "message": r.json()["error"]["message"],
        "param": "name",
    }
    assert Account.objects.get(pk=world.account.pk).name == "Acme"
    assert AuditEntry.objects.count() == audit


@pytest.mark.parametrize("role", ["billing_manager", "admin", "member"])
def test_only_the_owner_has_account_settings(world, role):
    client = _client(world, role)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"name": "Taken Over"}).status_code == 403
    assert URL not in client.get("/people/").content.decode()
    assert Account.objects.get(pk=world.account.pk).name == "Acme"


def test_the_owner_sees_account_settings_in_the_navigation(world):
    assert f'href="{URL}"' in _client(world, "owner").get("/people/").content.decode()


def test_the_same_name_again_writes_nothing(world):
    r = world.api("owner").patch(f"/accounts/{world.account.pk}", {"name": "Acme"})
    assert r.status_code == 200 and r.json()["name"] == "Acme"
    assert not AuditEntry.objects.filter(action="account.renamed").exists()
