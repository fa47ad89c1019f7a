"""Usage: sessions in use and queued now, and peak concurrent sessions per day (SPEC §6)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from seatplan.subscriptions.models import LIVE_STATUSES, Subscription
from seatplan.web.context import account_page


@account_page()
def usage_page(request: HttpRequest) -> HttpResponse:
    here = request.here
    limit = sum(Subscription.objects.filter(account=here.account, status__in=LIVE_STATUSES)
                .values_list("quantity", flat=True))
    return render(request, "web/usage.html", {"limit": limit})
