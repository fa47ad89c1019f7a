"""Reads about sessions: usage now, peaks over time, the 75 % notice (API usage, the Usage page).

Pure reads. They count leases as of `now` (a lease past its expiry is not in use, a request past
its queue time-out is not queued) even before a request or the billing job records it; callers
that want queue heads granted first call `services.lease_queue_grant`.
"""

from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, Q

from seatplan.leases.models import LeaseStatus, RunType, SessionLease, SessionPool, UsageMinute, UsageNotice
from seatplan.leases.services import NOTICE_PERCENT, session_limit


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _open_counts(account_id: str, now: datetime) -> dict[str, dict[str, int]]:
    rows = (
        SessionLease.objects.filter(
            Q(status=LeaseStatus.GRANTED, expires_at__gt=now) | Q(status=LeaseStatus.QUEUED, queued_until__gt=now),
            account_id=account_id,
        )
        .values("status", "run_type")
        .annotate(n=Count("pk"))
    )
    counts: dict[str, dict[str, int]] = {
        status: dict.fromkeys(RunType.values, 0) for status in (LeaseStatus.GRANTED, LeaseStatus.QUEUED)
    }
    for row in rows:
        counts[row["status"]][row["run_type"]] = row["n"]
    return counts


def usage_now(account, now: datetime) -> dict:  # noqa: ANN001 - an Account
    """Limit, sessions in use and queued (in total and by run type), and today's peak."""
    counts = _open_counts(account.pk, now)
    in_use = sum(counts[LeaseStatus.GRANTED].values())
    peaks = daily_peaks(account, now, days=1)
    return {
        "limit": session_limit(account.pk, now),
        "in_use": in_use,
        "queued": sum(counts[LeaseStatus.QUEUED].values()),
        "peak_today": max(peaks[-1][1], in_use),
        "in_use_by_run_type": counts[LeaseStatus.GRANTED],
        "queued_by_run_type": counts[LeaseStatus.QUEUED],
    }


def daily_peaks(account, now: datetime, days: int = 30) -> list[tuple[date, int]]:  # noqa: ANN001
    """Peak concurrent sessions per UTC day, oldest first, ending today; days without change
    carry the level the previous day ended at (zero when nothing ran)."""
    today = now.date()
    first = today - timedelta(days=days - 1)
    start = _day_start(first)
    minutes = UsageMinute.objects.filter(account_id=account.pk)
    before = minutes.filter(minute__lt=start).order_by("-minute").values_list("level", flat=True).first()
    rows = list(
        minutes.filter(minute__gte=start, minute__lte=now).order_by("minute").values_list("minute", "peak", "level")
    )
    pool = SessionPool.objects.filter(pk=account.pk).values("minute", "minute_peak", "in_use").first()
    if pool and pool["minute"] is not None:
        if pool["minute"] < start:
            before = pool["in_use"]  # nothing changed since before the window
        elif pool["minute"] <= now:
            rows.append((pool["minute"], pool["minute_peak"], pool["in_use"]))  # the minute not flushed yet
    by_day: dict[date, list[tuple[int, int]]] = {}
    for minute, peak, end_level in rows:
        by_day.setdefault(minute.date(), []).append((peak, end_level))
    result = []
    level = before or 0  # sessions in use as the day starts
    for offset in range(days):
        day = first + timedelta(days=offset)
        changes = by_day.get(day, [])
        result.append((day, max([level] + [peak for peak, _ in changes])))
        if changes:
            level = changes[-1][1]
    return result


def usage_notice(account, now: datetime) -> str | None:  # noqa: ANN001
    """The in-page notice when today's use reached 75 % of the limit, else None."""
    notice = (
        UsageNotice.objects.filter(account_id=account.pk, day=now.date())
        .values("in_use", "limit", "created_at")
        .first()
    )
    if notice is None:
        return None
    return (
        f"Today at {notice['created_at']:%H:%M} UTC, {notice['in_use']} of your {notice['limit']} parallel "
        f"sessions were in use ({NOTICE_PERCENT} % or more). When all are in use, new test runs wait in a "
        "queue: add sessions to run more at once."
    )
