"""People and roles (SPEC §2): invite, change role, remove, transfer ownership."""

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from seatplan.accounts import services
from seatplan.accounts.models import Membership, Role
from seatplan.accounts.permissions import MANAGEABLE_ROLES, Capability
from seatplan.billing.errors import BillingError
from seatplan.subscriptions import deletion
from seatplan.subscriptions.models import LIVE_STATUSES, Subscription
from seatplan.web.context import SESSION_ACCOUNT, AccountRequest, account_page


def _member(request: AccountRequest, member_id: str) -> Membership:
    return get_object_or_404(Membership.objects.select_related("user"), pk=member_id, account=request.here.account)


@account_page()
def people(request: AccountRequest) -> HttpResponse:
    here = request.here
    members = Membership.objects.select_related("user").filter(account=here.account).order_by("created_at")
    manageable = MANAGEABLE_ROLES[here.membership.role] if here.can(Capability.MANAGE_PEOPLE) else set()
    grantable = [(value, label) for value, label in Role.choices if value in manageable]
    return render(
        request,
        "web/people.html",
        {
            "members": members,
            "manageable": manageable,
            "grantable": grantable,
            "can_manage": here.can(Capability.MANAGE_PEOPLE),
            "can_transfer": here.can(Capability.TRANSFER_OWNERSHIP),
        },
    )


def _act(request: AccountRequest, action, success: str) -> HttpResponse:  # noqa: ANN001
    try:
        action()
    except BillingError as refused:
        if refused.code == "permission_denied":
            raise
        messages.error(request, refused.message)
    else:
        messages.success(request, success)
    return redirect("web:people")


@account_page(Capability.MANAGE_PEOPLE)
@require_POST
def member_invite(request: AccountRequest) -> HttpResponse:
    here = request.here
    email, role = request.POST.get("email", "").strip(), request.POST.get("role", "")
    return _act(
        request,
        lambda: services.member_add(actor=here.actor, account=here.account, email=email, role=role, now=here.now),
        f"{email} was added and invited by e-mail.",
    )


@account_page(Capability.MANAGE_PEOPLE)
@require_POST
def member_role(request: AccountRequest, member_id: str) -> HttpResponse:
    here, member = request.here, _member(request, member_id)
    role = request.POST.get("role", "")
    return _act(
        request,
        lambda: services.member_change_role(actor=here.actor, membership=member, role=role, now=here.now),
        f"{member.user.email} is now {role.replace('_', ' ')}.",
    )


@account_page(Capability.MANAGE_PEOPLE)
def member_remove(request: AccountRequest, member_id: str) -> HttpResponse:
    here, member = request.here, _member(request, member_id)
    if request.method != "POST":
        return render(request, "web/member_remove.html", {"member": member})
    return _act(
        request,
        lambda: services.member_remove(actor=here.actor, membership=member, now=here.now),
        f"{member.user.email} was removed.",
    )


@account_page(Capability.TRANSFER_OWNERSHIP)
def ownership_transfer(request: AccountRequest) -> HttpResponse:
    here = request.here
    candidates = Membership.objects.select_related("user").filter(account=here.account).exclude(role=Role.OWNER)
    if request.method != "POST":
        return render(request, "web/transfer.html", {"candidates": candidates})
    target = get_object_or_404(Membership, pk=request.POST.get("member", ""), account=here.account)
    return _act(
        request,
        lambda: services.ownership_transfer(actor=here.actor, account=here.account, membership=target, now=here.now),
        "Ownership transferred. You are now an Admin.",
    )


@account_page(Capability.ACCOUNT_SETTINGS)
def account_settings(request: AccountRequest) -> HttpResponse:
    """The Owner's account settings: the account's name, and the way to delete it."""
    here = request.here
    name, error = here.account.name, None
    if request.method == "POST":
        name = request.POST.get("name", "")
        try:
            services.account_rename(actor=here.actor, account=here.account, name=name, now=here.now)
        except BillingError as refused:
            if refused.param != "name":
                raise
            error = refused
        else:
            messages.success(request, "The account's name is saved.")
            return redirect("web:account_settings")
    return render(request, "web/account_settings.html", {"name": name, "error": error}, status=422 if error else 200)


@account_page(Capability.ACCOUNT_SETTINGS)
def account_delete(request: AccountRequest) -> HttpResponse:
    """The Owner deletes the account, after typing its name (SPEC §2)."""
    here = request.here
    context = {"live": Subscription.objects.filter(account=here.account, status__in=LIVE_STATUSES).count()}
    if request.method != "POST":
        return render(request, "web/account_delete.html", context)
    try:
        account = deletion.account_delete(
            actor=here.actor,
            account_id=here.account.pk,
            confirm_name=request.POST.get("confirm_name", ""),
            now=here.now,
        )
    except BillingError as refused:
        if refused.code != "confirmation_invalid":
            raise
        return render(
            request,
            "web/account_delete.html",
            {**context, "error": refused, "entered": request.POST.get("confirm_name", "")},
            status=422,
        )
    request.session.pop(SESSION_ACCOUNT, None)
    if not Membership.objects.filter(user=request.user).exists():
        logout(request)  # nowhere left to go: signed out, the message shown on the sign-in page
        messages.success(request, f"{account.name} was deleted.")
        return redirect("web:signin")
    messages.success(request, f"{account.name} was deleted.")
    return redirect("web:home")
