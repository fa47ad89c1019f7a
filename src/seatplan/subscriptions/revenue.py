"""Revenue for the vendor's operators (SPEC §9): MRR, ARR and churn now and by month, per currency.

Paid subscriptions only: trials and accounts on a test clock (sandbox data) are left out. Money stays
in integer minor units.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

from dateutil.relativedelta import relativedelta
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth

from seatplan.invoices.models import Invoice, InvoiceStatus
from seatplan.subscriptions.models import LIVE_STATUSES, Subscription


@dataclass(frozen=True)
class Month:
    start: date  # the month's first day (UTC)
    collected: int  # paid invoices' amount paid, by the day they were paid
    started: int  # paid subscriptions created in the month
    ended: int  # paid subscriptions that ended in the month
    live_at_start: int
    churn_bp: int | None  # ended ÷ live at the month's start, in basis points (None: nobody was live)


@dataclass(frozen=True)
class Revenue:
    currency: str
    mrr: int  # monthly recurring revenue now, after discounts
    arr: int  # 12 × MRR
    live: int  # paid subscriptions live now
    months: list[Month]  # oldest first, the current month last


def _paid() -> Q:
    return Q(is_trial=False, account__test_clock__isnull=True)


def mrr_by_currency() -> dict[str, tuple[int, int]]:
    """(MRR, live subscriptions) per currency. A monthly subscription counts its period's value (after
    discounts); an annual one a twelfth of it, the twelfths summed before rounding (half up) once."""
    monthly: defaultdict[str, int] = defaultdict(int)
    yearly: defaultdict[str, int] = defaultdict(int)
    live: defaultdict[str, int] = defaultdict(int)
    rows = (
        Subscription.objects.filter(_paid(), status__in=LIVE_STATUSES)
        .values_list("currency", "billing_cycle")
        .annotate(value=Sum("period_value"), n=Count("pk"))
    )
    for currency, cycle, value, count in rows:
        (yearly if cycle == "year" else monthly)[currency] += value or 0
        live[currency] += count
    return {c: (monthly[c] + (yearly[c] + 6) // 12, live[c]) for c in sorted(set(monthly) | set(yearly))}


def revenue_summary(*, now: datetime, months: int = 12) -> list[Revenue]:
    """Each currency's MRR, ARR and the last `months` calendar months, the current one included."""
    first = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0) - relativedelta(
        months=months - 1
    )
    starts = [first + relativedelta(months=i) for i in range(months)]
    collected: defaultdict[tuple[str, date], int] = defaultdict(int)
    for currency, month, total in (
        Invoice.objects.filter(status=InvoiceStatus.PAID, paid_at__gte=first, account__test_clock__isnull=True)
        .annotate(month=TruncMonth("paid_at", tzinfo=UTC))
        .values_list("currency", "month")
        .annotate(total=Sum("amount_paid"))
    ):
        collected[currency, month.date()] += total or 0
    started: defaultdict[tuple[str, date], int] = defaultdict(int)
    ended: defaultdict[tuple[str, date], int] = defaultdict(int)
    paid = Subscription.objects.filter(_paid())
    for field, counts in (("created_at", started), ("ended_at", ended)):
        for currency, month, count in (
            paid.filter(**{f"{field}__gte": first})
            .annotate(month=TruncMonth(field, tzinfo=UTC))
            .values_list("currency", "month")
            .annotate(n=Count("pk"))
        ):
            counts[currency, month.date()] += count
    live_at = defaultdict(int)
    for start in starts:
        for currency, count in (
            paid.filter(created_at__lt=start)
            .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=start))
            .values_list("currency")
            .annotate(n=Count("pk"))
        ):
            live_at[currency, start.date()] = count
    now_mrr = mrr_by_currency()
    currencies = sorted(set(now_mrr) | {c for c, _ in collected} | {c for c, _ in started} | {c for c, _ in ended})
    summary = []
    for currency in currencies:
        mrr, live = now_mrr.get(currency, (0, 0))
        series = []
        for start in starts:
            day = start.date()
            at_start, gone = live_at[currency, day], ended[currency, day]
            series.append(
                Month(
                    start=day,
                    collected=collected[currency, day],
                    started=started[currency, day],
                    ended=gone,
                    live_at_start=at_start,
                    churn_bp=(gone * 10_000 + at_start // 2) // at_start if at_start else None,
                )
            )
        summary.append(Revenue(currency=currency, mrr=mrr, arr=12 * mrr, live=live, months=series))
    return summary
