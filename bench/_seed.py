"""Seed a benchmark database straight through the services (fast: no HTTP).

    python bench/_seed.py KIND OUT.json '{"param": ...}'

Runs with the benchmark's environment (DJANGO_SETTINGS_MODULE, SEATPLAN_DATABASE_URL, ...).
Each KIND is a function `seed_KIND(now, **params) -> dict`; the result is written to OUT.json.
"""

import json
import sys
import time
from datetime import UTC, datetime

import django

django.setup()

from django.db import transaction  # noqa: E402

from seatplan.accounts.models import Membership, Role  # noqa: E402
from seatplan.accounts.permissions import SYSTEM, Actor  # noqa: E402
from seatplan.accounts.services import account_create, api_key_create  # noqa: E402
from seatplan.demo import catalog_seed  # noqa: E402
from seatplan.payments.gateway import get_gateway  # noqa: E402
from seatplan.payments.services import payment_method_save  # noqa: E402
from seatplan.subscriptions.checkout import quote_checkout  # noqa: E402
from seatplan.subscriptions.quotes import quote_create  # noqa: E402


def _subscribed_account(i: int, *, now: datetime, gateway, quantity: int, cycle: str) -> dict:  # noqa: ANN001
    """One account with an owner, an owner API key, the sandbox Visa and a live subscription."""
    with transaction.atomic():
        account = account_create(actor=SYSTEM, name=f"Bench {i:05d}", owner_email=f"owner{i:05d}@bench.test", now=now)
        owner = Actor(user=Membership.objects.get(account=account, role=Role.OWNER).user, role=Role.OWNER)
        _, key = api_key_create(actor=owner, account=account, name="bench", now=now)
    payment_method_save(
        actor=owner,
        account=account,
        gateway=gateway,
        card_number="4242424242424242",
        exp_month=12,
        exp_year=now.year + 3,
        cvc="123",
        now=now,
    )
    quote = quote_create(
        actor=owner,
        account=account,
        subscription_id=None,
        product_code="testcloud",
        billing_cycle=cycle,
        quantity=quantity,
        discount_code=None,
        now=now,
    )
    done = quote_checkout(actor=owner, account=account, quote_id=quote.pk, gateway=gateway, now=now)
    return {
        "account": account.pk,
        "key": key,
        "subscription": done.subscription.pk,
        "quantity": done.subscription.quantity,
    }


def seed_checkout(now: datetime, *, accounts: int, quantity: int = 1, cycle: str = "month") -> dict:
    catalog_seed(now=now)
    gateway = get_gateway()
    rows, t = [], time.monotonic()
    for i in range(accounts):
        rows.append(_subscribed_account(i, now=now, gateway=gateway, quantity=quantity, cycle=cycle))
        if (i + 1) % 100 == 0:
            print(f"  seeded {i + 1}/{accounts} accounts ({time.monotonic() - t:.1f}s)", file=sys.stderr, flush=True)
    return {"accounts": rows}


def main() -> None:
    kind, out, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    seeder = globals().get(f"seed_{kind}")
    if seeder is None:
        sys.exit(f"no seeder for {kind!r}")
    result = seeder(datetime.now(UTC), **params)
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
