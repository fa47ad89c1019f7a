from django.db import models
from django.db.models import F, Q

from seatplan.ids import new_id


class BillingCycle(models.TextChoices):
    MONTH = "month", "Monthly"
    YEAR = "year", "Annual"


class Product(models.Model):
    """Something sold per unit as an additional subscription (e.g. TestCloud sessions)."""

    id = models.CharField(primary_key=True, max_length=32, default=new_id("prod"), editable=False)
    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    unit_name = models.CharField(max_length=30, default="session")
    trial_days = models.PositiveIntegerField(default=14)
    trial_quantity = models.PositiveIntegerField(default=2)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class Price(models.Model):
    """Never edited once created: a new price replaces an old one for new purchases."""

    id = models.CharField(primary_key=True, max_length=32, default=new_id("price"), editable=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="prices")
    currency = models.CharField(max_length=3)
    billing_cycle = models.CharField(max_length=5, choices=BillingCycle.choices)
    unit_amount = models.BigIntegerField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(unit_amount__gte=0), name="price_amount_nonnegative"),
            models.UniqueConstraint(
                fields=["product", "currency", "billing_cycle"],
                condition=Q(active=True),
                name="price_one_active_per_cycle",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.code} {self.unit_amount} {self.currency}/{self.billing_cycle}"


class DiscountDuration(models.TextChoices):
    ONCE = "once"
    REPEATING = "repeating"
    FOREVER = "forever"


class DiscountCode(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_id("disc"), editable=False)
    code = models.CharField(max_length=50, unique=True)  # stored upper-case
    percent_off = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    amount_off = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    duration = models.CharField(max_length=10, choices=DiscountDuration.choices)
    duration_in_cycles = models.PositiveIntegerField(null=True, blank=True)
    products = models.JSONField(default=list, blank=True)  # product codes; empty = all
    billing_cycles = models.JSONField(default=list, blank=True)  # empty = both
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(default=0)
    once_per_account = models.BooleanField(default=False)
    first_purchase_only = models.BooleanField(default=False)
    min_quantity = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(percent_off__isnull=False, amount_off__isnull=True, percent_off__gt=0, percent_off__lte=100)
                    | Q(percent_off__isnull=True, amount_off__isnull=False, amount_off__gt=0)
                ),
                name="discount_percent_xor_amount",
            ),
            models.CheckConstraint(
                condition=Q(max_redemptions__isnull=True) | Q(times_redeemed__lte=F("max_redemptions")),
                name="discount_redemptions_within_max",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class DiscountRedemption(models.Model):
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    discount_code = models.ForeignKey(DiscountCode, on_delete=models.PROTECT, related_name="redemptions")
    subscription = models.ForeignKey("subscriptions.Subscription", on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey("invoices.Invoice", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["account", "discount_code"])]

    def __str__(self) -> str:
        return f"{self.discount_code_id} by {self.account_id}"
