"""Settings > Subscription Management: the platform plan and the additional subscriptions."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from seatplan.accounts.permissions import Capability
from seatplan.billing.errors import BillingError
from seatplan.subscriptions import services
from seatplan.subscriptions.models import Status, Subscription
from seatplan.subscriptions.trials import trial_start
from seatplan.web.context import AccountRequest, account_page


def _subscription(request: AccountRequest, subscription_id: str) -> Subscription:
    return get_object_or_404(
        Subscription.objects.select_related("product", "discount_code"),
        pk=subscription_id,
        account=request.here.account,
    )


@account_page()
def subscription_management(request: AccountRequest) -> HttpResponse:
    here = request.here
    subscriptions = list(
        Subscription.objects.select_related("product", "discount_code")
        .filter(account=here.account)
        .order_by("status", "-created_at")
    )
    live_products = {s.product_id for s in subscriptions if s.is_live}
    return render(
        request,
        "web/subscriptions.html",
        {
            "subscriptions": subscriptions,
            "can_purchase": here.can(Capability.PURCHASE),
            "can_bill": here.can(Capability.BILLING),
            "can_subscribe": here.can(Capability.PURCHASE) and not live_products,
        },
    )


@account_page(Capability.PURCHASE)
def subscription_cancel(request: AccountRequest, subscription_id: str) -> HttpResponse:
    subscription = _subscription(request, subscription_id)
    if request.method == "POST":
        services.subscription_cancel(actor=request.here.actor, subscription=subscription, now=request.here.now)
        messages.success(
            request,
            f"Cancelled. {subscription.product.name} stays usable until "
            f"{subscription.current_period_end:%B %-d, %Y}, then ends.",
        )
        return redirect("web:subscriptions")
    if subscription.status == Status.ENDED:
        return redirect("web:subscriptions")
    return render(request, "web/cancel.html", {"subscription": subscription})


@account_page(Capability.PURCHASE)
@require_POST
def subscription_reactivate(request: AccountRequest, subscription_id: str) -> HttpResponse:
    subscription = _subscription(request, subscription_id)
    try:
        services.subscription_reactivate(actor=request.here.actor, subscription=subscription, now=request.here.now)
    except BillingError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(
            request, f"Reactivated. {subscription.product.name} renews on {subscription.current_period_end:%B %-d, %Y}."
        )
    return redirect("web:subscriptions")


@account_page(Capability.PURCHASE)
@require_POST
def trial_begin(request: AccountRequest) -> HttpResponse:
    """The free trial (SPEC §4.6), offered on the page to buy TestCloud to an account that never had one."""
    try:
        trial = trial_start(
            actor=request.here.actor, account=request.here.account, product_code="testcloud", now=request.here.now
        )
    except BillingError as refused:
        messages.error(request, refused.message)
        return redirect("web:subscribe")
    messages.success(
        request,
        f"Your free trial has started: {trial.quantity} parallel sessions until "
        f"{trial.trial_end:%B %-d, %Y}. Nothing is charged.",
    )
    return redirect("web:subscriptions")
