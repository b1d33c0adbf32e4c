"""The Meet read-rate limit every replica respects together: GCRA reservations in PostgreSQL.

`reserve_read` (migrations/001_init.sql) reserves a read's start time under the project key and
the caller's user key in one statement, or says when the user's next slot comes; the caller
sleeps accordingly. Reads therefore start at least 60/limit seconds apart per key, whatever
the number of replicas: a sliding minute never holds more than the limit. A reservation a
cancelled fetch leaves unused is lost capacity, never excess.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg

PROJECT_KEY = "project"


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
