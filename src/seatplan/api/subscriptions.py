"""Subscriptions: list, get, cancel, reactivate."""

from django.http import HttpRequest, JsonResponse
from ninja import Router
from ninja.decorators import decorate_view

from seatplan.api.auth import account_access
from seatplan.api.context import now_for, principal
from seatplan.api.idempotency import idempotent
from seatplan.api.pagination import paginate
from seatplan.api.serializers import subscription_json
from seatplan.billing.errors import BillingError
from seatplan.subscriptions import services
from seatplan.subscriptions.models import Subscription

router = Router(tags=["Subscriptions"])

_subscriptions = Subscription.objects.select_related("product", "discount_code", "account")


def subscription_access(request: HttpRequest, subscription_id: str):  # noqa: ANN201
    """The subscription, its account and the caller's actor there (404 for another account's)."""
    subscription = _subscriptions.filter(pk=subscription_id).first()
    caller = principal(request)
    if subscription is None or not (caller.is_operator or subscription.account_id == caller.key.account_id):
        raise BillingError("not_found", "No such subscription.")
    account, actor = account_access(caller, subscription.account_id)
    return subscription, account, actor


@router.get("/accounts/{account_id}/subscriptions")
def subscription_list(
    request: HttpRequest, account_id: str, limit: int = 20, cursor: str | None = None
) -> JsonResponse:
    account, _ = account_access(principal(request), account_id)
    return JsonResponse(
        paginate(_subscriptions.filter(account=account), limit=limit, cursor=cursor, to_json=subscription_json)
    )


@router.get("/subscriptions/{subscription_id}")
def subscription_get(request: HttpRequest, subscription_id: str) -> JsonResponse:
    subscription, _, _ = subscription_access(request, subscription_id)
    return JsonResponse(subscription_json(subscription))


@router.post("/subscriptions/{subscription_id}/cancel")
@decorate_view(idempotent())
def subscription_cancel(request: HttpRequest, subscription_id: str) -> JsonResponse:
    subscription, account, actor = subscription_access(request, subscription_id)
    subscription = services.subscription_cancel(actor=actor, subscription=subscription, now=now_for(request, account))
    return JsonResponse(subscription_json(subscription))


@router.post("/subscriptions/{subscription_id}/reactivate")
@decorate_view(idempotent())
def subscription_reactivate(request: HttpRequest, subscription_id: str) -> JsonResponse:
    subscription, account, actor = subscription_access(request, subscription_id)
    subscription = services.subscription_reactivate(
        actor=actor, subscription=subscription, now=now_for(request, account)
    )
    return JsonResponse(subscription_json(subscription))
