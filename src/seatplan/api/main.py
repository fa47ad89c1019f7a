"""The REST API under /api/v1 (API.md), its error handlers and OpenAPI document."""

import logging

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from seatplan.api.auth import ApiKeyAuth
from seatplan.api.errors import error_response
from seatplan.billing.errors import BillingError

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="Seatplan API",
    version="1",
    description="Subscriptions, quotes and checkout, invoices and run-time sessions. "
    "Authenticate with `Authorization: Bearer <api key>`.",
    auth=ApiKeyAuth(),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


@api.exception_handler(BillingError)
def on_billing_error(request: HttpRequest, exc: BillingError) -> HttpResponse:
    return error_response(exc.code, exc.message, exc.param, status=getattr(exc, "status", None))


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response("unauthenticated", "Send a valid API key as 'Authorization: Bearer <key>'.")


@api.exception_handler(ValidationError)
def on_invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    error = exc.errors[0] if exc.errors else {}
    kind = error.get("type", "")
    # The field's name: not the list index of an item in it, nor where the value came from.
    location = [
        part
        for part in error.get("loc", ())
        if isinstance(part, str) and part not in ("body", "query", "path", "payload")
    ]
    param = location[-1] if location else None
    if kind == "json_invalid" or (kind == "model_attributes_type" and not location):
        return error_response("malformed_request", "The body is not a JSON object.", None, status=400)
    if kind == "missing":
        return error_response("parameter_missing", f"{param} is required.", param, status=400)
    if kind == "extra_forbidden":
        return error_response("parameter_unknown", f"Unknown field {param!r}.", param, status=422)
    message = str(error.get("msg", "Invalid value."))
    return error_response(f"{param}_invalid" if param else "value_invalid", f"{param}: {message}", param)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = {400: "malformed_request", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
    return error_response(code, str(exc), None, status=exc.status_code)


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A fault of ours, not of the request: logged with its traceback, answered in the API's error shape."""
    logger.error("Internal Server Error: %s", request.path, exc_info=exc)
    return error_response("internal_error", "Something went wrong on our side; please try again.", None, status=500)


def _register_routers() -> None:
    from seatplan.api import accounts, bench, billing, catalog, clocks, lifecycle, sessions, subscriptions

    # URL patterns are tried in this order: the test cloud's calls (sessions) and checkout come first.
    for module in (sessions, billing, accounts, catalog, subscriptions, lifecycle, clocks, bench):
        api.add_router("", module.router)


_register_routers()
