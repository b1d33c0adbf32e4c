"""Consumer helpers: idempotent, transactional handlers over the service's own tables."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from academy_common.bus import BatchHandler, ConsumerSpec, Handler, PermanentError
from academy_common.events import CloudEvent

__all__ = [
    "ConsumerSpec",
    "PermanentError",
    "TransactionalBatchHandler",
    "TransactionalHandler",
    "idempotent",
    "idempotent_batch",
]

log = structlog.get_logger(__name__)

TransactionalHandler = Callable[[asyncpg.Connection, CloudEvent], Awaitable[None]]
TransactionalBatchHandler = Callable[[asyncpg.Connection, list[CloudEvent]], Awaitable[None]]


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


def idempotent_batch(pool: asyncpg.Pool, consumer: str, handler: TransactionalBatchHandler) -> BatchHandler:
    """`idempotent` for several events in one transaction: the handler sees each event once,
    only those without a processed mark, and the marks commit with their effects."""

    async def handle(events: list[CloudEvent]) -> None:
        async with pool.acquire() as conn, conn.transaction():
            fresh = set(await conn.fetchval(
                "WITH marked AS (INSERT INTO processed_events (consumer, event_id) SELECT $1, unnest($2::text[]) "
                "ON CONFLICT DO NOTHING RETURNING event_id) SELECT coalesce(array_agg(event_id), '{}') FROM marked",
                consumer, [e.id for e in events],
            ))
            unseen: dict[str, CloudEvent] = {}
            for event in events:
                if event.id in fresh:
                    unseen.setdefault(event.id, event)  # the same event twice in a batch counts once
            if len(unseen) < len(events):
                log.info("duplicate events skipped", consumer=consumer, count=len(events) - len(unseen))
            if unseen:
                await handler(conn, list(unseen.values()))

    return handle
