"""Usage: sessions in use and queued now, and peak concurrent sessions per day (SPEC §6)."""

from dataclasses import dataclass
from datetime import date

from django.http import HttpResponse
from django.shortcuts import render

from seatplan.accounts.permissions import Capability
from seatplan.leases.models import RunType
from seatplan.leases.selectors import daily_peaks, usage_notice, usage_now
from seatplan.web.charts import Plot, scale
from seatplan.web.context import AccountRequest, account_page

CHART_DAYS = 30
LEFT = 40  # room for the y axis labels


@dataclass(frozen=True)
class Bar:
    day: date
    peak: int
    x: float
    y: float
    width: float
    height: float
    over: bool  # the day's peak reached the limit: runs may have queued


@dataclass(frozen=True)
class Tick:
    label: str
    x: float = 0
    y: float = 0


def usage_chart(peaks: list[tuple[date, int]], limit: int) -> dict:
    """The geometry of the daily-peak chart: bars, the limit line and the axis ticks (SVG units)."""
    top, _ = scale(max([limit] + [peak for _, peak in peaks]))
    plot = Plot(count=len(peaks), top=top, left=LEFT)
    bars = [
        Bar(day=day, peak=peak, **plot.bar(i, peak), over=limit > 0 and peak >= limit)
        for i, (day, peak) in enumerate(peaks)
    ]
    step = max(1, top // 5)
    y_ticks = [Tick(label=str(value), y=plot.y(value)) for value in range(0, top + 1, step)]
    x_ticks = [
        Tick(label=f"{day:%b} {day.day}", x=plot.center(i))
        for i, (day, _) in enumerate(peaks)
        if i % 7 == (len(peaks) - 1) % 7
    ]
    return {
        **plot.frame(),
        "bars": bars,
        "y_ticks": y_ticks,
        "x_ticks": x_ticks,
        "limit_y": plot.y(limit) if limit else None,
        "limit": limit,
    }


@account_page()
def usage_page(request: AccountRequest) -> HttpResponse:
    here = request.here
    now = usage_now(here.account, here.now)
    peaks = daily_peaks(here.account, here.now, days=CHART_DAYS)
    by_run_type = [
        (RunType(value).label.capitalize(), now["in_use_by_run_type"][value], now["queued_by_run_type"][value])
        for value in RunType.values
    ]
    notice = usage_notice(here.account, here.now) if here.can(Capability.BILLING) else None
    return render(
        request,
        "web/usage.html",
        {
            "usage": now,
            "by_run_type": by_run_type,
            "peaks": peaks,
            "chart": usage_chart(peaks, now["limit"]),
            "notice": notice,
            "may_buy": here.can(Capability.PURCHASE),
            "highest": max(peak for _, peak in peaks),
        },
    )
