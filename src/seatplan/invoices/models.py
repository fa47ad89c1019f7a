from django.db import models
from django.db.models import Q

from seatplan.ids import new_id


class InvoiceStatus(models.TextChoices):
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


class Totals(models.Model):
    """The money of a quote or an invoice (SPEC §4.1 "The shape of a quote and an invoice")."""

    currency = models.CharField(max_length=3)
    subtotal = models.BigIntegerField()
    discount_total = models.BigIntegerField()
    tax = models.BigIntegerField()
    total = models.BigIntegerField()
    credit_applied = models.BigIntegerField()
    amount_due = models.BigIntegerField()

    class Meta:
        abstract = True


class InvoiceCounter(models.Model):
    """One row per number series; taken under a row lock so numbers never skip."""

    series = models.CharField(primary_key=True, max_length=20)
    last_number = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.series}: {self.last_number}"


class Invoice(Totals):
    """Issued once and never edited; a correction is a new document."""

    id = models.CharField(primary_key=True, max_length=32, default=new_id("inv"), editable=False)
    series = models.CharField(max_length=20)
    sequence = models.PositiveBigIntegerField()
    number = models.CharField(max_length=40, unique=True)
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="invoices")
    subscription = models.ForeignKey(
        "subscriptions.Subscription",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    status = models.CharField(max_length=15, choices=InvoiceStatus.choices)
    amount_paid = models.BigIntegerField(default=0)
    billing_details = models.JSONField()  # as of issue
    account_name = models.CharField(max_length=200)
    issued_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta(Totals.Meta):
        abstract = False
        constraints = [
            models.UniqueConstraint(fields=["series", "sequence"], name="invoice_gapless_sequence"),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0) & Q(amount_due__gte=0), name="invoice_amounts_nonnegative"
            ),
        ]
        indexes = [models.Index(fields=["account", "-issued_at"])]

    def __str__(self) -> str:
        return self.number

    @property
    def line_list(self) -> list["InvoiceLine"]:
        """The lines in order: those `invoice_draft` made, for an invoice drafted in this request (nothing to
        read back), else as prefetched or read."""
        drafted = self.__dict__.get("drafted_lines")
        return drafted if drafted is not None else list(self.lines.all())


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10)  # charge | credit | discount
    description = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_amount = models.BigIntegerField()
    amount = models.BigIntegerField()
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    proration = models.BooleanField(default=False)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position"),
        ]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"
