"""Keyed requests: the first response is kept and replayed for the same key (API.md)."""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction

from seatplan.billing.errors import BillingError
from seatplan.idempotency.models import IdempotencyRecord


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: dict


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\0".join([method.encode(), path.encode(), body])).hexdigest()


def idempotency_begin(*, scope: str, key: str, fingerprint: str, now: datetime) -> IdempotencyRecord | Replay:
    """Claim the key for this request, or return the first response to replay."""
    if not key or len(key) > 255:
        raise BillingError("idempotency_key_invalid", "Idempotency-Key is 1 to 255 characters.")
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(scope=scope, key=key, fingerprint=fingerprint, created_at=now)
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.get(scope=scope, key=key)
    if record.fingerprint != fingerprint:
        raise BillingError("idempotency_key_reused", "This Idempotency-Key was used for another request.")
    if record.status_code is None:
        raise BillingError("idempotency_key_in_use", "A request with this Idempotency-Key is in progress.")
    return Replay(status_code=record.status_code, body=record.response)


def idempotency_finish(record: IdempotencyRecord, *, status_code: int, body: dict | None) -> None:
    if status_code >= 500:
        record.delete()  # nothing was done for sure: let the client try again with the key
        return
    IdempotencyRecord.objects.filter(pk=record.pk).update(status_code=status_code, response=body)
