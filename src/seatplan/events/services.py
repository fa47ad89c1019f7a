"""Audit log and outbox writes; always inside the caller's transaction."""

from datetime import datetime
from typing import Any

from seatplan.accounts.permissions import Actor
from seatplan.events.models import AuditEntry, OutboxEvent


def audit_record(
    *,
    actor: Actor,
    account_id: str | None,
    action: str,
    obj: Any,
    now: datetime,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        account_id=account_id,
        actor=actor.label,
        action=action,
        object_type=type(obj).__name__,
        object_id=str(obj.pk),
        before=before,
        after=after,
        created_at=now,
    )


def outbox_add(*, account_id: str | None, type: str, payload: dict, now: datetime) -> OutboxEvent:
    return OutboxEvent.objects.create(account_id=account_id, type=type, payload=payload, created_at=now)
