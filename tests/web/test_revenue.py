"""The operators' revenue dashboard (SPEC §9): MRR, ARR, churn and money collected by month; staff only."""

from datetime import UTC, datetime

import pytest
from dateutil.relativedelta import relativedelta
from django.test import Client

from seatplan.accounts.models import Account, Membership, Role, User
from seatplan.catalog.models import Price
from seatplan.clocks import models as clocks
from seatplan.clocks.clock import FixedClock, get_clock, set_clock
from seatplan.demo import catalog_seed
from seatplan.invoices.models import Invoice
from seatplan.subscriptions.models import Subscription
from seatplan.subscriptions.revenue import mrr_by_currency, revenue_summary

NOW = datetime(2027, 6, 15, 12, tzinfo=UTC)


def _subscription(
    name: str,
    *,
    cycle: str = "month",
    value: int,
    created: datetime,
    ended: datetime | None = None,
    trial: bool = False,
    clocked: bool = False,
) -> Subscription:
    product = catalog_seed(now=created)
    price = Price.objects.get(product=product, billing_cycle=cycle, active=True)
    clock = clocks.TestClock.objects.create(frozen_time=NOW, created_at=NOW) if clocked else None
    account = Account.objects.create(name=name, created_at=created, test_clock=clock)
    start = NOW - relativedelta(days=10)
    return Subscription.objects.create(
        account=account,
        product=product,
        price=price,
        billing_cycle=cycle,
        quantity=1,
        unit_amount=price.unit_amount,
        currency="USD",
        anchor=start,
        current_period_start=start,
        current_period_end=start + relativedelta(months=1 if cycle == "month" else 12),
        period_value=value,
        created_at=created,
        status="ended" if ended else "active",
        ended_at=ended,
        is_trial=trial,
    )


def _paid_invoice(sub: Subscription, amount: int, paid_at: datetime, number: int) -> None:
    Invoice.objects.create(
        series="SP",
        sequence=number,
        number=f"SP-{number:06d}",
        account=sub.account,
        subscription=sub,
        status="paid",
        currency="USD",
        subtotal=amount,
        discount_total=0,
        tax=0,
        total=amount,
        credit_applied=0,
        amount_due=amount,
        amount_paid=amount,
        billing_details={},
        account_name=sub.account.name,
        issued_at=paid_at,
        paid_at=paid_at,
    )


@pytest.fixture
def book(db) -> dict:
    """Two monthly and one annual paid subscription live; one ended this month; a trial; a test-clock one."""
    jan = datetime(2027, 1, 10, tzinfo=UTC)
    a = _subscription("A", value=14_900, created=jan)
    b = _subscription("B", value=29_800, created=datetime(2027, 5, 20, tzinfo=UTC))
    c = _subscription("C", cycle="year", value=149_000, created=jan)
    gone = _subscription("Gone", value=14_900, created=jan, ended=datetime(2027, 6, 3, tzinfo=UTC))
    _subscription("Trial", value=0, created=datetime(2027, 6, 1, tzinfo=UTC), trial=True)
    clocked = _subscription("Sandbox", value=99_900, created=jan, clocked=True)
    _paid_invoice(a, 14_900, datetime(2027, 5, 10, tzinfo=UTC), 1)
    _paid_invoice(c, 149_000, datetime(2027, 5, 31, 23, 59, tzinfo=UTC), 2)
    _paid_invoice(b, 29_800, datetime(2027, 6, 1, tzinfo=UTC), 3)
    _paid_invoice(clocked, 99_900, datetime(2027, 6, 2, tzinfo=UTC), 4)  # sandbox: not revenue
    return {"a": a, "b": b, "c": c, "gone": gone}


def test_mrr_counts_live_paid_subscriptions_and_a_twelfth_of_annual_ones(book):
    # 14,900 + 29,800 monthly + 149,000 / 12 = 12,416.67 → 12,417 (rounded once, half up)
    assert mrr_by_currency() == {"USD": (14_900 + 29_800 + 12_417, 3)}


def test_the_last_twelve_months_collected_started_ended_and_churn(book):
    (usd,) = revenue_summary(now=NOW)
    assert (usd.mrr, usd.arr, usd.live) == (57_117, 12 * 57_117, 3)
    assert [m.start for m in usd.months][:2] == [datetime(2026, 7, 1).date(), datetime(2026, 8, 1).date()]
    may, june = usd.months[-2], usd.months[-1]
    assert (may.collected, june.collected) == (163_900, 29_800)
    assert (may.started, may.ended, may.live_at_start) == (1, 0, 3)
    # June: A, B, C and Gone were live on June 1; Gone ended: 1 / 4 = 25.00 %
    assert (june.started, june.ended, june.live_at_start, june.churn_bp) == (0, 1, 4, 2_500)
    january = usd.months[-6]
    assert (january.started, january.live_at_start, january.churn_bp) == (3, 0, None)


@pytest.fixture
def staff(db) -> User:
    return User.objects.create_user(email="ops@vendor.test", password="x" * 12, is_staff=True)


@pytest.fixture
def at_now():
    previous = get_clock()
    set_clock(FixedClock(NOW))
    yield
    set_clock(previous)


def test_staff_see_the_dashboard(book, staff, at_now):
    client = Client()
    client.force_login(staff)
    response = client.get("/operator/revenue/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "$571.17" in html and "$6,854.04" in html  # MRR and ARR
    assert "25.0%" in html  # June's churn
    assert html.count('<rect class="bar"') == 12
    assert "<title>May 2027: $1,639.00</title>" in html


@pytest.mark.parametrize("role", [None, Role.OWNER, Role.BILLING_MANAGER, Role.ADMIN, Role.MEMBER])
def test_customers_and_strangers_are_sent_to_the_operator_sign_in(book, role):
    client = Client()
    if role is not None:
        user = User.objects.create_user(email=f"{role}@customer.test", password="x" * 12)
        Membership.objects.create(account=book["a"].account, user=user, role=role, created_at=NOW)
        client.force_login(user)
    response = client.get("/operator/revenue/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
