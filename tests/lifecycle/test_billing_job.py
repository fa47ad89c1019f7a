"""The billing job (SPEC §4.5): idempotent per instant, real time vs test clocks, crashes, many workers."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count

from seatplan.cli import main as seatplan_main
from seatplan.invoices.models import Invoice
from seatplan.jobs import billing_run
from seatplan.payments.gateway import get_gateway
from seatplan.payments.models import AttemptStatus, PaymentAttempt, SandboxCharge
from seatplan.subscriptions.models import Subscription
from seatplan.subscriptions.renewal import _claim_and_issue
from tests.conftest import subscribe
from tests.lifecycle.conftest import invoice_numbers_gapless
from tests.lifecycle.seeding import seed_due_subscriptions

ROOT = Path(__file__).resolve().parents[2]
ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
MONTH_LATER = datetime(2027, 2, 15, 12, 0, tzinfo=UTC)  # the world's subscriptions start at T0, Jan 15 12:00


def snapshot() -> dict:
    return {
        "subscriptions": list(Subscription.objects.values().order_by("pk")),
        "invoices": list(Invoice.objects.values().order_by("pk")),
        "attempts": list(PaymentAttempt.objects.values().order_by("pk")),
        "charges": SandboxCharge.objects.count(),
    }


@pytest.mark.django_db
def test_billing_twice_at_one_instant_changes_nothing_the_second_time(world):
    sub = subscribe(world, quantity=2)["subscription"]
    first = billing_run(now=MONTH_LATER)
    assert first["renewed"] == 1
    assert Subscription.objects.get(pk=sub["id"]).current_period_end == datetime(2027, 3, 15, 12, tzinfo=UTC)
    before = snapshot()
    second = billing_run(now=MONTH_LATER)
    assert not any(second.values()), second
    assert snapshot() == before


@pytest.mark.django_db
def test_real_time_job_leaves_test_clock_accounts_to_their_clock(world):
    from seatplan.accounts.models import Account
    from seatplan.clocks.models import TestClock

    subscribe(world, quantity=1)
    world.account.test_clock = TestClock.objects.create(frozen_time=MONTH_LATER, created_at=MONTH_LATER)
    Account.objects.filter(pk=world.account.pk).update(test_clock=world.account.test_clock)
    assert billing_run(now=MONTH_LATER)["renewed"] == 0
    assert billing_run(now=MONTH_LATER, account_ids=[world.account.pk])["renewed"] == 1


@pytest.mark.django_db
def test_a_worker_that_died_after_claiming_is_finished_by_the_next_pass_with_one_charge(world):
    sub = subscribe(world, quantity=3)["subscription"]
    charges, count = _claim_and_issue(now=MONTH_LATER, account_ids=None, batch_size=10, skip=set())
    assert count == 1  # claimed, invoice issued open, attempt pending: then the process died
    get_gateway().charge(
        token=charges[0].token,
        amount=charges[0].amount,
        currency="USD",
        idempotency_key=charges[0].key,
        now=MONTH_LATER,
    )  # ... even after charging
    assert billing_run(now=MONTH_LATER + timedelta(minutes=1))["recovered"] == 0  # maybe still running
    assert billing_run(now=MONTH_LATER + timedelta(minutes=11))["recovered"] == 1
    invoice = Invoice.objects.filter(subscription_id=sub["id"]).order_by("-sequence").first()
    assert (invoice.status, invoice.amount_paid) == ("paid", 3 * 14900)
    assert SandboxCharge.objects.filter(idempotency_key=charges[0].key).count() == 1
    assert PaymentAttempt.objects.filter(status=AttemptStatus.PENDING).count() == 0


@pytest.mark.django_db
def test_seatplan_bill_prints_counts_and_a_second_run_does_nothing(world, capsys):
    subscribe(world, quantity=1)
    assert seatplan_main(["bill", "--now", "2027-02-15T12:00:00Z"]) == 0
    assert "renewed 1" in capsys.readouterr().out
    assert seatplan_main(["bill", "--now", "2027-02-15T12:00:00Z"]) == 0
    assert "renewed 0" in capsys.readouterr().out


def _database_url() -> str:
    name = connection.settings_dict["NAME"]
    if ON_POSTGRES:
        s = connection.settings_dict
        return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"
    return f"sqlite:///{Path(name).resolve()}"


def _bill_in_processes(processes: int, now: datetime) -> list[subprocess.CompletedProcess]:
    env = {
        **os.environ,
        "SEATPLAN_DATABASE_URL": _database_url(),
        "SEATPLAN_SANDBOX": "1",
        "SEATPLAN_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    }
    command = [sys.executable, "-m", "seatplan.cli", "bill", "--now", now.isoformat(), "--no-deliver"]
    running = [
        subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    return [subprocess.CompletedProcess(p.args, p.wait(timeout=600), *p.communicate()) for p in running]


def _check_each_renewed_once(sub_ids: list[str], due_at: datetime) -> None:
    per_sub = dict(
        Invoice.objects.filter(subscription_id__in=sub_ids)
        .values_list("subscription_id")
        .annotate(n=Count("pk"))
        .values_list("subscription_id", "n")
    )
    assert len(per_sub) == len(sub_ids) and set(per_sub.values()) == {1}
    assert SandboxCharge.objects.count() == len(sub_ids)
    assert Subscription.objects.filter(pk__in=sub_ids, current_period_start=due_at).count() == len(sub_ids)
    assert not Invoice.objects.exclude(status="paid").exists()
    assert invoice_numbers_gapless()


@pytest.mark.skipif(
    not ON_POSTGRES,
    reason="4 workers × 2,000 renewals needs PostgreSQL row locks (SKIP LOCKED); "
    "the SQLite variant below runs 2 processes",
)
@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_four_worker_processes_renew_2000_subscriptions_each_exactly_once():
    due_at = datetime(2027, 3, 1, tzinfo=UTC)
    sub_ids = seed_due_subscriptions(2000, due_at=due_at)
    results = _bill_in_processes(4, due_at)
    assert all(r.returncode == 0 for r in results), [r.stderr[-2000:] for r in results]
    renewed = [int(r.stdout.split("renewed ")[1].split(",")[0]) for r in results]
    assert sum(renewed) == 2000
    _check_each_renewed_once(sub_ids, due_at)


@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_share_the_work_without_double_billing():
    due_at = datetime(2027, 3, 1, tzinfo=UTC)
    sub_ids = seed_due_subscriptions(300, due_at=due_at)
    results = _bill_in_processes(2, due_at)
    assert all(r.returncode == 0 for r in results), [r.stderr[-2000:] for r in results]
    assert sum(int(r.stdout.split("renewed ")[1].split(",")[0]) for r in results) == 300
    _check_each_renewed_once(sub_ids, due_at)
