"""Sessions at run time: leases, queue, usage (API.md "Sessions at run time")."""

from datetime import datetime
from types import SimpleNamespace

from django.http import HttpRequest, JsonResponse
from ninja import Router
from ninja.decorators import decorate_view
from pydantic import StrictInt

from seatplan.accounts.permissions import Actor, Capability
from seatplan.api.auth import account_access
from seatplan.api.context import now_for, principal, wall_now
from seatplan.api.idempotency import idempotent
from seatplan.api.schemas import Body
from seatplan.billing.errors import BillingError
from seatplan.clocks.services import account_now
from seatplan.leases import services
from seatplan.leases.models import LeaseStatus, SessionLease
from seatplan.leases.selectors import usage_now
from seatplan.sqlrows import Columns, fetch_one
from seatplan.subscriptions.serialize import iso

router = Router(tags=["Sessions at run time"])


class LeaseRequest(Body):
    run_type: str
    ttl_seconds: StrictInt | None = None


def lease_json(lease: SessionLease, position: int | None = None) -> dict:
    return {
        "id": lease.pk,
        "account": lease.account_id,
        "run_type": lease.run_type,
        "status": lease.status,
        "position": position,
        "expires_at": iso(lease.expires_at),
        "created_at": iso(lease.created_at),
    }


def _member_access(request: HttpRequest, account_id: str) -> tuple[Actor, datetime]:
    """The caller's actor in the account and the account's time, without a query of its own.

    The hot path's version of `account_access` (same rules: another account's is 404); operators
    take the general path.
    """
    caller = principal(request)
    if caller.is_operator:
        account, actor = account_access(caller, account_id)
        return actor, now_for(request, account)
    # Authentication read the key's account and the caller's role there with the key itself.
    if caller.key.account_id != account_id or caller.account is None or caller.role is None:
        raise BillingError("not_found", "No such account.")
    return Actor(user=caller.user, role=caller.role), account_now(caller.account, wall_now(request))


# A lease of the caller's account with the caller's role there and the account's test clock.
_LEASE = Columns(SessionLease, "l")
_LEASE_ACCESS_SQL = (
    f"SELECT {_LEASE.sql}, m.role, a.test_clock_id FROM leases_sessionlease l "  # noqa: S608 - model columns
    "JOIN accounts_account a ON a.id = l.account_id "
    "JOIN accounts_membership m ON m.account_id = l.account_id AND m.user_id = %s "
    "WHERE l.id = %s AND l.account_id = %s"
)


def _lease_access(request: HttpRequest, lease_id: str) -> tuple[SessionLease, Actor, datetime]:
    """A lease of the caller's account (else 404), the caller's actor and the account's time."""
    caller = principal(request)
    if caller.is_operator:
        lease = SessionLease.objects.filter(pk=lease_id).first()
        if lease is None:
            raise BillingError("not_found", "No such session lease.")
        return lease, *_member_access(request, lease.account_id)
    row = fetch_one(_LEASE_ACCESS_SQL, [caller.user.pk, lease_id, caller.key.account_id])
    if row is None:
        raise BillingError("not_found", "No such session lease.")
    role, test_clock_id = row[_LEASE.width :]
    now = account_now(SimpleNamespace(test_clock_id=test_clock_id), wall_now(request))
    return _LEASE.build(row), Actor(user=caller.user, role=role), now


@router.post("/accounts/{account_id}/sessions")
@decorate_view(idempotent(required=True))
def session_acquire(request: HttpRequest, account_id: str, payload: LeaseRequest) -> JsonResponse:
    """201 granted; 202 queued with its position; 429 past the queue; 403 with nothing live."""
    actor, now = _member_access(request, account_id)
    lease = services.lease_acquire(
        actor=actor, account_id=account_id, run_type=payload.run_type, ttl_seconds=payload.ttl_seconds, now=now
    )
    if lease.status == LeaseStatus.GRANTED:
        return JsonResponse(lease_json(lease), status=201)
    return JsonResponse(lease_json(lease, position=lease.position), status=202)  # type: ignore[attr-defined]


@router.get("/sessions/{lease_id}")
def session_get(request: HttpRequest, lease_id: str) -> JsonResponse:
    lease, actor, now = _lease_access(request, lease_id)
    actor.require_read(Capability.VIEW)
    lease = services.lease_refresh(lease=lease, now=now)
    return JsonResponse(lease_json(lease, position=services.lease_position(lease)))


@router.post("/sessions/{lease_id}/heartbeat")
@decorate_view(idempotent())
def session_heartbeat(request: HttpRequest, lease_id: str) -> JsonResponse:
    lease, actor, now = _lease_access(request, lease_id)
    lease = services.lease_heartbeat(actor=actor, lease=lease, now=now)
    return JsonResponse(lease_json(lease))


@router.delete("/sessions/{lease_id}")
def session_release(request: HttpRequest, lease_id: str) -> JsonResponse:
    lease, actor, now = _lease_access(request, lease_id)
    lease = services.lease_release(actor=actor, lease=lease, now=now)
    return JsonResponse(lease_json(lease, position=services.lease_position(lease)))


@router.get("/accounts/{account_id}/usage")
def usage(request: HttpRequest, account_id: str) -> JsonResponse:
    account, actor = account_access(principal(request), account_id)
    actor.require_read(Capability.VIEW)
    now = now_for(request, account)
    services.lease_queue_grant(account_id=account.pk, now=now)
    return JsonResponse(usage_now(account, now))
