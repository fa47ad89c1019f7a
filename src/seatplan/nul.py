"""Requests carrying the NUL character are refused before anything reads them.

PostgreSQL's text cannot hold U+0000: a NUL in an id, a name or a form field would fail the query that
stores or compares it (a 500 on PostgreSQL, while SQLite takes it). No valid input contains one, so a request
with a NUL in its path, query string or body is answered 400 at once: `malformed_request` in the API's
error shape under /api/v1/, a plain 400 for the pages.
"""

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from seatplan.api.errors import error_response
from seatplan.api.middleware import API_PREFIX

MESSAGE = "Text may not contain the NUL character (U+0000)."


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def request_holds_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path_info or "%00" in request.META.get("QUERY_STRING", ""):
        return True
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    body = request.body
    if b"\x00" in body:
        return True
    if request.content_type == "application/x-www-form-urlencoded":
        return b"%00" in body
    if b"\\u0000" in body:  # perhaps a NUL escaped in JSON: parse to be sure (a literal backslash-u is text)
        try:
            return _holds_nul(json.loads(body))
        except ValueError:
            return False  # not JSON: the view answers that
    return False


class RefuseNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request_holds_nul(request):
            if request.path_info.startswith(API_PREFIX):
                return error_response("malformed_request", MESSAGE, None, status=400)
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
