"""Session leases (SPEC §6): acquire, heartbeat, release, the queue and expiry.

Every grant happens with the account's `SessionPool` row locked (one short transaction), so no
two requests can both take the last free session: on PostgreSQL the row lock orders them, on
SQLite every transaction takes the write lock at BEGIN. The pool's counters change in the same
transaction as the leases they count. Expiry and queue time-outs are evaluated lazily by every
request about the account (nothing needs a worker to be correct) and by `leases_expire`, which the
billing job runs.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Min, Q, QuerySet, Sum

from seatplan.accounts.models import Account, Membership, Role
from seatplan.accounts.permissions import Actor, Capability
from seatplan.billing.errors import BillingError
from seatplan.clocks.services import account_now
from seatplan.events.services import email_enqueue
from seatplan.leases.models import (
    OPEN_STATUSES,
    LeaseStatus,
    RunType,
    SessionLease,
    SessionPool,
    UsageMinute,
    UsageNotice,
)
from seatplan.sqlrows import Columns, fetch_one, for_update
from seatplan.subscriptions.models import LIVE_STATUSES, Subscription

TTL_MIN, TTL_MAX = 60, 86_400
QUEUE_FACTOR = 3  # a request may wait while fewer than 3 × the limit are queued
NOTICE_PERCENT = 75


def live_subscriptions(now: datetime) -> QuerySet[Subscription]:
    """Subscriptions that count towards the limit at `now`.

    Live, and not already over by the clock: a trial past its end and a cancelled subscription past
    its period end stop counting at that instant, even before the billing job marks them ended.
    """
    return (
        Subscription.objects.filter(status__in=LIVE_STATUSES)
        .exclude(is_trial=True, trial_end__lte=now)
        .exclude(auto_renew=False, current_period_end__lte=now)
    )


def session_limit(account_id: str, now: datetime) -> int:
    """The account's parallel-session limit: the sum of its live subscriptions' quantities."""
    total = live_subscriptions(now).filter(account_id=account_id).aggregate(total=Sum("quantity"))["total"]
    return total or 0


# The pool row, locked, with the live limit beside it: the hot path's one read, written as SQL
# because the ORM spends longer compiling this than the database spends running it. The
# conditions are those of `live_subscriptions`.
_POOL = Columns(SessionPool, "p")
_LOCK_POOL_SQL = f"""
SELECT {_POOL.sql}, COALESCE((
    SELECT SUM(s.quantity) FROM subscriptions_subscription s
    WHERE s.account_id = p.account_id AND s.status IN (%s, %s)
      AND NOT (s.is_trial = %s AND s.trial_end IS NOT NULL AND s.trial_end <= %s)
      AND NOT (s.auto_renew = %s AND s.current_period_end <= %s)
), 0)
FROM leases_sessionpool p WHERE p.account_id = %s"""  # noqa: S608 - the pool's columns, from its metadata


def _lock_pool(account_id: str, now: datetime) -> SessionPool:
    """The account's pool, locked for this transaction, with its current `limit` (one query)."""
    sql = _LOCK_POOL_SQL + (" FOR UPDATE OF p" if connection.features.has_select_for_update_of else "")
    at = connection.ops.adapt_datetimefield_value(now)
    params = [*LIVE_STATUSES, True, at, False, at, account_id]
    row = fetch_one(sql, params)
    if row is None:
        SessionPool.objects.bulk_create([SessionPool(account_id=account_id)], ignore_conflicts=True)
        row = fetch_one(sql, params)
        if row is None:
            raise SessionPool.DoesNotExist(account_id)
    pool = _POOL.build(row)
    pool.limit = row[_POOL.width]  # type: ignore[attr-defined]
    pool._saved = _pool_state(pool)  # type: ignore[attr-defined]
    return pool


_POOL_FIELDS = ["in_use", "queued", "next_ticket", "next_deadline", "minute", "minute_peak", "notice_day"]


def _pool_state(pool: SessionPool) -> tuple:
    return tuple(getattr(pool, name) for name in _POOL_FIELDS)


_POOL_UPDATE_SQL = (
    f"UPDATE leases_sessionpool SET {', '.join(f'{name} = %s' for name in _POOL_FIELDS)} "  # noqa: S608
    "WHERE account_id = %s"
)  # (constant column names)


def _pool_save(pool: SessionPool) -> None:
    """Write the counters back if they changed (SQL: the hot path's second statement)."""
    if _pool_state(pool) == pool._saved:  # type: ignore[attr-defined]
        return
    ops = connection.ops
    with connection.cursor() as cursor:
        cursor.execute(
            _POOL_UPDATE_SQL,
            [
                pool.in_use,
                pool.queued,
                pool.next_ticket,
                ops.adapt_datetimefield_value(pool.next_deadline),
                ops.adapt_datetimefield_value(pool.minute),
                pool.minute_peak,
                ops.adapt_datefield_value(pool.notice_day),
                pool.account_id,
            ],
        )


