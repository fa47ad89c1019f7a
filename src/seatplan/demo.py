"""The demo: Demo Co, its four people, TestCloud, a 5-session monthly subscription, two codes."""

from datetime import datetime

from django.db import transaction

from seatplan.accounts.models import Account, Membership, Role, User
from seatplan.accounts.permissions import SYSTEM, Actor
from seatplan.accounts.services import account_create, member_add
from seatplan.catalog.models import DiscountCode, Product
from seatplan.catalog.services import discount_code_create, price_create, product_create
from seatplan.payments.gateway import get_gateway
from seatplan.payments.services import payment_method_save
from seatplan.subscriptions.checkout import quote_checkout
from seatplan.subscriptions.quotes import quote_create

DEMO_PASSWORD = "seatplan-demo"
DEMO_ACCOUNT = "Demo Co"
DEMO_USERS = {
    "owner@demo.test": Role.OWNER,
    "billing@demo.test": Role.BILLING_MANAGER,
    "admin@demo.test": Role.ADMIN,
    "member@demo.test": Role.MEMBER,
}


def catalog_seed(*, now: datetime) -> Product:
    """TestCloud at $149 per session per month and $1,490 per session per year."""
    product = Product.objects.filter(code="testcloud").first()
    if product is None:
        product = product_create(actor=SYSTEM, code="testcloud", name="TestCloud", unit_name="session", now=now)
        price_create(actor=SYSTEM, product=product, currency="USD", billing_cycle="month", unit_amount=14900, now=now)
        price_create(actor=SYSTEM, product=product, currency="USD", billing_cycle="year", unit_amount=149000, now=now)
    return product


def demo_seed(*, now: datetime) -> Account | None:
    """Seed the demo once; returns None when Demo Co exists already."""
    if Account.objects.filter(name=DEMO_ACCOUNT).exists():
        return None
    with transaction.atomic():
        catalog_seed(now=now)
        for code, fields in {
            "WELCOME10": {"percent_off": 10, "duration": "once"},
            "ANNUAL15": {"percent_off": 15, "duration": "forever", "billing_cycles": ["year"]},
        }.items():
            if not DiscountCode.objects.filter(code=code).exists():
                discount_code_create(actor=SYSTEM, now=now, code=code, **fields)
        account = account_create(actor=SYSTEM, name=DEMO_ACCOUNT, owner_email="owner@demo.test", now=now)
        account.business_name, account.address, account.country = "Demo Co Ltd.", "1 Test Street\nBerlin", "DE"
        account.save(update_fields=["business_name", "address", "country"])
        owner_membership = Membership.objects.get(account=account, role=Role.OWNER)
        owner = Actor(user=owner_membership.user, role=Role.OWNER)
        for email, role in DEMO_USERS.items():
            if role != Role.OWNER:
                member_add(actor=owner, account=account, email=email, role=role, now=now)
        for user in User.objects.filter(email__in=DEMO_USERS):
            user.set_password(DEMO_PASSWORD)
            user.name = user.email.split("@")[0].replace("billing", "billing manager").title()
            user.save(update_fields=["password", "name"])
    gateway = get_gateway()
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
        billing_cycle="month",
        quantity=5,
        discount_code=None,
        now=now,
    )
    quote_checkout(actor=owner, account=account, quote_id=quote.pk, gateway=gateway, now=now)
    return account
