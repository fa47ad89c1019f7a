"""Proration to the second, rounded once."""

from datetime import UTC, datetime

import pytest

from seatplan.billing.periods import seconds_between
from seatplan.billing.proration import prorate


def test_half_of_a_28_day_february_for_3_sessions() -> None:
    start, end = datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC)
    now = datetime(2027, 2, 15, tzinfo=UTC)
    remaining, length = seconds_between(now, end), seconds_between(start, end)
    assert prorate(3 * 14900, remaining, length) == 22350


def test_prorate_rounds_half_away_from_zero() -> None:
    assert prorate(1, 1, 2) == 1
    assert prorate(-1, 1, 2) == -1
    assert prorate(100, 1, 3) == 33
    assert prorate(100, 2, 3) == 67


def test_prorate_edges() -> None:
    assert prorate(14900, 0, 86400) == 0
    assert prorate(14900, 86400, 86400) == 14900


@pytest.mark.parametrize(("remaining", "period"), [(-1, 10), (11, 10), (0, 0), (0, -5)])
def test_prorate_preconditions(remaining: int, period: int) -> None:
    with pytest.raises(ValueError):
        prorate(100, remaining, period)
