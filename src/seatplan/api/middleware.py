"""API calls skip the middleware that only the HTML pages use, and every API answer is JSON."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from seatplan.api.errors import error_response

API_PREFIX = "/api/v1/"
# The API's own documentation page is HTML: it keeps the pages' chain (Content-Security-Policy, frame options).
_PAGE_VIEWS = frozenset({"openapi-view", "openapi-json"})


class ApiShortcutMiddleware:
    """Calls an API operation straight after the security headers.

    Sessions, CSRF, sign-in, messages, CSP, frame options, htmx and static files serve the HTML pages; an
    /api/v1/ call authenticates with its key and answers JSON, so it needs none of them, and passing
    through them cost about a twentieth of a lease request's server CPU. Under /api/v1/, a path that names
    no operation is a JSON 404 `not_found` and a method the operation does not take a JSON 405
    `method_not_allowed` (with its `Allow` header), like every other API error.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return error_response("not_found", f"No API operation at {request.path_info}.")
        if match.url_name in _PAGE_VIEWS:
            return self.get_response(request)
        request.resolver_match = match
        response = match.func(request, *match.args, **match.kwargs)
        if response.status_code == 405 and response.get("Content-Type", "").startswith("text/"):
            allowed = response.get("Allow", "")
            response = error_response("method_not_allowed", f"{request.method} is not allowed here; use {allowed}.")
            response["Allow"] = allowed
        if not response.streaming and "Content-Length" not in response:
            response["Content-Length"] = str(len(response.content))
        return response
