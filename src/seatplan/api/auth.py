"""Bearer API keys, and what the caller may see of an account."""

from dataclasses import dataclass

from django.http import HttpRequest
from ninja.security import HttpBearer

from seatplan.accounts.models import Account, ApiKey, Membership, User
from seatplan.accounts.permissions import Actor
from seatplan.accounts.services import hash_api_key
from seatplan.billing.errors import BillingError
from seatplan.sqlrows import Columns, fetch_one


@dataclass(frozen=True)
class Principal:
    user: User
    key: ApiKey
    # The key's own account and the user's role there, read with the key (None: not a member).
    account: Account | None = None
    role: str | None = None

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
        principal = _principal_for(hash_api_key(token.strip()))
    request._principal = principal  # type: ignore[attr-defined]
    return principal


_KEY, _USER = Columns(ApiKey, "k"), Columns(User, "u")
_MEMBER, _ACCOUNT = Columns(Membership, "m"), Columns(Account, "a")
# The key, its user, and the user's membership in the key's account with that account: one query on
# every request (an operator key has no account: the outer joins find nothing).
_PRINCIPAL_SQL = (
    f"SELECT {_KEY.sql}, {_USER.sql}, {_MEMBER.sql}, {_ACCOUNT.sql} FROM accounts_apikey k "  # noqa: S608
    "JOIN accounts_user u ON u.id = k.user_id "
    "LEFT JOIN accounts_membership m ON m.account_id = k.account_id AND m.user_id = k.user_id "
    "LEFT JOIN accounts_account a ON a.id = m.account_id "
    "WHERE k.key_hash = %s AND k.revoked_at IS NULL"
)


def _principal_for(key_hash: str) -> Principal | None:
    row = fetch_one(_PRINCIPAL_SQL, [key_hash])
    if row is None:
        return None
    offset = 0
    key = _KEY.build(row, offset)
    offset += _KEY.width
    user = _USER.build(row, offset)
    offset += _USER.width
    membership = _MEMBER.build_or_none(row, offset)
    account = _ACCOUNT.build_or_none(row, offset + _MEMBER.width)
    if not (user.is_active and (key.account_id or user.is_staff)):
        return None
    key.user = user
    return Principal(user=user, key=key, account=account, role=membership.role if membership else None)


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
        if principal.key.account_id != account_id or principal.account is None:
            raise BillingError("not_found", "No such account.")
        account, role = principal.account, principal.role
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
