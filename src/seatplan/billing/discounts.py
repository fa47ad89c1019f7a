"""Discount codes: how much they take off and how long they stay in force (SPEC §4.3)."""

from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction

from seatplan.billing.money import round_half_away

DURATIONS = ("once", "repeating", "forever")


@dataclass(frozen=True)
class DiscountTerms:
    """What a discount code gives: percent or amount off, for how many cycles."""

    code: str
    percent_off: Decimal | None  # e.g. Decimal("10"); exactly one of percent_off / amount_off
    amount_off: int | None  # minor units, in `currency`
    currency: str | None
    duration: str  # "once" | "repeating" | "forever"
    duration_in_cycles: int | None  # for repeating only (>= 1)

    def __post_init__(self) -> None:
        """Refuse terms that no discount code can have."""
        if (self.percent_off is None) == (self.amount_off is None):
            raise ValueError("exactly one of percent_off and amount_off must be set")
        if self.percent_off is not None and not 0 < self.percent_off <= 100:
            raise ValueError("percent_off must be within (0, 100]")
        if self.amount_off is not None and (self.amount_off <= 0 or not self.currency):
            raise ValueError("amount_off must be positive and have a currency")
        if self.duration not in DURATIONS:
            raise ValueError(f"unknown duration {self.duration!r}")
        if (self.duration == "repeating") != (self.duration_in_cycles is not None):
            raise ValueError("duration_in_cycles is set for repeating discounts only")
        if self.duration_in_cycles is not None and self.duration_in_cycles < 1:
            raise ValueError("duration_in_cycles must be at least 1")


@dataclass(frozen=True)
class DiscountInForce:
    """The discount a subscription carries into later renewals and upgrades."""

    terms: DiscountTerms
    remaining_cycles: int | None  # renewals it still applies to; None = forever


def discount_amount(terms: DiscountTerms, charge_total: int) -> int:
    """The discount (<= 0) on a sum of charges, never more than that sum."""
    if charge_total <= 0:
        return 0
    if terms.percent_off is not None:
        # Fraction(Decimal) is exact, so 12.5% of 14900 is exactly 1862.5 before rounding.
        off = round_half_away(charge_total * Fraction(terms.percent_off) / 100)
    else:
        assert terms.amount_off is not None  # guaranteed by DiscountTerms.__post_init__
        off = terms.amount_off
    return -min(off, charge_total)


def full_period_discount_for_prorated(
    terms: DiscountTerms, full_amount: int, prorated_charge: int, prorated_discount: int
) -> int:
    """The full-period equivalent (<= 0) of a discount given on a prorated charge."""
    if terms.percent_off is not None:
        return discount_amount(terms, full_amount)
    if prorated_charge <= 0:
        return 0
    # Rounded up so the period's value is never overstated: a later credit stays <= what was paid.
    scaled = -(-abs(prorated_discount) * full_amount // prorated_charge)
    return -min(full_amount, scaled)


def in_force_after_checkout(
    code_terms: DiscountTerms | None, in_force: DiscountInForce | None
) -> DiscountInForce | None:
    """The discount in force after a checkout that used code_terms (or no code)."""
    if code_terms is None or code_terms.duration == "once":
        # A once code is spent on this checkout; whatever was in force carries on.
        return in_force
    if code_terms.duration == "forever":
        return DiscountInForce(terms=code_terms, remaining_cycles=None)
    assert code_terms.duration_in_cycles is not None  # repeating, checked by DiscountTerms
    # The checkout's own period is cycle 1 of N.
    return DiscountInForce(terms=code_terms, remaining_cycles=code_terms.duration_in_cycles - 1)


def in_force_for_renewal(
    in_force: DiscountInForce | None,
) -> tuple[DiscountTerms | None, DiscountInForce | None]:
    """(terms applied to the renewal invoice, discount in force after that renewal)."""
    if in_force is None:
        return None, None
    if in_force.remaining_cycles is None:
        return in_force.terms, in_force
    if in_force.remaining_cycles > 0:
        # At 0 it stays in force for the rest of this period and is dropped at the next renewal.
        return in_force.terms, replace(in_force, remaining_cycles=in_force.remaining_cycles - 1)
    return None, None


def applies_at_next_renewal(in_force: DiscountInForce | None) -> DiscountTerms | None:
    """The terms the next renewal will apply, changing nothing."""
    return in_force_for_renewal(in_force)[0]
