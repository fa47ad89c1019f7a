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
    assert r.json() == {"error": {"code": "internal_error",
                                  "message": "Something went wrong on our side; please try again.", "param": None}}
    assert any("boom" in (record.exc_text or str(record.exc_info)) for record in caplog.records)
