"""Billing periods anchored to a start instant, clamped to the month's end."""

from datetime import datetime, timedelta
from typing import Literal

from dateutil.relativedelta import relativedelta

BillingCycle = Literal["month", "year"]

_ONE_SECOND = timedelta(seconds=1)


def _require_utc(value: datetime, name: str) -> None:
    """Refuse naive or non-UTC datetimes: periods are defined on UTC instants."""
    if value.tzinfo is None or value.utcoffset() != timedelta(0):
        raise ValueError(f"{name} must be a timezone-aware UTC datetime")


def _cycle_delta(cycle: str, n: int) -> relativedelta:
    """The relativedelta of n billing cycles."""
    if cycle == "month":
        return relativedelta(months=n)
    if cycle == "year":
        return relativedelta(years=n)
    raise ValueError(f"unknown billing cycle {cycle!r}")


def add_cycles(anchor: datetime, cycle: str, n: int) -> datetime:
    """The n-th boundary of the series anchored at anchor (n may be 0 or negative)."""
    _require_utc(anchor, "anchor")
    # Always counted from the anchor, so a clamped Feb 28 never drags Mar 31 to Mar 28.
    return anchor + _cycle_delta(cycle, n)


def _estimated_cycles(anchor: datetime, cycle: str, instant: datetime) -> int:
    """A close guess of how many whole cycles lie between anchor and instant."""
    months = (instant.year - anchor.year) * 12 + (instant.month - anchor.month)
    return months if cycle == "month" else months // 12


def period_containing(anchor: datetime, cycle: str, instant: datetime) -> tuple[datetime, datetime]:
    """The [start, end) period of the anchored series that contains instant."""
    _require_utc(instant, "instant")
    if instant < anchor:
        raise ValueError("instant is before the anchor")
    n = _estimated_cycles(anchor, cycle, instant)
    # The guess is off by at most one either way (day and time of month); walk to the exact one.
    while add_cycles(anchor, cycle, n) > instant:
        n -= 1
    while add_cycles(anchor, cycle, n + 1) <= instant:
        n += 1
    return add_cycles(anchor, cycle, n), add_cycles(anchor, cycle, n + 1)


def next_period(anchor: datetime, cycle: str, current_end: datetime) -> tuple[datetime, datetime]:
    """The period that starts at current_end, a boundary of the anchored series."""
    start, end = period_containing(anchor, cycle, current_end)
    if start != current_end:
        raise ValueError("current_end is not a boundary of the anchored series")
    return start, end


def seconds_between(a: datetime, b: datetime) -> int:
    """Whole seconds from a to b (negative when b is before a), by integer division."""
    _require_utc(a, "a")
    _require_utc(b, "b")
    return (b - a) // _ONE_SECOND
