from django.db import models
from django.db.models import Q

from seatplan.ids import new_id


class PaymentMethod(models.Model):
    """The account's one saved card; replacing it forgets the old one."""

    id = models.CharField(primary_key=True, max_length=32, default=new_id("pm"), editable=False)
    account = models.OneToOneField("accounts.Account", on_delete=models.CASCADE, related_name="payment_method")
    gateway = models.CharField(max_length=20)
    token = models.CharField(max_length=100)  # the gateway's reference, never a card number
    brand = models.CharField(max_length=20)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4}"


class AttemptStatus(models.TextChoices):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class PaymentAttempt(models.Model):
    """One charge we asked the gateway for, recorded before the call (crash recovery)."""

    id = models.CharField(primary_key=True, max_length=32, default=new_id("pay"), editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+")
    quote = models.ForeignKey(
        "subscriptions.Quote", null=True, blank=True, on_delete=models.PROTECT, related_name="attempts"
    )
    invoice = models.ForeignKey(
        "invoices.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="attempts"
    )
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    # Sent to the gateway: asking again with it can never charge twice.
    gateway_key = models.CharField(max_length=64, unique=True)
    gateway_charge_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=AttemptStatus.choices, default=AttemptStatus.PENDING)
    failure_code = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["quote"], condition=Q(status="pending"), name="payment_one_pending_per_quote"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            # A checkout's "is one in progress for this account?": a handful of rows, whatever the history.
            models.Index(fields=["account"], condition=Q(status="pending"), name="payment_pending_by_account"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.amount} {self.currency} {self.status}"


class SandboxCharge(models.Model):
    """The sandbox gateway's own ledger, as a real processor keeps one on its side."""

    id = models.CharField(primary_key=True, max_length=32, default=new_id("ch"), editable=False)
    idempotency_key = models.CharField(max_length=64, unique=True)
    token = models.CharField(max_length=100)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10)  # succeeded | failed
    failure_code = models.CharField(max_length=40, blank=True)
    refunded = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.id} {self.amount} {self.status}"
