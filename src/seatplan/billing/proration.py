"""Proration of a per-period amount to the second."""

from seatplan.billing.money import round_half_away


def prorate(amount_per_period: int, remaining_seconds: int, period_seconds: int) -> int:
    """The share amount_per_period * remaining / period, rounded once, half away from zero."""
    if period_seconds <= 0:
        raise ValueError("period_seconds must be positive")
    if not 0 <= remaining_seconds <= period_seconds:
        raise ValueError("remaining_seconds must be within 0..period_seconds")
    return round_half_away(amount_per_period * remaining_seconds, period_seconds)
