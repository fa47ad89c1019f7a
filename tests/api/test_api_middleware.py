"""API calls skip the pages' middleware; unknown paths and methods still answer JSON errors."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def get(world, path: str, method: str = "get", who: str = "owner"):
    return getattr(Client(), method)(path, HTTP_AUTHORIZATION=f"Bearer {world.keys[who]}")


def test_an_api_answer_has_the_security_headers_and_no_page_machinery(world):
    r = get(world, "/api/v1/me")
    assert r.status_code == 200 and r["Content-Type"] == "application/json"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Referrer-Policy"] == "same-origin"
    assert int(r["Content-Length"]) == len(r.content)
    assert "Content-Security-Policy" not in r and "Set-Cookie" not in r
    assert not r.cookies


def test_an_unknown_api_path_is_a_json_404(world):
    for path in ("/api/v1/nope", "/api/v1/me/", "/api/v1/accounts/x/y/z"):
        r = get(world, path)
        assert r.status_code == 404, path
        assert r.json()["error"]["code"] == "not_found"


def test_a_method_the_operation_does_not_take_is_a_json_405(world):
    r = get(world, "/api/v1/me", method="delete")
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"
    assert r["Allow"] == "GET"


def test_the_api_docs_page_keeps_the_pages_headers(world):
    r = Client().get("/api/v1/docs")
    assert r.status_code == 200
    assert "Content-Security-Policy" in r and r["X-Frame-Options"] == "DENY"


def test_pages_still_pass_through_the_whole_chain(world):
    r = Client().get("/signin/")
    assert r.status_code == 200
    assert "Content-Security-Policy" in r and "csrftoken" in r.cookies


def test_a_fault_of_ours_is_a_json_500_and_logged(world, monkeypatch, caplog):
    from seatplan.api import accounts

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(accounts, "account_json", broken)
    with caplog.at_level("ERROR", logger="seatplan.api.main"):
        r = get(world, f"/api/v1/accounts/{world.account.pk}")
    assert r.status_code == 500
    assert r.json() == {
        "error": {
            "code": "internal_error",
            "message": "Something went wrong on our side; please try again.",
            "param": None,
        }
    }
    assert any("boom" in (record.exc_text or str(record.exc_info)) for record in caplog.records)


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type"),
    [
        ("get", "/api/v1/subscriptions/sub_%00x", None, None),
        ("get", "/api/v1/accounts?q=%00", None, None),
        (
            "post",
            "/api/v1/accounts/{a}/quotes",
            '{"subscription": "s\\u0000", "billing_cycle": "month", "quantity": 2}',
            "application/json",
        ),
        ("patch", "/api/v1/accounts/{a}", '{"name": "Acme\\u0000"}', "application/json"),
        ("post", "/settings/account/", "name=Acme%00", "application/x-www-form-urlencoded"),
    ],
)
def test_a_nul_character_is_refused_before_anything_reads_it(world, method, path, body, content_type):
    from seatplan.accounts.models import Account

    client = Client()
    client.force_login(world.members["owner"].user)
    kwargs = {"HTTP_AUTHORIZATION": f"Bearer {world.keys['owner']}"}
    if body is not None:
        kwargs.update(data=body, content_type=content_type)
    r = getattr(client, method)(path.format(a=world.account.pk), **kwargs)
    assert r.status_code == 400
    if path.startswith("/api/"):
        assert r.json()["error"]["code"] == "malformed_request"
    assert Account.objects.get(pk=world.account.pk).name == "Acme"


def test_a_backslash_u_typed_as_text_is_not_a_nul(world):
    r = world.api("owner").patch(f"/accounts/{world.account.pk}", {"name": "Acme \\u0000 Ltd"})
    assert r.status_code == 200 and r.json()["name"] == "Acme \\u0000 Ltd"
