"""The operators' revenue dashboard (SPEC §9): MRR, ARR and churn, and money collected by month, charted."""

from dataclasses import dataclass

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from seatplan.billing.money import currency_exponent, format_money
from seatplan.clocks.clock import get_clock
from seatplan.subscriptions.revenue import Month, Revenue, revenue_summary

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 84, 12, 16, 30  # room for the axis labels (amounts on the left)


@dataclass(frozen=True)
class Bar:
    month: Month
    label: str
    x: float
    y: float
    width: float
    height: float


def _nice_step(highest: int, unit: int) -> int:
    """A round step (1, 2 or 5 × a power of ten major units) giving at most 5 steps up to `highest`."""
    step = unit
    while True:
        for factor in (1, 2, 5):
            if step * factor * 5 >= highest:
                return step * factor
        step *= 10


def revenue_chart(revenue: Revenue) -> dict:
    """Bars of the money collected per month, with amount ticks (SVG units)."""
    unit = 10 ** currency_exponent(revenue.currency)  # one major unit, e.g. $1
    highest = max(m.collected for m in revenue.months)
    step = _nice_step(max(highest, unit), unit)
    top = step * (highest // step + 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(revenue.months)

    def y_of(value: int) -> float:
        return round(TOP + plot_h - plot_h * value / top, 1)

    bars = [Bar(month=m, label=f"{m.start:%b %Y}: {format_money(m.collected, revenue.currency)}",
                x=round(LEFT + i * slot + slot * 0.15, 1), y=y_of(m.collected), width=round(slot * 0.7, 1),
                height=round(TOP + plot_h - y_of(m.collected), 1)) for i, m in enumerate(revenue.months)]
    y_ticks = [{"y": y_of(v), "label": format_money(v, revenue.currency).removesuffix(".00")}
               for v in range(0, top + 1, step)]
    x_ticks = [{"x": round(LEFT + i * slot + slot / 2, 1), "label": m.start.strftime("%b")}
               for i, m in enumerate(revenue.months)]
    return {"width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT, "base": TOP + plot_h,
            "bars": bars, "y_ticks": y_ticks, "x_ticks": x_ticks}


@staff_member_required
def revenue(request: HttpRequest) -> HttpResponse:
    now = get_clock().now()
    summary = revenue_summary(now=now)
    return render(request, "web/revenue.html", {
        "operator_page": True, "now": now,
        "currencies": [(r, revenue_chart(r), list(reversed(r.months))) for r in summary],
    })
