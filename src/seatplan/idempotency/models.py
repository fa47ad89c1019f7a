from django.db import models


class IdempotencyRecord(models.Model):
    """The first response to a keyed POST, replayed for the same key (API.md)."""

    scope = models.CharField(max_length=40)  # the account (or operator) the key belongs to
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # method, path and body of the first request
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)  # null while in flight
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_unique_key")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"
