"""Lists as {"data", "has_more", "next_cursor"}: newest first, keyset cursors."""

import base64
from collections.abc import Callable
from datetime import datetime

from django.db.models import Q, QuerySet

from seatplan.billing.errors import BillingError


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        stamp, _, pk = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(stamp), pk
    except (ValueError, UnicodeDecodeError) as exc:
        raise BillingError("cursor_invalid", "The cursor is not one this API gave out.", "cursor") from exc


def _encode(stamp: datetime, pk: str) -> str:
    return base64.urlsafe_b64encode(f"{stamp.isoformat()}|{pk}".encode()).decode()


def paginate(
    queryset: QuerySet, *, limit: int, cursor: str | None, to_json: Callable, time_field: str = "created_at"
) -> dict:
    if not 1 <= limit <= 100:
        raise BillingError("limit_invalid", "limit is 1 to 100.", "limit")
    queryset = queryset.order_by(f"-{time_field}", "-pk")
    if cursor:
        stamp, pk = _decode(cursor)
        queryset = queryset.filter(Q(**{f"{time_field}__lt": stamp}) | Q(**{time_field: stamp, "pk__lt": pk}))
    rows = list(queryset[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode(getattr(rows[-1], time_field), rows[-1].pk) if has_more else None
    return {"data": [to_json(row) for row in rows], "has_more": has_more, "next_cursor": next_cursor}
