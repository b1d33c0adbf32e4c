"""Transactional outbox: events commit with the state change, a relay publishes them.

A crash after the commit but before the publish loses nothing (the row waits); a crash after
the publish but before the delete re-publishes the same event id, which consumers dedupe.
Several relays may run: `FOR UPDATE SKIP LOCKED` hands each row to one of them at a time.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import asyncpg
import structlog
from prometheus_client import Gauge

from academy_common.bus import Bus
from academy_common.events import CloudEvent

log = structlog.get_logger(__name__)

PENDING = Gauge("outbox_pending", "Outbox rows seen waiting in the last relay batch")
LAG = Gauge("outbox_relay_lag_seconds", "Age of the oldest event in the last relayed batch")


async def enqueue(conn: asyncpg.Connection, *events: CloudEvent) -> None:
    """Write events in the caller's transaction, in order; the relay is woken when it commits."""
    if not events:
        return
    await conn.execute(
        """WITH added AS (
               INSERT INTO outbox (event_id, routing_key, body)
               SELECT id, key, body FROM unnest($1::text[], $2::text[], $3::bytea[]) WITH ORDINALITY AS e(id, key, body, n)
               ORDER BY n
               ON CONFLICT (event_id) DO NOTHING)
           SELECT pg_notify(current_schema() || '_outbox', '')""",
        [e.id for e in events], [e.type for e in events], [e.to_json() for e in events],
    )


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, bus: Bus, *, schema: str, poll_s: float = 1.0, batch: int = 200):
        self.pool, self.bus, self.schema = pool, bus, schema
        self.poll_s, self.batch = poll_s, batch
        self._wake = asyncio.Event()

    async def run(self) -> None:
        channel = f"{self.schema}_outbox"

        def wake(*_: object) -> None:
            self._wake.set()

        # `async with` releases the listener even when a stop cancels us mid-LISTEN; a
        # connection left acquired would make the pool's close wait forever.
        async with self.pool.acquire() as listener:
            await listener.add_listener(channel, wake)
            try:
                await self._relay_forever()
            finally:
                if not listener.is_closed():
                    await listener.remove_listener(channel, wake)

    async def _relay_forever(self) -> None:
        while True:
            try:
                relayed = await self.relay_once()
            except (OSError, asyncpg.PostgresError, RuntimeError) as exc:
                log.warning("outbox relay failed, will retry", error=f"{type(exc).__name__}: {exc}")
                relayed = 0
                await asyncio.sleep(self.poll_s)
            if relayed < self.batch:
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_s)
                except asyncio.TimeoutError:
                    pass
                self._wake.clear()

    async def relay_once(self) -> int:
        """Publish one batch with confirms; delete what the broker confirmed, in one transaction.

        An event the broker refused (no queue bound yet, nack, timeout) stays for the next
        round without holding back the others.
        """
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT id, event_id, routing_key, body, created_at FROM outbox "
                "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                self.batch,
            )
            PENDING.set(len(rows))
            if not rows:
                return 0
            results = await asyncio.gather(*(
                self.bus.publish_raw(bytes(r["body"]), routing_key=r["routing_key"], message_id=r["event_id"])
                for r in rows
            ), return_exceptions=True)
            done = [r["id"] for r, result in zip(rows, results) if result is None]
            failed = [(r["event_id"], result) for r, result in zip(rows, results) if result is not None]
            for event_id, error in failed:
                if not isinstance(error, Exception):
                    raise error
                log.warning("outbox event not published, will retry", event_id=event_id, error=str(error))
            await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", done)
        oldest: datetime = rows[0]["created_at"]
        LAG.set(max(0.0, (datetime.now(timezone.utc) - oldest).total_seconds()))
        return len(done)