_LEASE_FIELDS = [
    "id",
    "account_id",
    "run_type",
    "status",
    "ttl_seconds",
    "ticket",
    "created_by",
    "created_at",
    "queued_until",
    "granted_at",
    "expires_at",
]
_LEASE_INSERT_SQL = (
    f"INSERT INTO leases_sessionlease ({', '.join(_LEASE_FIELDS)}) "  # noqa: S608
    f"VALUES ({', '.join(['%s'] * len(_LEASE_FIELDS))})"
)


def _lease_insert(lease: SessionLease) -> None:
    """INSERT the new lease (SQL: the ORM's save costs more than the statement on the hot path)."""
    ops = connection.ops
    lease.id = lease.id or SessionLease._meta.pk.get_default()
    values = [getattr(lease, name) for name in _LEASE_FIELDS]
    values = [ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v for v in values]
    with connection.cursor() as cursor:
        cursor.execute(_LEASE_INSERT_SQL, values)
    lease._state.adding = False


def _lease_end(lease_id: str, status: str, now: datetime) -> str | None:
    """Release the lease if it is in `status`; returns that status, or None if it was not."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE leases_sessionlease SET status = %s, ended_at = %s WHERE id = %s AND status = %s",
            [LeaseStatus.RELEASED.value, connection.ops.adapt_datetimefield_value(now), lease_id, status],
        )
        return status if cursor.rowcount else None


def _earlier(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate < current else current


def _note_level(pool: SessionPool, now: datetime, before: int) -> None:
    """Record the peak of the current minute; flush the previous minute when a new one starts."""
    minute = now.replace(second=0, microsecond=0)
    if pool.minute is None or minute > pool.minute:
        if pool.minute is not None:
            # Nothing changed since pool.minute's last change: `before` is the level it ended at.
            UsageMinute.objects.create(
                account_id=pool.account_id, minute=pool.minute, peak=pool.minute_peak, level=before
            )
        pool.minute = minute
        pool.minute_peak = max(before, pool.in_use)
    else:
        pool.minute_peak = max(pool.minute_peak, pool.in_use)


def _sweep(pool: SessionPool, now: datetime) -> None:
    """End the leases not renewed in time and the requests queued too long."""
    leases = SessionLease.objects.filter(account_id=pool.account_id)
    expired = leases.filter(status=LeaseStatus.GRANTED, expires_at__lte=now).update(
        status=LeaseStatus.EXPIRED, ended_at=F("expires_at")
    )
    timed_out = leases.filter(status=LeaseStatus.QUEUED, queued_until__lte=now).update(
        status=LeaseStatus.TIMED_OUT, ended_at=F("queued_until")
    )
    if expired:
        before, pool.in_use = pool.in_use, pool.in_use - expired
        _note_level(pool, now, before)
    pool.queued -= timed_out
    due = leases.filter(status__in=OPEN_STATUSES).aggregate(
        granted=Min("expires_at", filter=Q(status=LeaseStatus.GRANTED)),
        queued=Min("queued_until", filter=Q(status=LeaseStatus.QUEUED)),
    )
    pool.next_deadline = min((d for d in due.values() if d is not None), default=None)


def _grant_heads(pool: SessionPool, now: datetime) -> int:
    """Grant queued requests in ticket order while sessions are free."""
    free = pool.limit - pool.in_use  # type: ignore[attr-defined]
    if free <= 0 or pool.queued == 0:
        return 0
    heads = list(
        SessionLease.objects.filter(account_id=pool.account_id, status=LeaseStatus.QUEUED)
        .order_by("ticket")
        .values_list("pk", "ttl_seconds")[:free]
    )
    by_ttl: dict[int, list[str]] = {}
    for lease_id, ttl in heads:
        by_ttl.setdefault(ttl, []).append(lease_id)
    for ttl, ids in by_ttl.items():
        expires_at = now + timedelta(seconds=ttl)
        SessionLease.objects.filter(pk__in=ids).update(
            status=LeaseStatus.GRANTED, granted_at=now, expires_at=expires_at
        )
        pool.next_deadline = _earlier(pool.next_deadline, expires_at)
    before = pool.in_use
    pool.in_use += len(heads)
    pool.queued -= len(heads)
    _note_level(pool, now, before)
    return len(heads)


def _settle(pool: SessionPool, now: datetime) -> int:
    """Bring the locked pool up to `now`: expiries, time-outs, a limit gone to zero, queue heads.

    Returns how many queued requests it granted.
    """
    if pool.next_deadline is not None and pool.next_deadline <= now:
        _sweep(pool, now)
    if pool.limit == 0 and pool.queued:  # type: ignore[attr-defined]
        # Nothing live any more: nobody will ever be granted, so nobody waits.
        SessionLease.objects.filter(account_id=pool.account_id, status=LeaseStatus.QUEUED).update(
            status=LeaseStatus.CANCELLED, ended_at=now
        )
        pool.queued = 0
    granted = _grant_heads(pool, now)
    if granted:
        _notify_if_busy(pool, now)
    return granted


def _notify_if_busy(pool: SessionPool, now: datetime) -> None:
    """Tell Owner and Billing Managers, once per UTC day, that use reached 75 % of the limit."""
    limit = pool.limit  # type: ignore[attr-defined]
    today = now.date()
    if not limit or pool.in_use * 100 < limit * NOTICE_PERCENT or pool.notice_day == today:
        return
    pool.notice_day = today
    UsageNotice.objects.get_or_create(
        account_id=pool.account_id, day=today, defaults={"in_use": pool.in_use, "limit": limit, "created_at": now}
    )
    account = Account.objects.only("name").get(pk=pool.account_id)
    emails = Membership.objects.filter(
        account_id=pool.account_id, role__in=[Role.OWNER, Role.BILLING_MANAGER]
    ).values_list("user__email", flat=True)
    email_enqueue(
        account_id=pool.account_id,
        to=list(emails),
        now=now,
        dedupe_key=f"usage75:{pool.account_id}:{today}",
        subject=f"{account.name} is using {pool.in_use} of {limit} parallel sessions",
        body=(
            f"{account.name} reached {pool.in_use} of its {limit} parallel test sessions "
            f"({NOTICE_PERCENT} % or more) at {now:%H:%M} UTC on {today:%Y-%m-%d}.\n\n"
            "When every session is in use, new test runs wait in a queue. Add sessions in "
            f"Settings > Subscription Management:\n{settings.SITE_URL}/\n"
        ),
    )


@dataclass(frozen=True)
class _Refusal:
    code: str
    message: str


def _check_request(run_type: str, ttl_seconds: int | None) -> int:
    if run_type not in RunType.values:
        raise BillingError("run_type_invalid", f"run_type is one of {', '.join(RunType.values)}.", "run_type")
    ttl = settings.LEASE_DEFAULT_TTL_SECONDS if ttl_seconds is None else ttl_seconds
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not TTL_MIN <= ttl <= TTL_MAX:
        raise BillingError("ttl_seconds_invalid", f"ttl_seconds is {TTL_MIN} to {TTL_MAX}.", "ttl_seconds")
    return ttl


def lease_acquire(
    *, actor: Actor, account_id: str, run_type: str, ttl_seconds: int | None = None, now: datetime
) -> SessionLease:
    """Grant a session if one is free, else queue the request (FIFO), else refuse it."""
    actor.require(Capability.START_SESSIONS)
    ttl = _check_request(run_type, ttl_seconds)
    refusal = None
    with transaction.atomic():
        pool = _lock_pool(account_id, now)
        _settle(pool, now)
        limit = pool.limit  # type: ignore[attr-defined]
        lease = SessionLease(
            account_id=account_id,
            run_type=run_type,
            ttl_seconds=ttl,
            ticket=pool.next_ticket,
            created_by=actor.label,
            created_at=now,
        )
        if limit == 0:
            refusal = _Refusal("no_active_subscription", "The account has no live subscription.")
        elif pool.in_use < limit and pool.queued == 0:
            lease.status, lease.granted_at = LeaseStatus.GRANTED, now
            lease.expires_at = now + timedelta(seconds=ttl)
            before = pool.in_use
            pool.in_use += 1
            pool.next_deadline = _earlier(pool.next_deadline, lease.expires_at)
            _note_level(pool, now, before)
            _notify_if_busy(pool, now)
        elif pool.queued < QUEUE_FACTOR * limit:
            lease.status = LeaseStatus.QUEUED
            lease.queued_until = now + timedelta(seconds=settings.LEASE_QUEUE_TIMEOUT_SECONDS)
            pool.queued += 1
            pool.next_deadline = _earlier(pool.next_deadline, lease.queued_until)
            lease.position = pool.queued  # type: ignore[attr-defined] # FIFO: a new request is last
        else:
            refusal = _Refusal(
                "session_limit_reached", f"All {limit} sessions are in use and {pool.queued} requests are queued."
            )
        if refusal is None:
            pool.next_ticket += 1
            _lease_insert(lease)
        _pool_save(pool)  # what the settling changed is kept even when this request is refused
    if refusal is not None:
        raise BillingError(refusal.code, refusal.message)
    return lease


def lease_heartbeat(*, actor: Actor, lease: SessionLease, now: datetime) -> SessionLease:
    """Extend a granted lease to now + its ttl; an expired or ended one is not revived."""
    actor.require(Capability.START_SESSIONS)
    expires_at = now + timedelta(seconds=lease.ttl_seconds)
    extended = SessionLease.objects.filter(pk=lease.pk, status=LeaseStatus.GRANTED, expires_at__gt=now).update(
        expires_at=expires_at
    )
    if not extended:
        lease_queue_grant(account_id=lease.account_id, now=now)  # records its expiry if that is why
        raise BillingError(
            "lease_not_active",
            f"Only a granted lease can be renewed; this one is {SessionLease.objects.get(pk=lease.pk).status}.",
        )
    lease.expires_at = expires_at
    return lease


def lease_release(*, actor: Actor, lease: SessionLease, now: datetime) -> SessionLease:
    """End the lease (granted or still queued) and hand its session to the head of the queue."""
    actor.require(Capability.START_SESSIONS)
    if lease.status not in OPEN_STATUSES:
        return lease  # ended already: as it is (idempotent)
    with transaction.atomic():
        pool = _lock_pool(lease.account_id, now)
        _settle(pool, now)
        was = _lease_end(lease.pk, lease.status, now)  # as read: one statement when nothing moved meanwhile
        if was is None:  # it moved since (granted from the queue, expired): as it is now
            was = next((status for status in OPEN_STATUSES if _lease_end(lease.pk, status, now)), None)
        released = True
        if was == LeaseStatus.GRANTED:
            before = pool.in_use
            pool.in_use -= 1
            _note_level(pool, now, before)
            if _grant_heads(pool, now):
                _notify_if_busy(pool, now)
        elif was == LeaseStatus.QUEUED:
            pool.queued -= 1
        else:
            released = False
        _pool_save(pool)
    if not released:
        return SessionLease.objects.get(pk=lease.pk)  # ended already: as it is (idempotent)
    lease.status, lease.ended_at = LeaseStatus.RELEASED, now
    return lease


def lease_refresh(*, lease: SessionLease, now: datetime) -> SessionLease:
    """The lease as of `now` (a poll): settles the account first if the lease may have moved."""
    expired = lease.expires_at is not None and lease.expires_at <= now
    if lease.status == LeaseStatus.QUEUED or (lease.status == LeaseStatus.GRANTED and expired):
        lease_queue_grant(account_id=lease.account_id, now=now)
        lease = SessionLease.objects.get(pk=lease.pk)
    return lease


def lease_position(lease: SessionLease) -> int | None:
    """1 for the head of the queue, then 2, 3, … without gaps; None unless queued."""
    if lease.status != LeaseStatus.QUEUED:
        return None
    return SessionLease.objects.filter(
        account_id=lease.account_id, status=LeaseStatus.QUEUED, ticket__lte=lease.ticket
    ).count()


def lease_queue_grant(*, account_id: str, now: datetime) -> int:
    """Settle the account now: expiries, time-outs, and queue heads granted up to the limit.

    Called after a change that raises the limit commits (checkout, trial), and by every read that
    must be current. Returns how many queued requests were granted.
    """
    with transaction.atomic():
        pool = _lock_pool(account_id, now)
        granted = _settle(pool, now)
        _pool_save(pool)
    return granted


def leases_settle_on_commit(account_id: str, now: datetime) -> None:
    """The account's limit changed: once that commits, grant (or, with nothing live, cancel) what waits."""
    transaction.on_commit(lambda: _settle_if_queued(account_id, now))


