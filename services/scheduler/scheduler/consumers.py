"""What the scheduler hears back: fetch failures and finalized classes (queue scheduler.fetch-outcomes).

Both run through `Service.subscribe`: one transaction with the processed-events mark, so a
redelivery is a no-op. An event naming a class this scheduler does not know is poison (DLQ).
"""
from __future__ import annotations

from typing import Any

import asyncpg
import structlog
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from academy_common import topology
from academy_common.bus import PermanentError
from academy_common.events import CloudEvent, refuse_nul

log = structlog.get_logger(__name__)

QUEUE = "scheduler.fetch-outcomes"
ROUTING_KEYS = topology.routing_keys(QUEUE)


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    _storable = field_validator("*")(refuse_nul)


class FetchError(_Payload):
    kind: str = Field(min_length=1, max_length=100)
    status: int | None = None
    message: str = Field(default="", max_length=10_000)


class FetchFailed(_Payload):
    class_id: int = Field(gt=0, lt=2**63)
    request_id: str = Field(min_length=1, max_length=200)
    reason: str
    error: FetchError
    retryable: bool
    failed_at: AwareDatetime


class ClassFinalized(_Payload):
    class_id: int = Field(gt=0, lt=2**63)
    session_id: str | None = None
    finalized_at: AwareDatetime


async def handle(conn: asyncpg.Connection, event: CloudEvent) -> None:
    if event.type == "meet.fetch_failed":
        await fetch_failed(conn, FetchFailed.model_validate(event.data))
    elif event.type == "attendance.class.finalized":
        await class_finalized(conn, ClassFinalized.model_validate(event.data))
    else:
        raise PermanentError(f"{QUEUE} does not handle {event.type}")


async def fetch_failed(conn: asyncpg.Connection, failure: FetchFailed) -> None:
    """Record the error on the class, and on the request it answers (the ticker's retry backoff reads it)."""
    error: dict[str, Any] = {**failure.error.model_dump(), "request_id": failure.request_id,
                             "reason": failure.reason, "retryable": failure.retryable}
    known = await conn.fetchval(
        "UPDATE classes SET fetch_failures = fetch_failures + 1,"
        " last_error = CASE WHEN last_failure_at > $2 THEN last_error ELSE $3::jsonb END,"
        " last_failure_at = GREATEST(last_failure_at, $2) WHERE id = $1 RETURNING true",
        failure.class_id, failure.failed_at, error)
    if not known:
        raise PermanentError(f"meet.fetch_failed for unknown class {failure.class_id}")
    await conn.execute(
        "UPDATE occurrences SET failed_at = $3, retryable = $4, error = $5::jsonb"
        " WHERE class_id = $1 AND event_id = $2 AND (failed_at IS NULL OR failed_at < $3)",
        failure.class_id, failure.request_id, failure.failed_at, failure.retryable, error)
    log.warning("fetch failed", class_id=failure.class_id, request_id=failure.request_id,
                reason=failure.reason, retryable=failure.retryable, error=failure.error.message)


async def class_finalized(conn: asyncpg.Connection, final: ClassFinalized) -> None:
    """The class is complete: no more retries (a later re-finalization keeps the first time)."""
    known = await conn.fetchval(
        "UPDATE classes SET finalized_at = LEAST(finalized_at, $2) WHERE id = $1 RETURNING true",
        final.class_id, final.finalized_at)
    if not known:
        raise PermanentError(f"attendance.class.finalized for unknown class {final.class_id}")
    log.info("class finalized", class_id=final.class_id, session_id=final.session_id)
