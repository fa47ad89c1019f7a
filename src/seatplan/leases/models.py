"""Run-time session leases (SPEC §6): one row per test run, one pool row per account."""

from django.db import models
from django.db.models import Q

from seatplan.ids import new_id


class RunType(models.TextChoices):
    DESKTOP_BROWSER = "desktop_browser"
    MOBILE_BROWSER = "mobile_browser"
    MOBILE_NATIVE = "mobile_native"


class LeaseStatus(models.TextChoices):
    QUEUED = "queued"
    GRANTED = "granted"
    RELEASED = "released"
    EXPIRED = "expired"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"


OPEN_STATUSES = (LeaseStatus.QUEUED, LeaseStatus.GRANTED)


class SessionPool(models.Model):
    """The account's counters, and its lock: every grant happens with this row locked.

    The counters always equal the number of the account's leases in that status, because every
    change of a lease's status runs in the same transaction as the change of its counter.
    """

    account = models.OneToOneField(
        "accounts.Account", primary_key=True, on_delete=models.CASCADE, related_name="session_pool"
    )
    in_use = models.PositiveIntegerField(default=0)
    queued = models.PositiveIntegerField(default=0)
    # Queue order: each request takes the next ticket; the head is the lowest queued ticket.
    next_ticket = models.BigIntegerField(default=1)
    # No lease can expire nor a queued request time out before this (kept early, never late),
    # so a request only sweeps the account's leases when something may be due.
    next_deadline = models.DateTimeField(null=True, blank=True)
    # The minute being recorded (flushed to UsageMinute when the next minute starts).
    minute = models.DateTimeField(null=True, blank=True)
    minute_peak = models.PositiveIntegerField(default=0)
    # The UTC day the 75 % notice last went out: at most one a day.
    notice_day = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(in_use__gte=0, queued__gte=0), name="pool_counts")]
        indexes = [models.Index(fields=["next_deadline"])]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.in_use} in use, {self.queued} queued"


class SessionLease(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_id("lease"), editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    run_type = models.CharField(max_length=20, choices=RunType.choices)
    status = models.CharField(max_length=10, choices=LeaseStatus.choices)
    ttl_seconds = models.PositiveIntegerField()
    ticket = models.BigIntegerField()
    created_by = models.CharField(max_length=100)  # the actor's label, as in the audit log
    created_at = models.DateTimeField()
    # A queued request gives up at this instant (status timed_out).
    queued_until = models.DateTimeField(null=True, blank=True)
    granted_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "ticket"], name="lease_ticket_unique"),
            models.CheckConstraint(
                condition=~Q(status="granted") | Q(expires_at__isnull=False), name="lease_granted_expires"
            ),
        ]
        indexes = [
            models.Index(fields=["account", "status", "ticket"]),
            models.Index(fields=["account", "status", "expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.run_type} {self.status}"


class UsageMinute(models.Model):
    """Peak concurrent sessions in one minute that saw a change, and the level it ended at."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    minute = models.DateTimeField()
    peak = models.PositiveIntegerField()
    # Sessions in use at the end of the minute: the level until the next recorded minute.
    level = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "minute"], name="usage_minute_unique")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.minute:%Y-%m-%d %H:%M} peak {self.peak}"


class UsageNotice(models.Model):
    """The day an account's use reached 75 % of its limit (one a day; shown in the pages)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    in_use = models.PositiveIntegerField()
    limit = models.PositiveIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "day"], name="usage_notice_once_a_day")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day}: {self.in_use}/{self.limit}"
