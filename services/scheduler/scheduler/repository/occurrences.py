"""SQL of the ticker: the classes it advances, their occurrences and sessions, its own run record."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from scheduler.errors import NotFound
from scheduler.timetable import Attempt, Occurrence, Progress

_CLASS = """
SELECT c.id, c.status, c.start_at, c.end_at, c.finalized_at, c.space_name, c.meeting_code,
       t.email AS organizer_email
FROM classes c JOIN teachers t ON t.id = c.teacher_id
WHERE c.id = $1 FOR UPDATE OF c
"""
# Classes that may owe something: started, not finalized, not past the retry window.
_CANDIDATES = """
SELECT c.id FROM classes c LEFT JOIN class_sessions s ON s.class_id = c.id
WHERE c.status = 'scheduled' AND c.start_at <= $1 AND c.finalized_at IS NULL
  AND (s.ended_at IS NULL OR c.end_at + $2 >= $1)
ORDER BY c.start_at, c.id
"""


async def candidate_ids(pool: asyncpg.Pool, now: datetime, retry_window: timedelta) -> list[int]:
    return [r["id"] for r in await pool.fetch(_CANDIDATES, now, retry_window)]


async def active_class_ids(pool: asyncpg.Pool, now: datetime) -> list[int]:
    rows = await pool.fetch(
        "SELECT id FROM classes WHERE status = 'scheduled' AND start_at <= $1 AND end_at > $1 ORDER BY id", now)
    return [r["id"] for r in rows]


async def locked_class(conn: asyncpg.Connection, class_id: int) -> asyncpg.Record:
    row = await conn.fetchrow(_CLASS, class_id)
    if row is None:
        raise NotFound(f"class {class_id} does not exist")
    return row


async def progress(conn: asyncpg.Connection, row: asyncpg.Record) -> Progress:
    rows = await conn.fetch(
        "SELECT kind, reason, seq, emitted_at, failed_at, retryable FROM occurrences"
        " WHERE class_id = $1 AND reason <> 'manual' AND (reason <> 'active' OR seq = ("
        "   SELECT max(seq) FROM occurrences WHERE class_id = $1 AND reason = 'active'))"
        " ORDER BY emitted_at, seq", row["id"])
    kinds = {r["kind"] for r in rows}
    active = [r["seq"] for r in rows if r["reason"] == "active"]
    attempts = tuple(
        Attempt(r["reason"], r["seq"], r["emitted_at"], r["failed_at"], r["retryable"] is not False)
        for r in rows if r["reason"] in ("final", "retry"))
    return Progress(
        class_id=row["id"], start=row["start_at"], end=row["end_at"], cancelled=row["status"] == "cancelled",
        finalized=row["finalized_at"] is not None, started="started" in kinds, ended="ended" in kinds,
        last_active_seq=active[0] if active else None, attempts=attempts)


async def next_manual_seq(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT nextval('manual_request_seq')")


async def insert_occurrence(conn: asyncpg.Connection, occurrence: Occurrence, now: datetime) -> bool:
    """False when the occurrence was already there (another tick emitted it)."""
    return bool(await conn.fetchval(
        "INSERT INTO occurrences (class_id, kind, reason, seq, due_at, event_id, emitted_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING true",
        occurrence.class_id, occurrence.kind, occurrence.reason, occurrence.seq, occurrence.due_at,
        occurrence.event_id, now))


async def open_session(conn: asyncpg.Connection, class_id: int, session_id: str, now: datetime) -> None:
    await conn.execute("INSERT INTO class_sessions (class_id, session_id, started_at) VALUES ($1, $2, $3)",
                       class_id, session_id, now)


async def close_session(conn: asyncpg.Connection, class_id: int, now: datetime) -> None:
    await conn.execute("UPDATE class_sessions SET ended_at = $2 WHERE class_id = $1", class_id, now)


async def record_run(pool: asyncpg.Pool, started: datetime, finished: datetime, classes: int, emitted: int) -> None:
    await pool.execute(
        "INSERT INTO job_runs (job, started_at, finished_at, classes, emitted) VALUES ('ticker', $1, $2, $3, $4)"
        " ON CONFLICT (job) DO UPDATE SET started_at = $1, finished_at = $2, classes = $3, emitted = $4"
        " WHERE job_runs.started_at <= $1",
        started, finished, classes, emitted)


async def last_run(pool: asyncpg.Pool) -> asyncpg.Record | None:
    return await pool.fetchrow("SELECT started_at, finished_at, classes, emitted FROM job_runs WHERE job = 'ticker'")


async def last_requests(pool: asyncpg.Pool, reasons: Sequence[str]) -> dict[str, datetime | None]:
    """When the last fetch request of each reason went out (one index lookup per reason)."""
    rows = await pool.fetch(
        "SELECT r.reason, (SELECT max(o.emitted_at) FROM occurrences o WHERE o.kind = 'fetch'"
        " AND o.reason = r.reason) AS at FROM unnest($1::text[]) AS r(reason)", list(reasons))
    return {r["reason"]: r["at"] for r in rows}
