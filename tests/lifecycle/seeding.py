"""Many due subscriptions at once, by bulk insert (the concurrency tests; bench/_seed_renewals.py does the same)."""

from datetime import datetime

from dateutil.relativedelta import relativedelta

from seatplan.accounts.models import Account
from seatplan.catalog.models import Price
from seatplan.demo import catalog_seed
from seatplan.payments.models import PaymentMethod
from seatplan.subscriptions.models import Subscription


def seed_due_subscriptions(count: int, *, due_at: datetime) -> list[str]:
    """`count` accounts with a sandbox Visa and a monthly subscription whose period ends at due_at."""
    product = catalog_seed(now=due_at)
    price = Price.objects.get(product=product, billing_cycle="month", active=True)
    start = due_at - relativedelta(months=1)
    accounts = Account.objects.bulk_create(
        Account(name=f"Load {i}", created_at=start, invoice_emails=[f"billing{i}@load.test"]) for i in range(count)
    )
    PaymentMethod.objects.bulk_create(
        PaymentMethod(
            account=a,
            gateway="sandbox",
            token=f"sbx.succeeds.{a.pk}",
            brand="Visa",
            last4="4242",
            exp_month=12,
            exp_year=2035,
            created_at=start,
        )
        for a in accounts
    )
    subs = Subscription.objects.bulk_create(
        Subscription(
            account=a,
            product=product,
            price=price,
            billing_cycle="month",
            quantity=1 + i % 3,
            unit_amount=price.unit_amount,
            currency="USD",
            anchor=start,
            current_period_start=start,
            current_period_end=due_at,
            period_value=price.unit_amount * (1 + i % 3),
            created_at=start,
        )
        for i, a in enumerate(accounts)
    )
    return [s.pk for s in subs]
