"""Keyed requests: the first response is kept and replayed for the same key (API.md)."""

import hashlib
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction

from seatplan.billing.errors import BillingError
from seatplan.idempotency.models import IdempotencyRecord
from seatplan.sqlrows import insert, new, update, write


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: Any  # the first response's JSON body


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\0".join([method.encode(), path.encode(), body])).hexdigest()


def idempotency_begin(*, scope: str, key: str, fingerprint: str, now: datetime) -> IdempotencyRecord | Replay:
    """Claim the key for this request, or return the first response to replay."""
    if not key or len(key) > 255:
        raise BillingError("idempotency_key_invalid", "Idempotency-Key is 1 to 255 characters.")
    try:
        # One INSERT, committed on its own (autocommit): the claim is visible to a concurrent request at
        # once. Inside a caller's transaction a savepoint keeps that transaction usable after a conflict.
        record = new(IdempotencyRecord, scope=scope, key=key, fingerprint=fingerprint, created_at=now)
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            insert(record)
        return record
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.get(scope=scope, key=key)
    if record.fingerprint != fingerprint:
        raise BillingError("idempotency_key_reused", "This Idempotency-Key was used for another request.")
    if record.status_code is None:
        raise BillingError("idempotency_key_in_use", "A request with this Idempotency-Key is in progress.")
    return Replay(status_code=record.status_code, body=record.response)


def idempotency_replay(*, scope: str, key: str, fingerprint: str) -> Replay | None:
    """The first response to this key and request, if one was recorded (a form sent again)."""
    done = (
        IdempotencyRecord.objects.filter(scope=scope, key=key, fingerprint=fingerprint, status_code__isnull=False)
        .values_list("status_code", "response")
        .first()
    )
    if done is None or done[0] is None:
        return None
    return Replay(status_code=done[0], body=done[1])


class EncodedJson(bytes):
    """A response body that is JSON text already (an API response's content): kept as it is, not
    parsed and encoded again."""


_FINISH_ENCODED_SQL = "UPDATE idempotency_idempotencyrecord SET status_code = %s, response = %s WHERE id = %s"


def idempotency_finish(record: IdempotencyRecord, *, status_code: int, body: dict | EncodedJson | None) -> None:
    """Record the key's response (in a transaction: committed with it; in a `together` block, sent
    with the block's writes); a server error drops the claim instead."""
    if status_code >= 500:
        record.delete()  # nothing was done for sure: let the client try again with the key
        return
    if isinstance(body, EncodedJson):
        # The JSON column takes the text as it is (PostgreSQL parses it as jsonb; SQLite keeps the text).
        write(_FINISH_ENCODED_SQL, [status_code, body.decode(), record.pk], table=IdempotencyRecord._meta.db_table)
        return
    record.status_code, record.response = status_code, body
    update(record, ["status_code", "response"])
