"""Audit log and outbox writes; always inside the caller's transaction."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

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


def outbox_add(
    *, account_id: str | None, type: str, payload: dict, now: datetime, dedupe_key: str | None = None
) -> OutboxEvent | None:
    """Queue a side effect; with a dedupe_key, a second one with the same key is dropped (None)."""
    if dedupe_key is None:
        return OutboxEvent.objects.create(account_id=account_id, type=type, payload=payload, created_at=now)
    try:
        with transaction.atomic():
            return OutboxEvent.objects.create(account_id=account_id, type=type, payload=payload, created_at=now,
                                              dedupe_key=dedupe_key)
    except IntegrityError:
        return None


def email_enqueue(
    *, account_id: str | None, to: Iterable[str], subject: str, body: str, now: datetime,
    dedupe_key: str | None = None, attachments: list[str] | None = None,
) -> OutboxEvent | None:
    """An e-mail, sent by the outbox after commit (events.delivery). `attachments`: invoice ids as PDF."""
    recipients = sorted({address.lower() for address in to if address})
    if not recipients:
        return None
    payload = {"to": recipients, "subject": subject, "body": body, "attachments": attachments or []}
    event = outbox_add(account_id=account_id, type="email", payload=payload, now=now, dedupe_key=dedupe_key)
    if event is not None:
        from seatplan.events.delivery import deliver_after_commit

        deliver_after_commit()
    return event
