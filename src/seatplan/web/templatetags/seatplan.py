from datetime import date, datetime

from django import template

from seatplan.billing.money import format_money

register = template.Library()


@register.filter
def money(amount: int | None, currency: str = "USD") -> str:
    """Minor units → "$1,234.50" in the account's currency (Babel)."""
    if amount is None:
        return "—"
    return format_money(amount, currency)


@register.filter
def cycle_label(cycle: str) -> str:
    return {"month": "Monthly", "year": "Annual"}.get(cycle, cycle)


@register.filter
def role_label(role: str) -> str:
    return role.replace("_", " ").title()


def _day(value: str | datetime | date) -> date:
    return (
        datetime.fromisoformat(value).date()
        if isinstance(value, str)
        else (value.date() if isinstance(value, datetime) else value)
    )


@register.filter
def period(line: dict) -> str:
    """A line's period as people write it: "Nov 27 – Dec 27, 2026" (the end is exclusive, as in billing)."""
    get = line.__getitem__ if isinstance(line, dict) else lambda name: getattr(line, name)
    start, end = _day(get("period_start")), _day(get("period_end"))
    first = f"{start:%b} {start.day}" + ("" if start.year == end.year else f", {start.year}")
    return f"{first} – {end:%b} {end.day}, {end.year}"


@register.filter
def percent_bp(basis_points: int) -> str:
    """Basis points → a percentage with one decimal, rounded half up: 253 → "2.5%"."""
    tenths = (basis_points + 5) // 10
    return f"{tenths // 10}.{tenths % 10}%"
