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
            try:
                response = run(request, *args, **kwargs)
            except BaseException:
                idempotency_finish(claimed, status_code=500, body=None)
                raise
            json_body = response.content and response.get("Content-Type", "").startswith("application/json")
            idempotency_finish(
                claimed, status_code=response.status_code, body=EncodedJson(response.content) if json_body else None
            )
            return response

        return wrapper

    return decorator
