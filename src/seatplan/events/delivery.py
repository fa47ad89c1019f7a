"""Sends what the outbox holds, after the transaction that wrote it has committed."""

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction

from seatplan.events.models import OutboxEvent

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 10


class _Message(EmailMessage):
    """An e-mail whose invoice PDFs are rendered when the message is built (by a backend that sends it).

    Rendering a PDF is the costly part of an e-mail (WeasyPrint: about 0.2 s of CPU); a backend that
    builds no message (Django's dummy backend) does not pay for one nobody reads.
    """

    def __init__(self, *, invoice_ids: list[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self._pending_pdfs = list(invoice_ids)

    def message(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        pending, self._pending_pdfs = self._pending_pdfs, []
        for invoice_id in pending:
            attachment = _invoice_pdf(invoice_id)
            if attachment:
                self.attach(*attachment)
        return super().message(*args, **kwargs)


def _send_email(event: OutboxEvent) -> None:
    payload = event.payload
    message = _Message(
        subject=payload["subject"],
        body=payload["body"],
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=payload["to"],
        invoice_ids=payload.get("attachments", []),
    )
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


# A delivery pass (the worker, or a request that queued e-mails without keys): pending events, then a claim each.
_PENDING_SQL = (  # noqa: S608 - placeholders only
    "SELECT * FROM events_outboxevent WHERE delivered_at IS NULL AND type IN ({types}) AND attempts < %s "
    "ORDER BY id LIMIT %s"
).format(types=", ".join(["%s"] * len(SENDERS)))
_CLAIM_SQL = (
    "UPDATE events_outboxevent SET delivered_at = %s, attempts = attempts + 1 WHERE id = %s AND delivered_at IS NULL"
)


def outbox_deliver(*, now: datetime, limit: int = 100) -> int:
    """Deliver pending events once each; a claim (conditional update) keeps two workers apart."""
    sent = 0
    at = connection.ops.adapt_datetimefield_value(now)
    for event in list(OutboxEvent.objects.raw(_PENDING_SQL, [*SENDERS, MAX_ATTEMPTS, limit])):
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, [at, event.pk])
            claimed = cursor.rowcount
        if not claimed:
            continue  # another worker has it
        sent += _send_claimed(event)
    return sent


def _send_claimed(event: OutboxEvent) -> bool:
    """Send an event this process has claimed; on failure give the claim back for a later pass (found by
    its key, or by its dedupe key when it was inserted without reading its key back)."""
    try:
        SENDERS[event.type](event)
    except Exception:
        logger.exception("outbox event %s failed; will retry", event.pk or event.dedupe_key)
        found = (
            OutboxEvent.objects.filter(pk=event.pk)
            if event.pk is not None
            else OutboxEvent.objects.filter(type=event.type, dedupe_key=event.dedupe_key)
        )
        found.update(delivered_at=None)
        return False
    return True


def _deliver_now() -> None:
    from seatplan.clocks.clock import get_clock

    outbox_deliver(now=get_clock().now())


def claimed_by_request(event: OutboxEvent) -> OutboxEvent:
    """An e-mail about to be inserted, marked claimed by this request as a delivery pass's claim marks it:
    no pass picks it up, and `send_claimed_after_commit` needs no statement to claim it. A request's own
    e-mails go this way, so the embedded default needs no worker; a crash between the commit and the
    send loses that e-mail, as a crash between a pass's claim and its send does."""
    from seatplan.clocks.clock import get_clock

    event.delivered_at, event.attempts = get_clock().now(), 1
    return event


def send_claimed_after_commit(events: list[OutboxEvent]) -> None:
    """Send e-mails inserted `claimed_by_request` once the transaction commits; one that fails is given
    back to the worker (nothing is sent if the transaction rolls back)."""
    for event in events:
        if event.pk is None and not event.dedupe_key:
            raise ValueError("a claimed e-mail is given back by its key or its dedupe key: it needs one of them")
    transaction.on_commit(lambda: [_send_claimed(event) for event in events])


def deliver_after_commit() -> None:
    """One delivery pass over whatever e-mail is pending, once the current transaction commits (nothing if
    it rolls back): for e-mails a request queued in a batch rather than `claimed_by_request`.
    `seatplan worker` delivers whatever is left (a crash between commit and send, retries)."""
    # No "already scheduled" flag: one left set by a rolled-back transaction would stop delivery for
    # good. A second pass in one commit finds nothing left to send.
    transaction.on_commit(_deliver_now)
