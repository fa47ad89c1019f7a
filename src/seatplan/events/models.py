from django.db import models
from django.db.models import Q


class AuditEntry(models.Model):
    """Append-only: who changed what, when, before and after (SPEC §7)."""

    account = models.ForeignKey("accounts.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor = models.CharField(max_length=100)  # "user:<id>", "system:billing", …
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=40)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["account", "created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_id}"


class OutboxEvent(models.Model):
    """A side effect to deliver after commit (webhook, e-mail); rolled back with its change."""

    account = models.ForeignKey("accounts.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    type = models.CharField(max_length=60)
    payload = models.JSONField()
    # Set for effects that must happen once however often the job that makes them runs.
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["delivered_at", "created_at"]),
            # The e-mails still to send, in order: what every delivery pass reads. Webhook events are
            # not sent from here and stay undelivered; without this index each pass read all of them.
            models.Index(
                fields=["id"], condition=Q(delivered_at__isnull=True, type="email"), name="outbox_email_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


class WebhookDelivery(models.Model):
    """One outbox event on its way to one webhook endpoint: tried until it is answered 2xx, with back-off."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.PROTECT, related_name="+")
    url = models.CharField(max_length=500)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()  # also the claim: a worker sending it pushes this forward
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)  # given up after the last attempt
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "url"], name="webhook_delivery_once")]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(delivered_at__isnull=True, failed_at__isnull=True),
                name="webhook_delivery_due",
            )
        ]

    def __str__(self) -> str:
        return f"event {self.event_id} to {self.url}"
