"""The billing job: everything due at an instant, safe to run in any number of workers at once.

`billing_run(now=...)` is one pass over the accounts that live in real time (accounts on a test
clock are billed by their clock's advance, `test_clock_run`). Every piece of work is claimed with
`SKIP LOCKED` (PostgreSQL) or under SQLite's one write lock, and leaves its row no longer due, so a
second pass at the same instant finds nothing to do.
"""

import logging
from datetime import datetime

from seatplan.billing.renewal import reminder_due_at
from seatplan.payments.gateway import Gateway, get_gateway
from seatplan.subscriptions.ends import reminders_send, terms_end
from seatplan.subscriptions.models import LIVE_STATUSES, Status, Subscription
from seatplan.subscriptions.renewal import renewals_run
from seatplan.subscriptions.retries import renewal_attempts_recover, retries_run

logger = logging.getLogger(__name__)
MAX_CLOCK_STEPS = 10_000  # a test clock advanced by decades still stops


def billing_run(
    *, now: datetime, account_ids: list[str] | None = None, gateway: Gateway | None = None
) -> dict[str, int]:
    """Do everything due at `now`; returns how many of each thing were done."""
    gateway = gateway or get_gateway()
    counts = {"recovered": renewal_attempts_recover(gateway=gateway, now=now, account_ids=account_ids)}
    if account_ids is None:
        from seatplan.subscriptions.checkout import payment_attempts_recover

        counts["checkouts_recovered"] = payment_attempts_recover(gateway=gateway, now=now)
    counts["ended"] = terms_end(now=now, account_ids=account_ids)
    counts["renewed"] = renewals_run(gateway=gateway, now=now, account_ids=account_ids)
    counts["retried"] = retries_run(gateway=gateway, now=now, account_ids=account_ids)
    counts["reminded"] = reminders_send(now=now, account_ids=account_ids)
    if account_ids is None:
        counts["leases_settled"] = _leases_expire(now)
    return counts


def _leases_expire(now: datetime) -> int:
    from seatplan.leases.services import leases_expire  # here: leases depend on subscriptions

    return leases_expire(now=now)


def next_due_at(*, account_ids: list[str], after: datetime) -> datetime | None:
    """The first instant after `after` at which something falls due for these accounts."""
    candidates: list[datetime] = []
    subs = Subscription.objects.filter(account_id__in=account_ids, status__in=LIVE_STATUSES)
    for sub in subs.only("status", "is_trial", "auto_renew", "trial_end", "current_period_end", "next_retry_at"):
        if sub.next_retry_at is not None:
            candidates.append(sub.next_retry_at)
        if sub.status != Status.ACTIVE:
            continue
        if sub.is_trial and sub.trial_end is not None:
            candidates += [reminder_due_at(sub.trial_end, is_trial=True), sub.trial_end]
        else:
            candidates.append(sub.current_period_end)
            if sub.auto_renew:
                candidates.append(reminder_due_at(sub.current_period_end, is_trial=False))
    later = [c for c in candidates if c > after]
    return min(later) if later else None


def test_clock_run(*, account_ids: list[str], start: datetime, until: datetime, gateway: Gateway | None = None) -> int:
    """Run what falls due between start and until for a clock's accounts, in time order.

    Each step runs the job at the next instant something is due, so a year of monthly renewals,
    with their reminders, declines and retries, happens exactly as it would in real time.
    """
    if not account_ids:
        return 0
    gateway = gateway or get_gateway()
    steps, instant = 0, start
    billing_run(now=instant, account_ids=account_ids, gateway=gateway)
    while steps < MAX_CLOCK_STEPS:
        due = next_due_at(account_ids=account_ids, after=instant)
        if due is None or due > until:
            break
        instant = due
        billing_run(now=instant, account_ids=account_ids, gateway=gateway)
        steps += 1
    if instant != until:
        billing_run(now=until, account_ids=account_ids, gateway=gateway)
    _deliver(until)
    return steps


def _deliver(now: datetime) -> None:
    """Send the e-mails the steps queued, so the advance answers with them sent."""
    from seatplan.events.delivery import outbox_deliver

    while outbox_deliver(now=now):
        pass
