"""Test clocks (SPEC §8) and the time an account lives in."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from seatplan.accounts.permissions import Actor
from seatplan.billing.errors import BillingError
from seatplan.clocks.models import TestClock


def require_sandbox() -> None:
    if not settings.SANDBOX:
        raise BillingError("sandbox_only", "Test clocks exist only in sandbox mode (SEATPLAN_SANDBOX=1).")


def account_now(account, now: datetime) -> datetime:  # noqa: ANN001 - Account or anything with test_clock_id
    """The instant an account lives at: its test clock's, else the real one."""
    if account.test_clock_id is None:
        return now
    return TestClock.objects.values_list("frozen_time", flat=True).get(pk=account.test_clock_id)


def test_clock_create(*, actor: Actor, frozen_time: datetime, now: datetime) -> TestClock:
    require_sandbox()
    if not actor.is_operator:
        raise BillingError("permission_denied", "Only operators use test clocks.")
    return TestClock.objects.create(frozen_time=frozen_time, created_at=now)


# One advance runs everything due on the way before it answers: five years is 60 monthly renewals per
# subscription, more than any test needs, and a bound on how long one request can take.
MAX_ADVANCE = timedelta(days=1826)


def test_clock_advance(*, actor: Actor, clock: TestClock, frozen_time: datetime) -> TestClock:
    """Move the clock forward, running what falls due for its accounts on the way."""
    require_sandbox()
    if not actor.is_operator:
        raise BillingError("permission_denied", "Only operators use test clocks.")
    with transaction.atomic():
        clock = TestClock.objects.select_for_update().get(pk=clock.pk)
        if frozen_time < clock.frozen_time:
            raise BillingError("clock_backwards", "A test clock only moves forward.", "frozen_time")
        if frozen_time > clock.frozen_time + MAX_ADVANCE:
            raise BillingError(
                "clock_advance_too_far",
                "A test clock moves at most 5 years (1,826 days) at a time; advance it in steps.",
                "frozen_time",
            )
        previous = clock.frozen_time
        clock.frozen_time = frozen_time
        clock.save(update_fields=["frozen_time"])
    from seatplan.jobs import test_clock_run  # the job sits above the clocks it reads

    # Renewals, retries, reminders and ends of the clock's accounts, in time order, before answering.
    test_clock_run(account_ids=list(clock.accounts.values_list("pk", flat=True)), start=previous, until=frozen_time)
    return clock
