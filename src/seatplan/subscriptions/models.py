from django.db import models
from django.db.models import Q

from seatplan.ids import new_id
from seatplan.invoices.models import Totals

MAX_QUANTITY = 1000


class Status(models.TextChoices):
    ACTIVE = "active"
    PAST_DUE = "past_due"
    ENDED = "ended"


LIVE_STATUSES = (Status.ACTIVE, Status.PAST_DUE)


class Subscription(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_id("sub"), editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="subscriptions")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    price = models.ForeignKey("catalog.Price", on_delete=models.PROTECT, related_name="+")
    billing_cycle = models.CharField(max_length=5)
    quantity = models.PositiveIntegerField()
    # Kept for the subscription's life, even when the catalog price changes.
    unit_amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    # Periods are counted from the anchor so that month-end clamping never drifts.
    anchor = models.DateTimeField()
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField()
    # What the whole current period is worth after discounts: the base of unused-time credits.
    period_value = models.BigIntegerField(default=0)
    auto_renew = models.BooleanField(default=True)
    scheduled_quantity = models.PositiveIntegerField(null=True, blank=True)
    discount_code = models.ForeignKey(
        "catalog.DiscountCode", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Renewals the discount in force still applies to; null with a code = forever.
    discount_remaining_cycles = models.PositiveIntegerField(null=True, blank=True)
    is_trial = models.BooleanField(default=False)
    trial_end = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every change; a quote is only good for the version it was made for.
    version = models.PositiveIntegerField(default=1)
    # When the open renewal invoice is charged again (declines and gateway errors, §4.5).
    next_retry_at = models.DateTimeField(null=True, blank=True)
    # The period end (or trial end) whose reminder e-mail has gone out: one reminder per renewal.
    reminder_sent_for = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1, quantity__lte=MAX_QUANTITY), name="subscription_quantity_range"
            ),
            models.UniqueConstraint(
                fields=["account", "product"],
                condition=Q(status__in=["active", "past_due"]),
                name="subscription_one_live_per_product",
            ),
            models.CheckConstraint(
                condition=Q(current_period_end__gt=models.F("current_period_start")),
                name="subscription_period_forward",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "current_period_end"]),
            models.Index(
                fields=["next_retry_at"], condition=Q(next_retry_at__isnull=False), name="subscription_retry_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.quantity}×{self.product_id} {self.billing_cycle} {self.status}"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


class Quote(Totals):
    """A priced change, fixed for 30 minutes: what it shows is exactly what checkout charges."""

    id = models.CharField(primary_key=True, max_length=32, default=new_id("quote"), editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="quotes")
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.CASCADE, related_name="quotes"
    )
    # The subscription version it was priced against (stale once the subscription moves on).
    subscription_version = models.PositiveIntegerField(null=True, blank=True)
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    price = models.ForeignKey("catalog.Price", on_delete=models.PROTECT, related_name="+")
    billing_cycle = models.CharField(max_length=5)
    quantity = models.PositiveIntegerField()
    discount_code = models.ForeignKey(
        "catalog.DiscountCode", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lines = models.JSONField()
    # The subscription as it will stand after checkout (dates ISO, discount, period value).
    outcome = models.JSONField()
    next_renewal_at = models.DateTimeField(null=True, blank=True)
    next_renewal_amount = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.id} {self.amount_due} {self.currency}"
