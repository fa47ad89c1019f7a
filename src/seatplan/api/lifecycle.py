"""Subscriptions over time: scheduled changes and trials."""

from django.http import HttpRequest, JsonResponse
from ninja import Router
from ninja.decorators import decorate_view
from pydantic import StrictInt

from seatplan.api.auth import account_access
from seatplan.api.context import now_for, principal
from seatplan.api.idempotency import idempotent
from seatplan.api.schemas import Body
from seatplan.api.serializers import subscription_json
from seatplan.api.subscriptions import subscription_access
from seatplan.subscriptions.scheduled import subscription_schedule_decrease, subscription_scheduled_change_clear
from seatplan.subscriptions.trials import trial_start

router = Router(tags=["Subscriptions"])


class ScheduledChangeIn(Body):
    quantity: StrictInt


class TrialIn(Body):
    product: str = "testcloud"


@router.post("/subscriptions/{subscription_id}/scheduled_change")
@decorate_view(idempotent())
def scheduled_change_set(request: HttpRequest, subscription_id: str, payload: ScheduledChangeIn) -> JsonResponse:
    subscription, account, actor = subscription_access(request, subscription_id)
    subscription = subscription_schedule_decrease(
        actor=actor, subscription=subscription, quantity=payload.quantity, now=now_for(request, account)
    )
    return JsonResponse(subscription_json(subscription))


@router.delete("/subscriptions/{subscription_id}/scheduled_change")
def scheduled_change_clear(request: HttpRequest, subscription_id: str) -> JsonResponse:
    subscription, account, actor = subscription_access(request, subscription_id)
    subscription = subscription_scheduled_change_clear(
        actor=actor, subscription=subscription, now=now_for(request, account)
    )
    return JsonResponse(subscription_json(subscription))


@router.post("/accounts/{account_id}/trials")
@decorate_view(idempotent())
def trial_create(request: HttpRequest, account_id: str, payload: TrialIn) -> JsonResponse:
    account, actor = account_access(principal(request), account_id)
    subscription = trial_start(
        actor=actor, account=account, product_code=payload.product, now=now_for(request, account)
    )
    return JsonResponse(subscription_json(subscription), status=201)
