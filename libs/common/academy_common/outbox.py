"""Transactional outbox: events commit with the state change, a relay publishes them.

A crash after the commit but before the publish loses nothing (the row waits); a crash after
the publish but before the delete re-publishes the same event id, which consumers dedupe.
Several relays may run: `FOR UPDATE SKIP LOCKED` hands each row to one of them at a time.
An event the broker will never take (PermanentError, e.g. too large) moves to `outbox_dead`.
One the broker returns because no queue is bound to its routing key backs off (1 s, 2 s, 4 s
... up to `backoff_max_s`) without holding back the rows behind it, and moves to
`outbox_dead` after `max_attempts` returns. Consumers do not rely on the order of events
(snapshots carry versions), so a row that waits does not make the later ones wrong.
"""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import structlog
from prometheus_client import Counter, Gauge

from academy_common.bus import Bus, PermanentError, UnroutableError
from academy_common.events import CloudEvent

log = structlog.get_logger(__name__)

PENDING = Gauge("outbox_pending", "Outbox rows seen waiting in the last relay batch")
LAG = Gauge("outbox_relay_lag_seconds", "Age of the oldest event in the last relayed batch")
DEAD_LETTERED = Counter("outbox_dead_lettered_total", "Outbox events the broker will never take, moved to outbox_dead",
                        ["type"])
UNROUTABLE = Counter("outbox_unroutable_total", "Outbox events the broker returned (no queue bound), backed off",
                     ["type"])


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
    def __init__(self, pool: asyncpg.Pool, bus: Bus, *, schema: str, poll_s: float = 1.0, batch: int = 200,
                 backoff_s: float = 1.0, backoff_max_s: float = 300.0, max_attempts: int = 20):
        self.pool, self.bus, self.schema = pool, bus, schema
        self.poll_s, self.batch = poll_s, batch
        self.backoff_s, self.backoff_max_s, self.max_attempts = backoff_s, backoff_max_s, max_attempts
        self._wake = asyncio.Event()
        self.idle = asyncio.Event()  # set while waiting for a wake-up (LISTEN is on): a hook for tests

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
                self.idle.set()
                try:  # not wait_for: on 3.11 it can swallow a stop that comes with a wake-up
                    async with asyncio.timeout(self.poll_s):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                self.idle.clear()
                self._wake.clear()

    async def relay_once(self) -> int:
        """Publish one batch with confirms; delete what the broker confirmed, in one transaction.

        An event the broker refused (nack, timeout) stays for the next round without holding
        back the others; one it returned (no queue bound) backs off; one it will never take, or
        returned `max_attempts` times, moves to `outbox_dead`.
        """
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT id, event_id, routing_key, body, created_at, attempts FROM outbox "
                "WHERE next_attempt_at <= now() ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                self.batch,
            )
            PENDING.set(len(rows))
            if not rows:
                return 0
            results = await asyncio.gather(*(
                self.bus.publish_raw(bytes(r["body"]), routing_key=r["routing_key"], message_id=r["event_id"])
                for r in rows
            ), return_exceptions=True)
            done, dead, unroutable = [], [], []
            for row, result in zip(rows, results):
                if result is None:
                    done.append(row["id"])
                elif not isinstance(result, Exception):
                    raise result
                elif isinstance(result, PermanentError) or (
                        isinstance(result, UnroutableError) and row["attempts"] + 1 >= self.max_attempts):
                    log.error("outbox event the broker will never take, moved to outbox_dead",
                              event_id=row["event_id"], routing_key=row["routing_key"], error=str(result))
                    dead.append((row, str(result)))
                elif isinstance(result, UnroutableError):
                    log.warning("outbox event returned by the broker, backing off", event_id=row["event_id"],
                                routing_key=row["routing_key"], attempt=row["attempts"] + 1)
                    unroutable.append(row)
                else:
                    log.warning("outbox event not published, will retry", event_id=row["event_id"], error=str(result))
            await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", done)
            if unroutable:
                await self._back_off(conn, unroutable)
            if dead:
                await _move_to_dead(conn, dead)
        for row in unroutable:  # counted once committed
            UNROUTABLE.labels(row["routing_key"]).inc()
        for row, _ in dead:
            DEAD_LETTERED.labels(row["routing_key"]).inc()
        oldest: datetime = rows[0]["created_at"]
        LAG.set(max(0.0, (datetime.now(UTC) - oldest).total_seconds()))
        return len(done)

    async def _back_off(self, conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> None:
        """Try again after backoff_s·2^attempts (at most backoff_max_s), one more attempt counted."""
        await conn.execute(
            """UPDATE outbox SET attempts = attempts + 1,
                   next_attempt_at = now() + make_interval(secs => least($2::float8, $3::float8 * 2 ^ attempts))
               WHERE id = ANY($1::bigint[])""",
            [row["id"] for row in rows], self.backoff_max_s, self.backoff_s,
        )


async def _move_to_dead(conn: asyncpg.Connection, dead: list[tuple[asyncpg.Record, str]]) -> None:
    """Move the rows the broker will never take to `outbox_dead`, each with its error."""
    await conn.execute(
        """WITH moved AS (DELETE FROM outbox WHERE id = ANY($1::bigint[])
                          RETURNING id, event_id, routing_key, body, created_at)
           INSERT INTO outbox_dead (event_id, routing_key, body, error, created_at)
           SELECT moved.event_id, moved.routing_key, moved.body, failure.error, moved.created_at
           FROM moved JOIN unnest($1::bigint[], $2::text[]) AS failure(id, error) USING (id)
           ON CONFLICT (event_id) DO UPDATE  -- the same event re-enqueued and refused again
           SET routing_key = excluded.routing_key, body = excluded.body, error = excluded.error,
               created_at = excluded.created_at, failed_at = now()""",
        [row["id"] for row, _ in dead], [error for _, error in dead],
    )
