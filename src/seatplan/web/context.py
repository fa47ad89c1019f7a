"""The account a signed-in person is looking at, their role there, and the account's time."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from seatplan.accounts.models import Account, Membership, User
from seatplan.accounts.permissions import Actor, Capability
from seatplan.billing.errors import BillingError
from seatplan.clocks.clock import get_clock
from seatplan.clocks.services import account_now

SESSION_ACCOUNT = "account_id"


@dataclass(frozen=True)
class Here:
    account: Account
    membership: Membership
    actor: Actor
    now: datetime  # the account's time (its test clock's, in the sandbox)
    memberships: list[Membership]

    def can(self, capability: Capability) -> bool:
        return self.actor.can(capability)


class SignedInRequest(HttpRequest):
    """A request `login_required` let through: its user is a real one."""

    user: User  # type: ignore[assignment]


class AccountRequest(SignedInRequest):
    """A request of an account page: `account_page` sets `here`."""

    here: Here


def here_for(request: SignedInRequest) -> Here:
    memberships = list(Membership.objects.select_related("account").filter(user=request.user).order_by("account__name"))
    if not memberships:
        raise PermissionDenied("You are not a member of any account.")
    chosen = request.session.get(SESSION_ACCOUNT)
    membership = next((m for m in memberships if m.account_id == chosen), memberships[0])
    account = membership.account
    actor = Actor(user=request.user, role=membership.role)
    return Here(
        account=account,
        membership=membership,
        actor=actor,
        now=account_now(account, get_clock().now()),
        memberships=memberships,
    )


def account_page(capability: Capability = Capability.VIEW) -> Callable:
    """Signed in, in an account, with `capability` there (403 otherwise); BillingErrors map to 403/404."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            request.here = here = here_for(cast(SignedInRequest, request))  # type: ignore[attr-defined]
            if not here.can(capability):
                raise PermissionDenied("Your role does not allow this page.")
            try:
                return view(request, *args, **kwargs)
            except BillingError as error:
                if error.code == "permission_denied":
                    raise PermissionDenied(error.message) from error
                if error.code == "not_found":
                    raise Http404(error.message) from error
                raise

        return wrapper

    return decorator


def safe_next(request: HttpRequest, default: str) -> str:
    """A same-site `next` address from the form, or the default (no open redirects)."""
    from django.shortcuts import resolve_url
    from django.utils.http import url_has_allowed_host_and_scheme

    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}):
        return candidate
    return resolve_url(default)
