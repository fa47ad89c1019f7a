"""Money in integer minor units: exact rounding, currency exponents, display."""

from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision, is_currency


def round_half_away(numerator: int | Fraction, denominator: int = 1) -> int:
    """Round numerator / denominator to an int, halves away from zero, exactly."""
    # bool is an int and float is inexact: both would hide a bug in a money path.
    if isinstance(numerator, bool | float) or not isinstance(numerator, int | Fraction):
        raise TypeError(f"numerator must be an int or a Fraction, not {type(numerator).__name__}")
    if isinstance(denominator, bool) or not isinstance(denominator, int):
        raise TypeError("denominator must be an int")
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    value = Fraction(numerator) / denominator
    whole, remainder = divmod(abs(value.numerator), value.denominator)
    if 2 * remainder >= value.denominator:
        whole += 1
    return whole if value >= 0 else -whole


def currency_known(currency: str) -> bool:
    """An ISO 4217 code Babel knows (USD, EUR, JPY…); precision alone would take any three letters."""
    return len(currency) == 3 and currency.isalpha() and currency.isupper() and is_currency(currency)


def currency_exponent(currency: str) -> int:
    """Number of minor-unit digits of an ISO 4217 currency (USD 2, JPY 0)."""
    return int(get_currency_precision(currency.upper()))


@lru_cache(maxsize=4096)  # a pure function of its arguments; a billing batch formats the same few amounts
def format_money(amount: int, currency: str, locale: str = "en_US") -> str:
    """Format integer minor units for people, e.g. 74500 USD -> "$745.00"."""
    # scaleb shifts the decimal point exactly; no float ever sees the amount.
    major = Decimal(amount).scaleb(-currency_exponent(currency))
    return format_currency(major, currency.upper(), locale=locale)
