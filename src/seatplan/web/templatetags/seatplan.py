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
