"""Error bodies and statuses exactly as API.md: {"error": {"code", "message", "param"}}."""

from django.http import JsonResponse

# Codes whose status is not 422 (invalid value, the default for a BillingError).
STATUS_BY_CODE = {
    "malformed_request": 400,
    "parameter_missing": 400,
    "idempotency_key_missing": 400,
    "unauthenticated": 401,
    "card_declined": 402,
    "insufficient_funds": 402,
    "processing_error": 402,
    "payment_method_missing": 402,
    "permission_denied": 403,
    "no_active_subscription": 403,
    "sandbox_only": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "idempotency_key_reused": 409,
    "idempotency_key_in_use": 409,
    "annual_to_monthly_not_allowed": 409,
    "annual_subscription_active": 409,
    "subscription_active": 409,
    "subscription_past_due": 409,
    "subscription_ended": 409,
    "trial_already_used": 409,
    "quote_expired": 409,
    "quote_used": 409,
    "quote_stale": 409,
    "lease_not_active": 409,
    "member_exists": 409,
    "owner_required": 409,
    "product_exists": 409,
    "discount_code_exists": 409,
    "price_not_found": 409,
    "session_limit_reached": 429,
    "rate_limited": 429,
}
# discount_exhausted is 422 at quote time and 409 at checkout (API.md): the checkout sets it.


def error_response(code: str, message: str, param: str | None = None, status: int | None = None) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": message, "param": param}},
        status=status or STATUS_BY_CODE.get(code, 422),
    )
