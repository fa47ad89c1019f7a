"""The benchmarks' baseline: the cheapest honest write (enabled by SEATPLAN_BENCHMARK=1 only)."""

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, JsonResponse
from ninja import Router

from seatplan.accounts.models import Account
from seatplan.api.context import principal, wall_now
from seatplan.billing.errors import BillingError
from seatplan.events.models import AuditEntry

router = Router(tags=["Benchmark"])


@router.post("/bench/baseline", include_in_schema=False)
def baseline(request: HttpRequest) -> JsonResponse:
    """Lock one row, update it, insert one row."""
    if not settings.BENCHMARK_ENDPOINTS:
        raise BillingError("not_found", "Not found.")
    caller = principal(request)
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=caller.key.account_id)
        Account.objects.filter(pk=account.pk).update(credit_balance=F("credit_balance"))
        AuditEntry.objects.create(
            account=account,
            actor="bench",
            action="bench.baseline",
            object_type="Account",
            object_id=account.pk,
            created_at=wall_now(request),
        )
    return JsonResponse({"ok": True})
