"""Me, accounts, members, ownership and API keys."""

from django.http import HttpRequest, JsonResponse
from ninja import Router
from ninja.decorators import decorate_view

from seatplan.accounts import services
from seatplan.accounts.models import Account, Membership
from seatplan.api import schemas
from seatplan.api.auth import account_access, require_operator
from seatplan.api.context import now_for, principal, wall_now
from seatplan.api.idempotency import idempotent
from seatplan.api.pagination import paginate
from seatplan.api.serializers import account_json, member_json
from seatplan.billing.errors import BillingError

router = Router(tags=["Accounts and people"])


@router.get("/me")
def me(request: HttpRequest) -> JsonResponse:
    caller = principal(request)
    body: dict = {
        "user": {"id": caller.user.pk, "email": caller.user.email, "name": caller.user.name},
        "operator": caller.is_operator,
        "account": None,
        "role": None,
    }
    if caller.key.account_id:
        account, actor = account_access(caller, caller.key.account_id)
        body.update(account=account_json(account), role=actor.role)
    return JsonResponse(body)


@router.post("/accounts")
@decorate_view(idempotent())
def account_create(request: HttpRequest, payload: schemas.AccountCreate) -> JsonResponse:
    actor = require_operator(principal(request))
    account = services.account_create(
        actor=actor,
        name=payload.name,
        owner_email=payload.owner_email,
        currency=payload.currency,
        test_clock_id=payload.test_clock,
        now=wall_now(request),
    )
    return JsonResponse(account_json(account), status=201)


@router.get("/accounts")
def account_list(request: HttpRequest, q: str = "", limit: int = 20, cursor: str | None = None) -> JsonResponse:
    require_operator(principal(request))
    accounts = Account.objects.all()
    if q.strip():
        from django.db.models import Q

        accounts = accounts.filter(
            Q(name__icontains=q.strip()) | Q(memberships__user__email__icontains=q.strip())
        ).distinct()
    return JsonResponse(paginate(accounts, limit=limit, cursor=cursor, to_json=account_json))


@router.get("/accounts/{account_id}")
def account_get(request: HttpRequest, account_id: str) -> JsonResponse:
    account, _ = account_access(principal(request), account_id)
    return JsonResponse(account_json(account))


@router.patch("/accounts/{account_id}")
def account_update(request: HttpRequest, account_id: str, payload: schemas.AccountUpdate) -> JsonResponse:
    """Account settings: the Owner renames the account."""
    account, actor = account_access(principal(request), account_id)
    account = services.account_rename(actor=actor, account=account, name=payload.name, now=now_for(request, account))
    return JsonResponse(account_json(account))


@router.patch("/accounts/{account_id}/billing_details")
def billing_details_update(request: HttpRequest, account_id: str, payload: schemas.BillingDetails) -> JsonResponse:
    account, actor = account_access(principal(request), account_id)
    account = services.billing_details_update(
        actor=actor, account=account, details=payload.model_dump(exclude_unset=True), now=now_for(request, account)
    )
    return JsonResponse(account_json(account))


def _membership(account: Account, member_id: str) -> Membership:
    membership = Membership.objects.select_related("user").filter(account=account, pk=member_id).first()
    if membership is None:
        raise BillingError("not_found", "No such member.", "member")
    return membership


@router.get("/accounts/{account_id}/members")
def member_list(request: HttpRequest, account_id: str, limit: int = 100, cursor: str | None = None) -> JsonResponse:
    account, _ = account_access(principal(request), account_id)
    members = Membership.objects.select_related("user").filter(account=account)
    return JsonResponse(paginate(members, limit=limit, cursor=cursor, to_json=member_json))


@router.post("/accounts/{account_id}/members")
@decorate_view(idempotent())
def member_add(request: HttpRequest, account_id: str, payload: schemas.MemberAdd) -> JsonResponse:
    account, actor = account_access(principal(request), account_id)
    membership = services.member_add(
        actor=actor, account=account, email=payload.email, role=payload.role, now=now_for(request, account)
    )
    return JsonResponse(member_json(membership), status=201)


@router.patch("/accounts/{account_id}/members/{member_id}")
def member_update(request: HttpRequest, account_id: str, member_id: str, payload: schemas.MemberUpdate) -> JsonResponse:
    account, actor = account_access(principal(request), account_id)
    membership = services.member_change_role(
        actor=actor, membership=_membership(account, member_id), role=payload.role, now=now_for(request, account)
    )
    return JsonResponse(member_json(membership))


@router.delete("/accounts/{account_id}/members/{member_id}")
def member_remove(request: HttpRequest, account_id: str, member_id: str) -> JsonResponse:
    account, actor = account_access(principal(request), account_id)
    membership = _membership(account, member_id)
    body = member_json(membership)
    services.member_remove(actor=actor, membership=membership, now=now_for(request, account))
    return JsonResponse({**body, "deleted": True})


@router.post("/accounts/{account_id}/transfer_ownership")
@decorate_view(idempotent())
def ownership_transfer(request: HttpRequest, account_id: str, payload: schemas.OwnershipTransfer) -> JsonResponse:
    account, actor = account_access(principal(request), account_id)
    target = Membership.objects.filter(account=account, pk=payload.member).first()
    if target is None:
        raise BillingError("not_found", "No such member.", "member")
    membership = services.ownership_transfer(
        actor=actor, account=account, membership=target, now=now_for(request, account)
    )
    return JsonResponse(member_json(membership))


@router.post("/accounts/{account_id}/api_keys")
@decorate_view(idempotent())
def api_key_create(request: HttpRequest, account_id: str, payload: schemas.ApiKeyCreate) -> JsonResponse:
    account, actor = account_access(principal(request), account_id)
    key, secret = services.api_key_create(
        actor=actor, account=account, name=payload.name, user_email=payload.user_email, now=now_for(request, account)
    )
    return JsonResponse(
        {
            "id": key.pk,
            "key": secret,
            "name": key.name,
            "account": account.pk,
            "user": key.user.email,
            "created_at": key.created_at.isoformat(),
        },
        status=201,
    )
