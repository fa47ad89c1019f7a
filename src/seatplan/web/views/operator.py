"""The operators' revenue dashboard (SPEC §9): MRR, ARR and churn, and money collected by month, charted."""

from dataclasses import dataclass

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from seatplan.billing.money import currency_exponent, format_money
from seatplan.clocks.clock import get_clock
from seatplan.subscriptions.revenue import Month, Revenue, revenue_summary
from seatplan.web.charts import Plot, scale

LEFT = 84  # room for the amounts on the y axis


@dataclass(frozen=True)
class Bar:
    month: Month
    label: str
    x: float
    y: float
    width: float
    height: float


def revenue_chart(revenue: Revenue) -> dict:
    """Bars of the money collected per month, with amount ticks (SVG units)."""
    unit = 10 ** currency_exponent(revenue.currency)  # one major unit, e.g. $1
    highest = max(m.collected for m in revenue.months)
    top, step = scale(-(-highest // unit))  # in major units, the highest rounded up
    plot = Plot(count=len(revenue.months), top=top * unit, left=LEFT)
    bars = [
        Bar(
            month=m, label=f"{m.start:%b %Y}: {format_money(m.collected, revenue.currency)}", **plot.bar(i, m.collected)
        )
        for i, m in enumerate(revenue.months)
    ]
    y_ticks = [
        {"y": plot.y(v), "label": format_money(v, revenue.currency).removesuffix(".00")}
        for v in range(0, top * unit + 1, step * unit)
    ]
    x_ticks = [{"x": plot.center(i), "label": m.start.strftime("%b")} for i, m in enumerate(revenue.months)]
    return {**plot.frame(), "bars": bars, "y_ticks": y_ticks, "x_ticks": x_ticks}


@staff_member_required
def revenue(request: HttpRequest) -> HttpResponse:
    now = get_clock().now()
    summary = revenue_summary(now=now)
    return render(
        request,
        "web/revenue.html",
        {
            "operator_page": True,
            "now": now,
            "currencies": [(r, revenue_chart(r), list(reversed(r.months))) for r in summary],
        },
    )
