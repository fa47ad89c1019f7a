"""The People and roles page's forms (SPEC §2): invite, change a role, remove, transfer ownership — done on
the server for the roles allowed, refused with a message or 403 otherwise, and a refusal changes nothing."""

import pytest
from django.test import Client

from seatplan.accounts.models import Membership
from seatplan.events.models import AuditEntry

pytestmark = pytest.mark.django_db


def _client(world, role: str) -> Client:
    client = Client()
    client.force_login(world.members[role].user)
    return client


def _roles(world) -> dict[str, str]:
    return dict(Membership.objects.filter(account=world.account).values_list("user__email", "role"))


def _flash(client: Client) -> str:
    return client.get("/people/").content.decode()


def test_an_admin_invites_a_member_and_sees_it_said(world, mailoutbox):
    client = _client(world, "admin")
    r = client.post("/people/invite/", {"email": " new@acme.test ", "role": "member"})
    assert r.status_code == 302 and r["Location"] == "/people/"
    assert _roles(world)["new@acme.test"] == "member"
    assert "new@acme.test was added and invited by e-mail." in _flash(client)
    assert AuditEntry.objects.filter(action="member.added").exists()


@pytest.mark.parametrize(("role", "invite_as"), [("admin", "billing_manager"), ("billing_manager", "owner")])
def test_an_invitation_beyond_the_role_is_refused_on_the_server(world, role, invite_as):
    before = _roles(world)
    r = _client(world, role).post("/people/invite/", {"email": "x@acme.test", "role": invite_as})
    assert r.status_code == 403
    assert _roles(world) == before


def test_an_unknown_role_is_a_message_and_changes_nothing(world):
    before = _roles(world)
    client = _client(world, "owner")
    assert client.post("/people/invite/", {"email": "x@acme.test", "role": "nobody"}).status_code == 302
    assert 'role="alert"' in _flash(client)
    assert _roles(world) == before


def test_a_bad_email_is_a_message_not_an_error(world):
    client = _client(world, "owner")
    before = _roles(world)
    r = client.post("/people/invite/", {"email": "not-an-address", "role": "member"})
    assert r.status_code == 302
    assert 'role="alert"' in _flash(client)
    assert _roles(world) == before


def test_a_billing_manager_changes_an_admins_role_but_not_the_owners(world):
    client = _client(world, "billing_manager")
    admin = world.members["admin"]
    assert client.post(f"/people/{admin.pk}/role/", {"role": "member"}).status_code == 302
    assert _roles(world)["admin@acme.test"] == "member"
    owner = world.members["owner"]
    assert client.post(f"/people/{owner.pk}/role/", {"role": "member"}).status_code == 403
    assert _roles(world)["owner@acme.test"] == "owner"


def test_a_member_manages_nobody(world):
    client = _client(world, "member")
    before = _roles(world)
    admin = world.members["admin"]
    assert client.post("/people/invite/", {"email": "x@acme.test", "role": "member"}).status_code == 403
    assert client.post(f"/people/{admin.pk}/role/", {"role": "member"}).status_code == 403
    assert client.post(f"/people/{admin.pk}/remove/").status_code == 403
    assert _roles(world) == before


def test_the_owner_removes_a_member_after_confirming(world):
    client = _client(world, "owner")
    member = world.members["member"]
    page = client.get(f"/people/{member.pk}/remove/")
    assert page.status_code == 200 and "member@acme.test" in page.content.decode()
    assert client.post(f"/people/{member.pk}/remove/").status_code == 302
    assert "member@acme.test" not in _roles(world)
    assert "member@acme.test was removed." in _flash(client)


def test_another_accounts_member_is_a_404(world):
    outsider = Membership.objects.filter(account=world.other).first()
    client = _client(world, "owner")
    assert client.post(f"/people/{outsider.pk}/role/", {"role": "admin"}).status_code == 404
    assert client.post(f"/people/{outsider.pk}/remove/").status_code == 404


def test_the_owner_transfers_ownership_and_becomes_an_admin(world):
    client = _client(world, "owner")
    page = client.get("/people/transfer-ownership/")
    assert page.status_code == 200 and "billing_manager@acme.test" in page.content.decode()
    bm = world.members["billing_manager"]
    assert client.post("/people/transfer-ownership/", {"member": bm.pk}).status_code == 302
    roles = _roles(world)
    assert (roles["billing_manager@acme.test"], roles["owner@acme.test"]) == ("owner", "admin")
    assert list(Membership.objects.filter(account=world.account, role="owner")) == [bm]  # exactly one Owner


@pytest.mark.parametrize("role", ["billing_manager", "admin", "member"])
def test_only_the_owner_transfers_ownership(world, role):
    before = _roles(world)
    client = _client(world, role)
    assert client.get("/people/transfer-ownership/").status_code == 403
    assert client.post("/people/transfer-ownership/", {"member": world.members["member"].pk}).status_code == 403
    assert _roles(world) == before
