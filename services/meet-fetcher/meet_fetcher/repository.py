"""SQL of the fetcher's own schema: the caches (last snapshot per class, user → email) and the read limiter.

`PgRateLimiter` is the Meet read-rate limit every replica respects together, GCRA reservations in
PostgreSQL: `reserve_read` (migrations/001_init.sql) reserves a read's start time under the project key and
the caller's user key in one statement, or says when the user's next slot comes; the caller
sleeps accordingly. Reads therefore start at least 60/limit seconds apart per key, whatever
the number of replicas: a sliding minute never holds more than the limit. A reservation a
cancelled fetch leaves unused is lost capacity, never excess.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import asyncpg
import structlog

from meet_fetcher.snapshot import Snapshot, records_json, snapshot_from_json

log = structlog.get_logger(__name__)

PROJECT_KEY = "project"


class Cache:
    def __init__(self, pool: Callable[[], asyncpg.Pool], *, email_ttl: timedelta):
        self._pool, self.email_ttl = pool, email_ttl

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool()  # the service opens its pool at start, after wiring

    async def last_snapshot(self, class_id: int, space_name: str | None) -> Snapshot | None:
        row = await self.pool.fetchrow("SELECT space_name, records FROM snapshots WHERE class_id = $1", class_id)
        if row is None or (space_name and row["space_name"] != space_name):
            return None
        try:
            return snapshot_from_json(row["space_name"], row["records"])
        except (KeyError, TypeError, ValueError) as exc:  # a damaged cache row only costs a full fetch
            log.warning("cached snapshot unreadable, fetching everything", class_id=class_id, error=repr(exc))
            return None

    async def save_snapshot(self, class_id: int, session_id: str, snapshot: Snapshot, fetched_at: datetime) -> None:
        """Keep the newest: a slower concurrent fetch of the same class does not roll it back."""
        await self.pool.execute(
            """INSERT INTO snapshots (class_id, session_id, space_name, fetched_at, records)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (class_id) DO UPDATE SET session_id = EXCLUDED.session_id,
                   space_name = EXCLUDED.space_name, fetched_at = EXCLUDED.fetched_at, records = EXCLUDED.records
               WHERE snapshots.fetched_at <= EXCLUDED.fetched_at""",
            class_id, session_id, snapshot.space_name, fetched_at, records_json(snapshot),
        )

    async def emails(self, users: list[str]) -> dict[str, str | None]:
        rows = await self.pool.fetch(
            "SELECT user_name, email FROM emails WHERE user_name = ANY($1::text[]) AND resolved_at > now() - $2::interval",
            users, self.email_ttl,
        )
        return {r["user_name"]: r["email"] for r in rows}

    async def save_emails(self, emails: dict[str, str | None]) -> None:
        await self.pool.executemany(
            """INSERT INTO emails (user_name, email) VALUES ($1, $2)
               ON CONFLICT (user_name) DO UPDATE SET email = EXCLUDED.email, resolved_at = now()""",
            sorted(emails.items()),
        )

    async def prune(self, snapshot_ttl: timedelta) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            gone = await conn.fetchval(
                "WITH d AS (DELETE FROM snapshots WHERE fetched_at < now() - $1::interval RETURNING 1) "
                "SELECT count(*) FROM d", snapshot_ttl)
            gone += await conn.fetchval(
                "WITH d AS (DELETE FROM emails WHERE resolved_at < now() - $1::interval RETURNING 1) "
                "SELECT count(*) FROM d", self.email_ttl)
        return gone


class PgRateLimiter:
    def __init__(self, pool: Callable[[], asyncpg.Pool], *, per_minute: int, per_user_per_minute: int):
        self._pool = pool
        self.project_gap = 60.0 / per_minute
        self.user_gap = 60.0 / per_user_per_minute

    async def acquire(self, user: str) -> None:
        while True:
            reserved, wait = await self._pool().fetchrow(
                "SELECT reserved, wait_s FROM reserve_read($1, $2, $3, $4)",
                PROJECT_KEY, self.project_gap, f"user:{user}", self.user_gap,
            )
            if wait > 0:
                await asyncio.sleep(wait)
            if reserved:
                return
