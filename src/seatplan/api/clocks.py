"""Test clocks (operators, sandbox only)."""

from django.http import HttpRequest, JsonResponse
from ninja import Router
from ninja.decorators import decorate_view

from seatplan.api import schemas
from seatplan.api.auth import require_operator
from seatplan.api.context import principal, wall_now
from seatplan.api.idempotency import idempotent
from seatplan.billing.errors import BillingError
from seatplan.clocks import services
from seatplan.clocks.models import TestClock
from seatplan.subscriptions.serialize import iso

router = Router(tags=["Test clocks"])


def clock_json(clock: TestClock) -> dict:
    return {
        "id": clock.pk,
        "frozen_time": iso(clock.frozen_time),
        "accounts": list(clock.accounts.values_list("pk", flat=True)),
    }


@router.post("/test_clocks")
@decorate_view(idempotent())
def clock_create(request: HttpRequest, payload: schemas.TestClockCreate) -> JsonResponse:
    actor = require_operator(principal(request))
    clock = services.test_clock_create(actor=actor, frozen_time=payload.frozen_time, now=wall_now(request))
    return JsonResponse(clock_json(clock), status=201)


def _clock(clock_id: str) -> TestClock:
    clock = TestClock.objects.filter(pk=clock_id).first()
    if clock is None:
        raise BillingError("not_found", "No such test clock.")
    return clock


@router.get("/test_clocks/{clock_id}")
def clock_get(request: HttpRequest, clock_id: str) -> JsonResponse:
    require_operator(principal(request))
    return JsonResponse(clock_json(_clock(clock_id)))


@router.post("/test_clocks/{clock_id}/advance")
@decorate_view(idempotent())
def clock_advance(request: HttpRequest, clock_id: str, payload: schemas.TestClockAdvance) -> JsonResponse:
    actor = require_operator(principal(request))
    clock = services.test_clock_advance(actor=actor, clock=_clock(clock_id), frozen_time=payload.frozen_time)
    return JsonResponse(clock_json(clock))
