"""SQL for classes, their rosters and what the API shows about them."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from academy_common.events import rfc3339
from scheduler.classes import Class, Plan, Space, StudentRef, TeacherRef
from scheduler.errors import NotFound

_SELECT = """
SELECT c.id, c.version, c.status, c.title, c.start_at, c.duration_minutes,
       c.space_name, c.meeting_code, c.meeting_uri,
       t.id AS teacher_id, t.name AS teacher_name, t.email AS teacher_email, t.active AS teacher_active,
       s.session_id, s.started_at, s.ended_at,
       c.finalized_at, c.fetch_failures, c.last_error, c.last_failure_at, {phase} AS phase
FROM classes c
JOIN teachers t ON t.id = c.teacher_id
LEFT JOIN class_sessions s ON s.class_id = c.id
"""
_PHASE = "class_phase(c.status, c.start_at, c.end_at, c.finalized_at, $1, $2)"
PHASES = ("scheduled", "active", "awaiting_data", "failed", "complete", "cancelled")


async def load_refs(conn: asyncpg.Connection, plan: Plan) -> tuple[TeacherRef | None, dict[int, StudentRef]]:
    """The teacher and the students a plan names, as they are now (missing ones absent)."""
    teacher = await conn.fetchrow(
        "SELECT id AS teacher_id, name, email, active FROM teachers WHERE id = $1", plan.teacher_id)
    rows = await conn.fetch(
        "SELECT id AS student_id, family_id, name, email, active FROM students WHERE id = ANY($1::bigint[])",
        list(plan.student_ids))
    return (TeacherRef(**dict(teacher)) if teacher else None,
            {r["student_id"]: StudentRef(**dict(r)) for r in rows})


async def lock_teacher(conn: asyncpg.Connection, teacher_id: int) -> None:
    """Serialises schedule changes per teacher, so two overlapping classes cannot both pass the check."""
    await conn.execute("SELECT 1 FROM teachers WHERE id = $1 FOR NO KEY UPDATE", teacher_id)


async def clashes(conn: asyncpg.Connection, plan: Plan, *, exclude: int | None = None) -> list[int]:
    """The teacher's other scheduled classes whose window overlaps the plan's ([start, end))."""
    rows = await conn.fetch(
        "SELECT id FROM classes WHERE teacher_id = $1 AND status = 'scheduled' "
        "AND start_at < $3 AND end_at > $2 AND id IS DISTINCT FROM $4 ORDER BY start_at",
        plan.teacher_id, plan.start, plan.end, exclude)
    return [r["id"] for r in rows]


async def add(conn: asyncpg.Connection, plan: Plan, space: Space) -> int:
    class_id = await conn.fetchval(
        "INSERT INTO classes (title, teacher_id, start_at, duration_minutes, end_at, space_name, meeting_code,"
        " meeting_uri) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        plan.title, plan.teacher_id, plan.start, plan.duration_minutes, plan.end,
        space.name, space.meeting_code, space.meeting_uri)
    await _save_roster(conn, class_id, plan.student_ids)
    return class_id


async def save(conn: asyncpg.Connection, cls: Class) -> None:
    await conn.execute(
        "UPDATE classes SET version = $2, status = $3, title = $4, teacher_id = $5, start_at = $6,"
        " duration_minutes = $7, end_at = $8, updated_at = now() WHERE id = $1",
        cls.class_id, cls.version, cls.status, cls.title, cls.teacher.teacher_id, cls.start,
        cls.duration_minutes, cls.end)
    await conn.execute("DELETE FROM class_students WHERE class_id = $1", cls.class_id)
    await _save_roster(conn, cls.class_id, tuple(s.student_id for s in cls.students))


async def _save_roster(conn: asyncpg.Connection, class_id: int, student_ids: tuple[int, ...]) -> None:
    await conn.executemany(
        "INSERT INTO class_students (class_id, student_id, position) VALUES ($1, $2, $3)",
        [(class_id, student_id, position) for position, student_id in enumerate(student_ids)])


async def get(conn: asyncpg.Connection, class_id: int, *, for_update: bool = False) -> tuple[Class, bool]:
    """The class and whether its session has started."""
    sql = _SELECT.format(phase="NULL") + " WHERE c.id = $1" + (" FOR UPDATE OF c" if for_update else "")
    row = await conn.fetchrow(sql, class_id)
    if row is None:
        raise NotFound(f"class {class_id} does not exist")
    rosters = await _rosters(conn, [class_id])
    return _class(row, rosters), row["session_id"] is not None


async def views(conn: asyncpg.Connection, now: datetime, retry_window: timedelta, *,
                class_id: int | None = None, upcoming_only: bool = False, teacher_id: int | None = None,
                start_from: datetime | None = None, start_to: datetime | None = None,
                after: tuple[datetime, int] | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """What the API shows: `id`, the snapshot, where the class stands, its session and fetch outcome;
    starting in [start_from, start_to) when given, in (start, id) order, from just after `after`, at
    most `limit` (all without one)."""
    start, last_id = after or (None, None)
    sql = _SELECT.format(phase=_PHASE) + (
        " WHERE ($3::bigint IS NULL OR c.id = $3)"
        " AND (NOT $4::boolean OR c.end_at > $1)"
        " AND ($5::bigint IS NULL OR c.teacher_id = $5)"
        " AND ($6::timestamptz IS NULL OR (c.start_at, c.id) > ($6, $7::bigint))"
        " AND ($9::timestamptz IS NULL OR c.start_at >= $9) AND ($10::timestamptz IS NULL OR c.start_at < $10)"
        " ORDER BY c.start_at, c.id LIMIT $8")
    rows = await conn.fetch(sql, now, retry_window, class_id, upcoming_only, teacher_id, start, last_id, limit,
                            start_from, start_to)
    rosters = await _rosters(conn, [r["id"] for r in rows])
    return [_view(row, _class(row, rosters)) for row in rows]


async def _rosters(conn: asyncpg.Connection, class_ids: list[int]) -> dict[int, list[StudentRef]]:
    rows = await conn.fetch(
        "SELECT cs.class_id, s.id AS student_id, s.family_id, s.name, s.email, s.active"
        " FROM class_students cs JOIN students s ON s.id = cs.student_id"
        " WHERE cs.class_id = ANY($1::bigint[]) ORDER BY cs.class_id, cs.position", class_ids)
    rosters: dict[int, list[StudentRef]] = {}
    for r in rows:
        rosters.setdefault(r["class_id"], []).append(
            StudentRef(r["student_id"], r["family_id"], r["name"], r["email"], r["active"]))
    return rosters


def _class(row: asyncpg.Record, rosters: dict[int, list[StudentRef]]) -> Class:
    return Class(
        class_id=row["id"], version=row["version"], status=row["status"], title=row["title"],
        start=row["start_at"], duration_minutes=row["duration_minutes"],
        space=Space(row["space_name"], row["meeting_code"], row["meeting_uri"]),
        teacher=TeacherRef(row["teacher_id"], row["teacher_name"], row["teacher_email"], row["teacher_active"]),
        students=tuple(rosters.get(row["id"], ())),
    )


def _view(row: asyncpg.Record, cls: Class) -> dict[str, Any]:
    session = None
    if row["session_id"] is not None:
        session = {"session_id": str(row["session_id"]), "started_at": rfc3339(row["started_at"]),
                   "ended_at": rfc3339(row["ended_at"])}
    return {
        "id": cls.class_id,
        **cls.snapshot(),
        "phase": row["phase"],
        "session": session,
        "fetch": {"finalized_at": rfc3339(row["finalized_at"]), "failures": row["fetch_failures"],
                  "last_error": row["last_error"], "last_failure_at": rfc3339(row["last_failure_at"])},
    }


async def phase_counts(conn: asyncpg.Connection, now: datetime, retry_window: timedelta) -> dict[str, int]:
    rows = await conn.fetch(f"SELECT {_PHASE} AS phase, count(*) AS n FROM classes c GROUP BY 1", now, retry_window)
    counts = dict.fromkeys(PHASES, 0)
    counts.update({r["phase"]: r["n"] for r in rows})
    return counts


async def failed_class_ids(conn: asyncpg.Connection, now: datetime, retry_window: timedelta,
                           limit: int = 50) -> list[int]:
    """The most recent classes whose retry window passed without attendance finalizing them."""
    rows = await conn.fetch(
        f"SELECT c.id FROM classes c WHERE {_PHASE} = 'failed' ORDER BY c.end_at DESC LIMIT $3",
        now, retry_window, limit)
    return [r["id"] for r in rows]


async def record_fetch_failure(conn: asyncpg.Connection, class_id: int, request_id: str, failed_at: datetime,
                               retryable: bool, error: dict[str, Any]) -> bool:
    """The failure on the class (the latest error wins) and on the request it answers; False for an unknown class."""
    known = await conn.fetchval(
        "UPDATE classes SET fetch_failures = fetch_failures + 1,"
        " last_error = CASE WHEN last_failure_at > $2 THEN last_error ELSE $3::jsonb END,"
        " last_failure_at = GREATEST(last_failure_at, $2) WHERE id = $1 RETURNING true",
        class_id, failed_at, error)
    if not known:
        return False
    await conn.execute(
        "UPDATE occurrences SET failed_at = $3, retryable = $4, error = $5::jsonb"
        " WHERE class_id = $1 AND event_id = $2 AND (failed_at IS NULL OR failed_at < $3)",
        class_id, request_id, failed_at, retryable, error)
    return True


async def mark_finalized(conn: asyncpg.Connection, class_id: int, finalized_at: datetime) -> bool:
    """The first finalization time stays; False for an unknown class."""
    known = await conn.fetchval(
        "UPDATE classes SET finalized_at = LEAST(finalized_at, $2) WHERE id = $1 RETURNING true",
        class_id, finalized_at)
    return bool(known)