def _settle_if_queued(account_id: str, now: datetime) -> None:
    """`lease_queue_grant` when the account's queue holds anything; one locking read when it does not.

    The read locks the pool row as `lease_queue_grant` does, so it waits for a lease request in flight
    (one that may have queued against the old limit) and sees what that committed. Expiries need no
    hurry: every read of the account settles them.
    """
    sql = "SELECT queued FROM leases_sessionpool WHERE account_id = %s" + for_update()  # noqa: S608 - no input
    row = fetch_one(sql, [account_id])
    if row is not None and row[0] > 0:
        lease_queue_grant(account_id=account_id, now=now)


def leases_expire(*, now: datetime) -> int:
    """The billing job's pass: settle every account with something due (each at its own time)."""
    real_clock = SessionPool.objects.filter(account__test_clock__isnull=True).filter(
        Q(next_deadline__lte=now) | Q(queued__gt=0)
    )
    test_clock = SessionPool.objects.filter(account__test_clock__isnull=False).filter(Q(in_use__gt=0) | Q(queued__gt=0))
    settled = 0
    for account_id in list(real_clock.values_list("pk", flat=True)):
        lease_queue_grant(account_id=account_id, now=now)
        settled += 1
    for account in Account.objects.filter(pk__in=list(test_clock.values_list("pk", flat=True))):
        lease_queue_grant(account_id=account.pk, now=account_now(account, now))
        settled += 1
    return settled
