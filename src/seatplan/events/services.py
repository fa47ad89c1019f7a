"""Audit log and outbox writes; always inside the caller's transaction."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from seatplan.accounts.permissions import Actor
from seatplan.events.models import AuditEntry, OutboxEvent
from seatplan.sqlrows import insert, new


def audit_record(
    *,
    actor: Actor,
    account_id: str | None,
    action: str,
    obj: Any,
    now: datetime,
    before: dict | None = None,
    after: dict | None = None,
) -> None:
    entry = new(
        AuditEntry,
        account_id=account_id,
        actor=actor.label,
        action=action,
        object_type=type(obj).__name__,
        object_id=str(obj.pk),
        before=before,
        after=after,
        created_at=now,
    )
    insert(entry, read_keys=False)  # one plain INSERT (every change writes one), its key not read back


# A batch job's rows as tuples for sqlrows.copy_rows, in these columns' order.
AUDIT_COLUMNS = ["account_id", "actor", "action", "object_type", "object_id", "before", "after", "created_at"]
OUTBOX_COLUMNS = ["account_id", "type", "payload", "dedupe_key", "created_at", "delivered_at", "attempts"]


def audit_row(
    *,
    actor: Actor,
    account_id: str | None,
    action: str,
    object_type: str,
    object_id: str,
    before: dict | None,
    after: dict | None,
    now: datetime,
) -> tuple:
    """What `audit_record` writes, as an AUDIT_COLUMNS tuple."""
    return (account_id, actor.label, action, object_type, object_id, before, after, now)


def outbox_row(
    *,
    account_id: str | None,
    type: str,
    payload: dict,
    now: datetime,  # noqa: A002 - the column
    dedupe_key: str | None = None,
) -> tuple:
    """What `outbox_add` writes, as an OUTBOX_COLUMNS tuple."""
    return (account_id, type, payload, dedupe_key, now, None, 0)


def outbox_add(
    *, account_id: str | None, type: str, payload: dict, now: datetime, dedupe_key: str | None = None
) -> OutboxEvent | None:
    """Queue a side effect; with a dedupe_key, a second one with the same key is dropped (None)."""
    if dedupe_key is None:
        return OutboxEvent.objects.create(account_id=account_id, type=type, payload=payload, created_at=now)
    try:
        with transaction.atomic():
            return OutboxEvent.objects.create(
                account_id=account_id, type=type, payload=payload, created_at=now, dedupe_key=dedupe_key
            )
    except IntegrityError:
        return None


def email_event(
    *,
    account_id: str | None,
    to: Iterable[str],
    subject: str,
    body: str,
    now: datetime,
    dedupe_key: str | None = None,
    attachments: Iterable[str] = (),
) -> OutboxEvent | None:
    """The (unsaved) outbox row of an e-mail; None when it has nobody to go to."""
    payload = email_payload(to=to, subject=subject, body=body, attachments=attachments)
    if payload is None:
        return None
    return new(OutboxEvent, account_id=account_id, type="email", payload=payload, created_at=now, dedupe_key=dedupe_key)


def email_payload(*, to: Iterable[str], subject: str, body: str, attachments: Iterable[str] = ()) -> dict | None:
    """What an e-mail's outbox row holds; None when it has nobody to go to."""
    recipients = sorted({address.lower() for address in to if address})
    if not recipients:
        return None
    return {"to": recipients, "subject": subject, "body": body, "attachments": list(attachments)}


def email_enqueue(
    *,
    account_id: str | None,
    to: Iterable[str],
    subject: str,
    body: str,
    now: datetime,
    dedupe_key: str | None = None,
    attachments: list[str] | None = None,
) -> OutboxEvent | None:
    """An e-mail, written to the outbox already claimed by this request and sent by it once the transaction
    commits (events.delivery); None when it has nobody to go to, or its dedupe key was queued before.
    `attachments`: invoice ids as PDF."""
    row = email_event(
        account_id=account_id,
        to=to,
        subject=subject,
        body=body,
        now=now,
        dedupe_key=dedupe_key,
        attachments=attachments or (),
    )
    if row is None:
        return None
    from seatplan.events.delivery import claimed_by_request, send_claimed_after_commit

    claimed_by_request(row)  # this request sends it once the transaction commits
    try:
        with transaction.atomic():  # a second e-mail with the same dedupe key is dropped
            row.save()
    except IntegrityError:
        return None
    send_claimed_after_commit([row])
    return row
