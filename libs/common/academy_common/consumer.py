"""Consumer helpers: idempotent, transactional handlers over the service's own tables."""
from __future__ import annotations

from typing import Awaitable, Callable

import asyncpg
import structlog

from academy_common.bus import ConsumerSpec, Handler, PermanentError
from academy_common.events import CloudEvent

__all__ = ["ConsumerSpec", "PermanentError", "idempotent", "TransactionalHandler"]

log = structlog.get_logger(__name__)

TransactionalHandler = Callable[[asyncpg.Connection, CloudEvent], Awaitable[None]]


def idempotent(pool: asyncpg.Pool, consumer: str, handler: TransactionalHandler) -> Handler:
    """Run `handler(conn, event)` in one transaction with a processed-events row.

    The effect, any outbox rows it writes and the processed mark commit together, and the
    message is acked only after that commit: a redelivered event finds its mark and is a no-op.
    """

    async def handle(event: CloudEvent) -> None:
        async with pool.acquire() as conn, conn.transaction():
            first_time = await conn.fetchval(
                "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) "
                "ON CONFLICT DO NOTHING RETURNING true",
                consumer, event.id,
            )
            if not first_time:
                log.info("duplicate event skipped", consumer=consumer)
                return
            await handler(conn, event)

    return handle
