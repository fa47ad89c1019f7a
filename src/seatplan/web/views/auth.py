"""Sign-in, sign-out, account switcher."""

from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from seatplan.accounts.models import Membership
from seatplan.billing.errors import BillingError
from seatplan.clocks.clock import get_clock
from seatplan.web.context import SESSION_ACCOUNT, SignedInRequest
from seatplan.web.signin import signin_check


def home(request: HttpRequest) -> HttpResponse:
    return redirect("web:subscriptions" if request.user.is_authenticated else "web:signin")


def signin(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    error, email, status = None, "", 200
    if request.method == "POST":
        email = request.POST.get("email", "")
        try:
            user = signin_check(
                request=request, email=email, password=request.POST.get("password", ""), now=get_clock().now()
            )
        except BillingError as refused:
            error, status = refused.message, 429 if refused.code == "rate_limited" else 200
        else:
            login(request, user)
            return redirect(next_url or "web:subscriptions")
    return render(request, "web/signin.html", {"error": error, "email": email, "next": next_url}, status=status)


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("web:signin")


@login_required
@require_POST
def switch_account(request: SignedInRequest) -> HttpResponse:
    account_id = request.POST.get("account", "")
    if Membership.objects.filter(user=request.user, account_id=account_id).exists():
        request.session[SESSION_ACCOUNT] = account_id
    return redirect("web:subscriptions")
