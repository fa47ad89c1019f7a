"""`Idempotency-Key` on POSTs: a view decorator around the whole operation (auth included)."""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse, JsonResponse

from seatplan.api.auth import principal_from_request
from seatplan.api.errors import error_response
from seatplan.billing.errors import BillingError
from seatplan.clocks.clock import get_clock
from seatplan.idempotency.services import (
    EncodedJson,
    Replay,
    idempotency_begin,
    idempotency_finish,
    request_fingerprint,
)


def idempotent(*, required: bool = False) -> Callable:
    def decorator(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(run)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            principal = principal_from_request(request)
            key = request.headers.get("Idempotency-Key")
            if principal is None:
                return run(request, *args, **kwargs)  # answered 401 by the operation
            if key is None:
                if required:
                    return error_response("idempotency_key_missing", "Send an Idempotency-Key header.")
                return run(request, *args, **kwargs)
            fingerprint = request_fingerprint(request.method or "", request.path, request.body)
            try:
                claimed = idempotency_begin(
                    scope=principal.scope, key=key, fingerprint=fingerprint, now=get_clock().now()
                )
            except BillingError as error:
                return error_response(error.code, error.message, error.param)
            if isinstance(claimed, Replay):
                return JsonResponse(claimed.body, status=claimed.status_code, safe=False)
            request.idempotency_claim = claimed  # type: ignore[attr-defined]  # for record_with_change
            try:
                response = run(request, *args, **kwargs)
            except BaseException:
                idempotency_finish(claimed, status_code=500, body=None)
                raise
            if getattr(request, "idempotency_recorded", None) is response:
                return response  # recorded by the operation, in the transaction that made the change
            json_body = response.content and response.get("Content-Type", "").startswith("application/json")
            idempotency_finish(
                claimed, status_code=response.status_code, body=EncodedJson(response.content) if json_body else None
            )
            return response

        return wrapper

    return decorator


def record_with_change(request: HttpRequest, response: JsonResponse) -> None:
    """Record `response` as the answer to the request's Idempotency-Key now, inside the transaction that
    makes the change it reports, so that the two commit together (no key left "in progress" by a crash
    between them, and no statement of its own). The operation must then return this very response; any
    other (an error after all) is recorded by `idempotent` as usual."""
    claimed = getattr(request, "idempotency_claim", None)
    if claimed is None:
        return
    idempotency_finish(claimed, status_code=response.status_code, body=EncodedJson(response.content))
    request.idempotency_recorded = response  # type: ignore[attr-defined]
