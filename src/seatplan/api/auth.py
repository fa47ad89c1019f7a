"""Bearer API keys, and what the caller may see of an account."""

from dataclasses import dataclass

from django.http import HttpRequest
from ninja.security import HttpBearer

from seatplan.accounts.models import Account, ApiKey, Membership, User
from seatplan.accounts.permissions import Actor
from seatplan.accounts.services import hash_api_key
from seatplan.billing.errors import BillingError


@dataclass(frozen=True)
class Principal:
    user: User
    key: ApiKey

    @property
    def is_operator(self) -> bool:
        return self.key.account_id is None and self.user.is_staff

    @property
    def scope(self) -> str:
        """Idempotency keys are scoped to the key's account (or to the operator)."""
        return self.key.account_id or f"op:{self.user.pk}"


def principal_from_request(request: HttpRequest) -> Principal | None:
    """Authenticate once per request; the result is kept on the request."""
    if hasattr(request, "_principal"):
        return request._principal  # type: ignore[attr-defined]
    principal = None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        key = (ApiKey.objects.select_related("user")
               .filter(key_hash=hash_api_key(token.strip()), revoked_at__isnull=True).first())
        if key is not None and key.user.is_active and (key.account_id or key.user.is_staff):
            principal = Principal(user=key.user, key=key)
    request._principal = principal  # type: ignore[attr-defined]
    return principal


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Principal | None:
        return principal_from_request(request)


def account_access(principal: Principal, account_id: str) -> tuple[Account, Actor]:
    """The account and the caller's actor there; another account's is 404, never 403."""
    if principal.is_operator:
        account = Account.objects.filter(pk=account_id).first()
        if account is None:
            raise BillingError("not_found", "No such account.")
        role = None
    else:
        if principal.key.account_id != account_id:
            raise BillingError("not_found", "No such account.")
        membership = (Membership.objects.select_related("account")
                      .filter(account_id=account_id, user_id=principal.user.pk).first())
        if membership is None:
            raise BillingError("not_found", "No such account.")
        account, role = membership.account, membership.role
    return account, Actor(user=principal.user, role=role, is_operator=principal.is_operator)


def scoped(principal: Principal, queryset, pk: str, what: str):  # noqa: ANN001, ANN201
    """One object of the caller's account by id, or 404."""
    if not principal.is_operator:
        queryset = queryset.filter(account_id=principal.key.account_id)
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise BillingError("not_found", f"No such {what}.")
    return obj


def require_operator(principal: Principal) -> Actor:
    if not principal.is_operator:
        raise BillingError("permission_denied", "This is an operator call.")
    return Actor(user=principal.user, is_operator=True)
