"""The injected clock: the one place that reads the wall clock."""

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Real time, UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that shows one instant until moved (tests, the billing command's --now)."""

    def __init__(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.instant = instant

    def now(self) -> datetime:
        return self.instant


_clock: Clock = SystemClock()


def get_clock() -> Clock:
    """The process's clock; entry points read it once per request or job."""
    return _clock


def set_clock(clock: Clock) -> None:
    global _clock
    _clock = clock
