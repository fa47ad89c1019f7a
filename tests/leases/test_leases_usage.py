"""Usage selectors (the Usage page), the billing job's expiry pass, and what counts towards the limit."""

from datetime import date, timedelta

import pytest
from django.db import transaction

from seatplan.leases.models import SessionLease, UsageMinute
from seatplan.leases.selectors import daily_peaks, usage_now
from seatplan.leases.services import _lock_pool, lease_acquire, lease_release, leases_expire, session_limit
from seatplan.subscriptions.models import Subscription
from tests.conftest import T0, subscribe

pytestmark = pytest.mark.django_db


def test_daily_peaks_are_per_utc_day_zero_filled_and_carry_running_sessions(world, clock):
    subscribe(world, quantity=5)
    member = world.actor("member")
    account = world.account
    clock.instant = T0 - timedelta(days=3)  # Jan 12: nothing ran (the subscription is older in this test)
    Subscription.objects.filter(account=account).update(created_at=clock.instant)

    def acquire(ttl=86_400):
        return lease_acquire(
            actor=member, account_id=account.pk, run_type="desktop_browser", ttl_seconds=ttl, now=clock.instant
        )

    clock.instant = T0 - timedelta(days=2)  # Jan 13: 3 at once, then 1 left running overnight
    first = [acquire() for _ in range(3)]
    clock.instant += timedelta(minutes=5)
    lease_release(actor=member, lease=first[0], now=clock.instant)
    lease_release(actor=member, lease=first[1], now=clock.instant)
    clock.instant = T0 - timedelta(days=1, hours=1)  # Jan 14 11:00: one more joins the overnight one
    second = acquire()
    clock.instant += timedelta(hours=2)
    lease_release(actor=member, lease=second, now=clock.instant)
    lease_release(actor=member, lease=first[2], now=clock.instant)
    clock.instant = T0  # Jan 15: nothing
    peaks = daily_peaks(account, clock.instant, days=5)
    assert peaks == [
        (date(2027, 1, 11), 0),
        (date(2027, 1, 12), 0),
        (date(2027, 1, 13), 3),
        (date(2027, 1, 14), 2),
        (date(2027, 1, 15), 0),
    ]
    assert UsageMinute.objects.filter(account=account).count() == 3  # compact: one row per changed minute
    assert usage_now(account, clock.instant)["peak_today"] == 0


def test_usage_now_counts_by_run_type_and_ignores_what_is_over(world, clock):
    subscribe(world, quantity=2)
    member = world.actor("member")
    for run_type, ttl in [("mobile_native", 60), ("mobile_browser", 3600), ("desktop_browser", 3600)]:
        lease_acquire(actor=member, account_id=world.account.pk, run_type=run_type, ttl_seconds=ttl, now=T0)
    clock.instant = T0 + timedelta(seconds=61)  # the first lease is over, nobody recorded it yet
    usage = usage_now(world.account, clock.instant)
    assert usage == {
        "limit": 2,
        "in_use": 1,
        "queued": 1,
        "peak_today": 2,
        "in_use_by_run_type": {"desktop_browser": 0, "mobile_browser": 1, "mobile_native": 0},
        "queued_by_run_type": {"desktop_browser": 1, "mobile_browser": 0, "mobile_native": 0},
    }


def test_the_billing_job_expires_leases_and_grants_the_queue(world):
    subscribe(world, quantity=1)
    member = world.actor("member")
    running = lease_acquire(
        actor=member, account_id=world.account.pk, run_type="desktop_browser", ttl_seconds=60, now=T0
    )
    waiting = lease_acquire(actor=member, account_id=world.account.pk, run_type="desktop_browser", now=T0)
    assert leases_expire(now=T0 + timedelta(seconds=59)) == 1  # the queued account is looked at
    assert SessionLease.objects.get(pk=running.pk).status == "granted"
    leases_expire(now=T0 + timedelta(seconds=60))
    assert SessionLease.objects.get(pk=running.pk).status == "expired"
    assert SessionLease.objects.get(pk=waiting.pk).status == "granted"
    assert leases_expire(now=T0 + timedelta(seconds=61)) == 0  # nothing due: nothing touched


def limits(account_id, now):
    """The limit as the selectors see it and as the acquire path's locked read sees it: always equal."""
    with transaction.atomic():
        locked = _lock_pool(account_id, now).limit
    assert locked == session_limit(account_id, now)
    return locked


def test_a_trial_past_its_end_and_a_cancelled_subscription_past_its_period_stop_counting(world):
    sub = subscribe(world, quantity=3)["subscription"]
    account = world.account.pk
    assert limits(account, T0) == 3
    Subscription.objects.filter(pk=sub["id"]).update(is_trial=True, trial_end=T0 + timedelta(days=1))
    assert limits(account, T0 + timedelta(hours=23)) == 3
    assert limits(account, T0 + timedelta(days=1)) == 0
    Subscription.objects.filter(pk=sub["id"]).update(is_trial=False, trial_end=None, auto_renew=False)
    assert limits(account, T0 + timedelta(days=40)) == 0
    Subscription.objects.filter(pk=sub["id"]).update(auto_renew=True, status="past_due")
    assert limits(account, T0 + timedelta(days=40)) == 3  # past due: still usable (§4.5)
    Subscription.objects.filter(pk=sub["id"]).update(status="ended")
    assert limits(account, T0) == 0
