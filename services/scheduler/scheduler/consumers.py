"""What the scheduler hears back: fetch failures and finalized classes (queue scheduler.fetch-outcomes).

Both run through `Service.subscribe`: one transaction with the processed-events mark, so a
redelivery is a no-op. An event naming a class this scheduler does not know is poison (DLQ).
"""
from __future__ import annotations

from typing import Any

import asyncpg
import structlog

from academy_common import topology
from academy_common.bus import PermanentError
from academy_common.contracts import CLASS_FINALIZED, FETCH_FAILED, ClassFinalized, FetchFailed
from academy_common.events import CloudEvent

log = structlog.get_logger(__name__)

QUEUE = "scheduler.fetch-outcomes"
ROUTING_KEYS = topology.routing_keys(QUEUE)


async def handle(conn: asyncpg.Connection, event: CloudEvent) -> None:
    if event.type == FETCH_FAILED.type:
        await fetch_failed(conn, FETCH_FAILED.parse(event))
    elif event.type == CLASS_FINALIZED.type:
        await class_finalized(conn, CLASS_FINALIZED.parse(event))
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
