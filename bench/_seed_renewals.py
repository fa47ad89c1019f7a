"""Seed due monthly subscriptions by bulk insert (fast): python bench/_seed_renewals.py OUT.json '{"sets": [...]}'

Each set is {"count": N, "due_at": ISO}: N accounts, each with one member (owner), a sandbox Visa and a
monthly subscription of 1-3 sessions whose current period ends at due_at.
"""

import json
import sys
import time
from datetime import datetime

import django

django.setup()

from dateutil.relativedelta import relativedelta  # noqa: E402
from django.db import transaction  # noqa: E402

from seatplan.accounts.models import Account, Membership, Role, User  # noqa: E402
from seatplan.catalog.models import Price  # noqa: E402
from seatplan.demo import catalog_seed  # noqa: E402
from seatplan.payments.models import PaymentMethod  # noqa: E402
from seatplan.subscriptions.models import Subscription  # noqa: E402

CHUNK = 5000


def seed_set(offset: int, count: int, due_at: datetime) -> None:
    product = catalog_seed(now=due_at)
    price = Price.objects.get(product=product, billing_cycle="month", active=True)
    start = due_at - relativedelta(months=1)
    for base in range(0, count, CHUNK):
        n = min(CHUNK, count - base)
        with transaction.atomic():
            ids = range(offset + base, offset + base + n)
            accounts = Account.objects.bulk_create(Account(name=f"Renew {i:06d}", created_at=start) for i in ids)
            users = User.objects.bulk_create(
                User(email=f"owner{i:06d}@renew.test", password="!", date_joined=start) for i in ids
            )
            Membership.objects.bulk_create(
                Membership(account=a, user=u, role=Role.OWNER, created_at=start)
                for a, u in zip(accounts, users, strict=True)
            )
            PaymentMethod.objects.bulk_create(
                PaymentMethod(
                    account=a,
                    gateway="sandbox",
                    token=f"sbx.succeeds.{a.pk}",
                    brand="Visa",
                    last4="4242",
                    exp_month=12,
                    exp_year=due_at.year + 3,
                    created_at=start,
                )
                for a in accounts
            )
            Subscription.objects.bulk_create(
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
                for i, a in zip(ids, accounts, strict=True)
            )


def main() -> None:
    out, params = sys.argv[1], json.loads(sys.argv[2])
    t = time.monotonic()
    offset = 0
    for s in params["sets"]:
        seed_set(offset, s["count"], datetime.fromisoformat(s["due_at"]))
        offset += s["count"]
    with open(out, "w") as f:
        json.dump({"subscriptions": offset, "seconds": time.monotonic() - t}, f)


if __name__ == "__main__":
    main()
