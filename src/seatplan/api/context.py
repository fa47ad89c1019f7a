"""What every operation needs: the caller, the clock read once, the account's time."""

from datetime import datetime

from django.http import HttpRequest

from seatplan.api.auth import Principal
from seatplan.clocks.clock import get_clock
from seatplan.clocks.services import account_now


def principal(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined,return-value]


def wall_now(request: HttpRequest) -> datetime:
    """Real time, read once per request."""
    if not hasattr(request, "_now"):
        request._now = get_clock().now()  # type: ignore[attr-defined]
    return request._now  # type: ignore[attr-defined]


def now_for(request: HttpRequest, account) -> datetime:  # noqa: ANN001
    """The account's time: its test clock's if it has one."""
    return account_now(account, wall_now(request))
