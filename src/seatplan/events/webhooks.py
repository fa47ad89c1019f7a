"""Webhooks (SPEC §7): outbox events, signed, to the vendor's endpoints, retried with back-off.

Two steps, both safe to run from any number of workers at once:
1. fan out — one transaction: take undelivered events (every type but e-mails, oldest first, rows
   another worker holds skipped), write one `WebhookDelivery` per configured endpoint and mark the
   event handed over. An event exists only if the change that wrote it committed, so none is invented.
2. send — claim due deliveries by moving their next attempt forward (`CLAIM_SECONDS`) and commit; POST
   each outside any transaction; record the answer. 2xx: delivered. Anything else (or no answer):
   tried again after `BACKOFF_SECONDS[attempt]`, given up after the last one. A worker that dies
   mid-send leaves the claim to run out: the delivery is tried again (at least once; receivers
   deduplicate by the event id).

The request: `POST url`, body `{"id", "type", "created_at", "account", "data"}` (JSON), headers
`Seatplan-Event-Id` and `Seatplan-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
"""

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db import transaction

from seatplan.events.models import OutboxEvent, WebhookDelivery

logger = logging.getLogger(__name__)

# Seconds to wait after the n-th failed attempt (n = 1, 2, …); after the last, the delivery is given up:
# eight attempts over about 45 hours.
BACKOFF_SECONDS = [60, 5 * 60, 30 * 60, 2 * 3600, 6 * 3600, 12 * 3600, 24 * 3600]
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1
CLAIM_SECONDS = 5 * 60  # longer than a request can take (timeout 10 s)

Post = Callable[[str, bytes, dict[str, str]], int]  # url, body, headers → HTTP status (raises: no answer)


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `Seatplan-Signature` header's value for this body at this instant."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_body(event: OutboxEvent) -> bytes:
    return json.dumps(
        {
            "id": f"evt_{event.pk}",
            "type": event.type,
            "created_at": event.created_at.isoformat(),
            "account": event.account_id,
            "data": event.payload,
        },
        separators=(",", ":"),
    ).encode()


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    return httpx.post(url, content=body, headers=headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS).status_code


def webhooks_deliver(*, now: datetime, limit: int = 500, post: Post = _post) -> int:
    """Fan out new events and send what is due at `now`; returns how many deliveries were answered 2xx."""
    if not settings.WEBHOOK_URLS:
        return 0  # nowhere to send: the events wait in the outbox until an endpoint is configured
    while webhooks_fan_out(now=now, limit=limit):
        pass
    delivered = 0
    while True:
        batch = _claim(now, limit)
        if not batch:
            return delivered
        delivered += sum(_send(delivery, now, post) for delivery in batch)


def webhooks_fan_out(*, now: datetime, limit: int) -> int:
    """One batch of events handed to their deliveries; returns how many events."""
    with transaction.atomic():
        events = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(delivered_at__isnull=True)
            .exclude(type="email")
            .order_by("pk")[:limit]
        )
        if not events:
            return 0
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(event=event, url=url, next_attempt_at=now)
                for event in events
                for url in settings.WEBHOOK_URLS
            ],
            ignore_conflicts=True,
        )
        OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).update(delivered_at=now)
        return len(events)


def _claim(now: datetime, limit: int) -> list[WebhookDelivery]:
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event")
            .filter(delivered_at__isnull=True, failed_at__isnull=True, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")[:limit]
        )
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in due]).update(
            next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS)
        )
    return due


def _send(delivery: WebhookDelivery, now: datetime, post: Post) -> bool:
    event = delivery.event
    body = webhook_body(event)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Seatplan-Webhooks",
        "Seatplan-Event-Id": f"evt_{event.pk}",
        "Seatplan-Signature": webhook_signature(settings.WEBHOOK_SECRET, int(now.timestamp()), body),
    }
    status, error = None, ""
    try:
        status = post(delivery.url, body, headers)
    except Exception as exc:  # noqa: BLE001 - no answer of any kind is a failed attempt
        error = f"{type(exc).__name__}: {exc}"[:300]
    delivery.attempts += 1
    delivery.last_status, delivery.last_error = status, error
    ok = status is not None and 200 <= status < 300
    if ok:
        delivery.delivered_at = now
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.failed_at = now
        logger.warning("webhook %s to %s given up after %d attempts", event.pk, delivery.url, delivery.attempts)
    else:
        delivery.next_attempt_at = now + timedelta(seconds=BACKOFF_SECONDS[delivery.attempts - 1])
    delivery.save(
        update_fields=["attempts", "last_status", "last_error", "delivered_at", "failed_at", "next_attempt_at"]
    )
    return ok
