"""Sends what the outbox holds, after the transaction that wrote it has committed."""

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F

from seatplan.events.models import OutboxEvent

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 10


def _send_email(event: OutboxEvent) -> None:
    payload = event.payload
    message = EmailMessage(subject=payload["subject"], body=payload["body"], from_email=settings.DEFAULT_FROM_EMAIL,
                           to=payload["to"])
    for invoice_id in payload.get("attachments", []):
        attachment = _invoice_pdf(invoice_id)
        if attachment:
            message.attach(*attachment)
    message.send()


def _invoice_pdf(invoice_id: str) -> tuple[str, bytes, str] | None:
    try:
        from seatplan.invoices.pdf import invoice_pdf
    except ImportError:  # PDF rendering not installed: the e-mail carries the link only
        return None
    from seatplan.invoices.models import Invoice

    invoice = Invoice.objects.filter(pk=invoice_id).first()
    return (f"{invoice.number}.pdf", invoice_pdf(invoice), "application/pdf") if invoice else None


SENDERS = {"email": _send_email}


def outbox_deliver(*, now: datetime, limit: int = 100) -> int:
    """Deliver pending events once each; a claim (conditional update) keeps two workers apart."""
    sent = 0
    pending = OutboxEvent.objects.filter(delivered_at__isnull=True, type__in=list(SENDERS), attempts__lt=MAX_ATTEMPTS)
    for event in pending.order_by("pk")[:limit]:
        claimed = OutboxEvent.objects.filter(pk=event.pk, delivered_at__isnull=True).update(
            delivered_at=now, attempts=F("attempts") + 1
        )
        if not claimed:
            continue  # another worker has it
        try:
            SENDERS[event.type](event)
            sent += 1
        except Exception:
            logger.exception("outbox event %s failed; will retry", event.pk)
            OutboxEvent.objects.filter(pk=event.pk).update(delivered_at=None)
    return sent


def _deliver_now() -> None:
    from seatplan.clocks.clock import get_clock

    outbox_deliver(now=get_clock().now())


def deliver_after_commit() -> None:
    """One delivery pass once the current transaction commits (none if it rolls back).

    Web requests deliver their own e-mails this way, so the embedded default needs no worker;
    `seatplan worker` delivers whatever is left (a crash between commit and send, retries).
    """
    # No "already scheduled" flag: one left set by a rolled-back transaction would stop delivery for
    # good. A second pass in one commit finds nothing left to send.
    transaction.on_commit(_deliver_now)
