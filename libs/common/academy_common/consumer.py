"""Consumer helpers: idempotent, transactional handlers over the service's own tables, and the
job that prunes their processed-event marks."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
import structlog
from prometheus_client import Counter

from academy_common.bus import BatchHandler, ConsumerSpec, Handler, PermanentError
from academy_common.events import CloudEvent

__all__ = [
    "ConsumerSpec",
    "PermanentError",
    "ProcessedEventsPruner",
    "TransactionalBatchHandler",
    "TransactionalHandler",
    "idempotent",
    "idempotent_batch",
]

log = structlog.get_logger(__name__)

PRUNED = Counter("processed_events_pruned_total", "Processed-event marks deleted for their age")

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


class ProcessedEventsPruner:
    """Deletes processed-event marks older than the retention, every `interval_s`.

    A mark only matters while a copy of its event can still arrive, and settings refuse a
    retention shorter than that (`ServiceSettings.redelivery_bound_s`). Deletes go in batches
    of short transactions so that consumers never wait on a long one; replicas may prune at
    the same time. The first run waits one interval: after a long stop, the messages whose
    acks the stop lost are redelivered before any mark is old enough to go.
    """

    def __init__(self, pool: asyncpg.Pool, *, retention_s: float, interval_s: float, batch: int = 5000):
        self.pool, self.retention = pool, timedelta(seconds=retention_s)
        self.interval_s, self.batch = interval_s, batch

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            pruned = await self.prune_once()
            if pruned:
                log.info("processed events pruned", count=pruned, retention_s=self.retention.total_seconds())

    async def prune_once(self) -> int:
        total = 0
        while True:
            deleted = await self.pool.fetchval(
                """WITH gone AS (
                       DELETE FROM processed_events WHERE ctid = ANY(ARRAY(
                           SELECT ctid FROM processed_events WHERE processed_at < now() - $1::interval LIMIT $2))
                       RETURNING 1)
                   SELECT count(*) FROM gone""",
                self.retention, self.batch,
            )
            total += deleted
            PRUNED.inc(deleted)
            if deleted < self.batch:
                return total
