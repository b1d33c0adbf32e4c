"""SQL for the write side: classes, raw Meet data, mappings and logs (the service's own schema).

Lock order, everywhere: the mappings advisory lock, then class rows, then their logs.
"""
from __future__ import annotations

import json
from typing import Iterable

import asyncpg

from academy_common.events import rfc3339

from attendance.content import LogWrite, StoredLog, payload
from attendance.corrections import Correction, Overrides
from attendance.intervals import Interval
from attendance.messages import ClassLifecycle, ClassSnapshot, ParticipantsFetched
from attendance.model import (
    ClassContext, ClassState, ConferenceRecord, CountedSession, FetchState, MeetParticipant, MeetSession, Person,
    Roster,
)

_MAPPINGS_LOCK = "hashtext(current_schema() || '.identity_mappings')"


async def share_mappings(conn: asyncpg.Connection) -> None:
    """Held while logs are computed: a new mapping waits for them, or they wait for it, so a
    participant seen concurrently with a new mapping is never left unmapped."""
    await conn.execute(f"SELECT pg_advisory_xact_lock_shared({_MAPPINGS_LOCK})")


async def own_mappings(conn: asyncpg.Connection) -> None:
    await conn.execute(f"SELECT pg_advisory_xact_lock({_MAPPINGS_LOCK})")


# -- classes ----------------------------------------------------------------------------------

async def apply_class_snapshot(conn: asyncpg.Connection, snapshot: ClassSnapshot, *, cancelled: bool) -> bool:
    """Store the class and its roster if this version is newer than the stored one."""
    applied = await conn.fetchval(
        """INSERT INTO classes (class_id, version, status, title, scheduled_start, scheduled_end, space_name)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (class_id) DO UPDATE SET
               version = EXCLUDED.version, status = EXCLUDED.status, title = EXCLUDED.title,
               scheduled_start = EXCLUDED.scheduled_start, scheduled_end = EXCLUDED.scheduled_end,
               space_name = EXCLUDED.space_name, updated_at = now()
           WHERE classes.version < EXCLUDED.version
           RETURNING true""",
        snapshot.class_id, snapshot.version, "cancelled" if cancelled else "scheduled", snapshot.title,
        snapshot.scheduled_start, snapshot.scheduled_end, snapshot.space_name,
    )
    if not applied:
        return False
    await conn.execute("DELETE FROM roster_members WHERE class_id = $1", snapshot.class_id)
    await conn.executemany(
        """INSERT INTO roster_members (class_id, person_key, role, teacher_id, student_id, family_id, name, email)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        [(snapshot.class_id, m.person_key, m.role, m.teacher_id, m.student_id, m.family_id, m.display_name, m.email)
         for m in snapshot.roster().members],
    )
    return True


async def _ensure_class(conn: asyncpg.Connection, class_id: int, window: Interval, session_id: str | None,
                        space_name: str | None = None) -> None:
    """A placeholder (version 0) so Meet data arriving before the class snapshot is kept, then lock it."""
    await conn.execute(
        """INSERT INTO classes (class_id, scheduled_start, scheduled_end, space_name, session_id)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (class_id) DO NOTHING""",
        class_id, window.start, window.end, space_name, session_id,
    )
    await conn.execute("SELECT 1 FROM classes WHERE class_id = $1 FOR UPDATE", class_id)


async def record_lifecycle(conn: asyncpg.Connection, event: ClassLifecycle) -> None:
    await _ensure_class(conn, event.class_id, event.window, str(event.session_id))
    await conn.execute(
        """UPDATE classes SET session_id = COALESCE(session_id, $2),
               started_at = COALESCE(started_at, $3), ended_at = COALESCE(ended_at, $4), updated_at = now()
           WHERE class_id = $1""",
        event.class_id, str(event.session_id), event.started_at, event.ended_at,
    )


async def lock_class(conn: asyncpg.Connection, class_id: int) -> ClassState | None:
    row = await conn.fetchrow(
        """SELECT class_id, version, status, scheduled_start, scheduled_end, space_name, session_id,
                  last_fetched_at, ended_fetched_at, final
           FROM classes WHERE class_id = $1 FOR UPDATE""",
        class_id,
    )
    if row is None:
        return None
    return ClassState(
        class_id=row["class_id"], version=row["version"], cancelled=row["status"] == "cancelled",
        window=Interval(row["scheduled_start"], row["scheduled_end"]), space_name=row["space_name"],
        session_id=str(row["session_id"]) if row["session_id"] else None,
        fetch=FetchState(row["last_fetched_at"], row["ended_fetched_at"]), final=row["final"],
    )


async def mark_final(conn: asyncpg.Connection, class_id: int, at) -> None:
    await conn.execute("UPDATE classes SET final = true, finalized_at = $2, updated_at = now() WHERE class_id = $1",
                       class_id, at)


async def load_roster(conn: asyncpg.Connection, class_id: int) -> Roster:
    rows = await conn.fetch(
        """SELECT person_key, role, teacher_id, student_id, family_id, name, email
           FROM roster_members WHERE class_id = $1 ORDER BY person_key""",
        class_id,
    )
    return Roster(tuple(
        Person(r["person_key"], r["role"], r["teacher_id"], r["student_id"], r["family_id"], r["email"], r["name"])
        for r in rows
    ))


async def person_known(conn: asyncpg.Connection, person_key: str) -> bool:
    return bool(await conn.fetchval("SELECT true FROM roster_members WHERE person_key = $1 LIMIT 1", person_key))


# -- raw Meet data ------------------------------------------------------------------------------

# Identity fields: the newer snapshot wins, but a value once seen is not lost to a null.
_NEWER = "EXCLUDED.fetched_at >= participants.fetched_at"
_IDENTITY_UPDATES = ", ".join(
    f"{col} = CASE WHEN {_NEWER} THEN COALESCE(EXCLUDED.{col}, participants.{col}) "
    f"ELSE COALESCE(participants.{col}, EXCLUDED.{col}) END"
    for col in ("meet_user", "email", "display_name")
)


async def store_snapshot(conn: asyncpg.Connection, snapshot: ParticipantsFetched) -> None:
    """Upsert that only moves forward: an end once seen is kept, a start never moves later,
    so a snapshot replayed or arriving late cannot shorten or reopen anything."""
    c = snapshot.class_id
    session_id = str(snapshot.session_id) if snapshot.session_id else None
    await _ensure_class(conn, c, snapshot.window, session_id, snapshot.space_name)
    records = snapshot.conference_records
    await conn.executemany(
        """INSERT INTO conference_records (class_id, name, space_name, start_time, end_time)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (class_id, name) DO UPDATE SET
               start_time = LEAST(conference_records.start_time, EXCLUDED.start_time),
               end_time = GREATEST(conference_records.end_time, EXCLUDED.end_time),
               space_name = COALESCE(conference_records.space_name, EXCLUDED.space_name)""",
        [(c, r.name, snapshot.space_name, r.start_time, r.end_time) for r in records],
    )
    await conn.executemany(
        f"""INSERT INTO participants (class_id, name, conference_record, kind, meet_user, email, display_name,
                                      fetched_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (class_id, name) DO UPDATE SET {_IDENTITY_UPDATES},
                kind = CASE WHEN {_NEWER} THEN EXCLUDED.kind ELSE participants.kind END,
                fetched_at = GREATEST(participants.fetched_at, EXCLUDED.fetched_at)""",
        [(c, p.name, r.name, p.kind, p.user, p.email, p.display_name, snapshot.fetched_at)
         for r in records for p in r.participants],
    )
    await conn.executemany(
        """INSERT INTO participant_sessions (class_id, name, participant, start_time, end_time)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (class_id, name) DO UPDATE SET
               start_time = LEAST(participant_sessions.start_time, EXCLUDED.start_time),
               end_time = GREATEST(participant_sessions.end_time, EXCLUDED.end_time)""",
        [(c, s.name, p.name, s.start_time, s.end_time) for r in records for p in r.participants for s in p.sessions],
    )
    await conn.execute(
        """UPDATE classes SET last_fetched_at = GREATEST(last_fetched_at, $2),
               ended_fetched_at = CASE WHEN $3 THEN GREATEST(ended_fetched_at, $2) ELSE ended_fetched_at END,
               session_id = COALESCE(session_id, $4), updated_at = now()
           WHERE class_id = $1""",
        c, snapshot.fetched_at, snapshot.all_ended, session_id,
    )


async def load_records(conn: asyncpg.Connection, class_id: int) -> list[ConferenceRecord]:
    rows = await conn.fetch(
        """SELECT r.name AS record, r.start_time AS record_start, r.end_time AS record_end, r.space_name,
                  p.name AS participant, p.kind, p.meet_user, p.email, p.display_name,
                  s.name AS session, s.start_time, s.end_time
           FROM conference_records r
           LEFT JOIN participants p ON p.class_id = r.class_id AND p.conference_record = r.name
           LEFT JOIN participant_sessions s ON s.class_id = p.class_id AND s.participant = p.name
           WHERE r.class_id = $1
           ORDER BY r.name, p.name, s.name""",
        class_id,
    )
    records: dict[str, dict] = {}
    for row in rows:
        record = records.setdefault(row["record"], {"row": row, "participants": {}})
        if row["participant"] is None:
            continue
        sessions = record["participants"].setdefault(row["participant"], (row, []))[1]
        if row["session"] is not None:
            sessions.append(MeetSession(row["session"], row["start_time"], row["end_time"]))
    return [
        ConferenceRecord(name, r["row"]["record_start"], r["row"]["record_end"], r["row"]["space_name"], tuple(
            MeetParticipant(p, prow["kind"], prow["meet_user"], prow["email"], prow["display_name"], tuple(sessions))
            for p, (prow, sessions) in r["participants"].items()))
        for name, r in records.items()
    ]


# -- mappings -----------------------------------------------------------------------------------

async def load_mappings(conn: asyncpg.Connection, identities: Iterable[str]) -> dict[str, str]:
    rows = await conn.fetch("SELECT identity, person_key FROM identity_mappings WHERE identity = ANY($1::text[])",
                            sorted(set(identities)))
    return {r["identity"]: r["person_key"] for r in rows}


async def save_mappings(conn: asyncpg.Connection, identities: Iterable[str], person_key: str) -> None:
    await conn.executemany(
        """INSERT INTO identity_mappings (identity, person_key) VALUES ($1, $2)
           ON CONFLICT (identity) DO UPDATE SET person_key = EXCLUDED.person_key, updated_at = now()""",
        [(identity, person_key) for identity in identities],
    )


async def classes_seeing(conn: asyncpg.Connection, meet_users: list[str], emails: list[str]) -> list[int]:
    """Classes in which a participant has one of these Meet identities."""
    rows = await conn.fetch(
        """SELECT DISTINCT class_id FROM participants
           WHERE meet_user = ANY($1::text[]) OR lower(email) = ANY($2::text[]) ORDER BY class_id""",
        meet_users, [e.lower() for e in emails],
    )
    return [r["class_id"] for r in rows]


# -- logs ---------------------------------------------------------------------------------------

def _stored(row: asyncpg.Record) -> StoredLog:
    return StoredLog(row["log_id"], row["version"], row["computed"], row["content"],
                     Overrides(row["override_billable_seconds"], row["override_status"]))


_LOG_COLUMNS = "log_id, version, computed, content, override_billable_seconds, override_status"


async def lock_logs(conn: asyncpg.Connection, class_id: int) -> dict[str, StoredLog]:
    rows = await conn.fetch(
        f"SELECT person_key, {_LOG_COLUMNS} FROM attendance_logs WHERE class_id = $1 ORDER BY log_id FOR UPDATE",
        class_id,
    )
    return {r["person_key"]: _stored(r) for r in rows}


async def lock_log(conn: asyncpg.Connection, log_id: int) -> tuple[ClassState, StoredLog] | None:
    class_id = await conn.fetchval("SELECT class_id FROM attendance_logs WHERE log_id = $1", log_id)
    if class_id is None:
        return None
    state = await lock_class(conn, class_id)
    row = await conn.fetchrow(f"SELECT {_LOG_COLUMNS} FROM attendance_logs WHERE log_id = $1 FOR UPDATE", log_id)
    return state, _stored(row)


def _session_json(s: CountedSession) -> dict:
    return {
        "name": s.name, "participant": s.participant, "conference_record": s.conference_record,
        "start_time": rfc3339(s.start), "end_time": rfc3339(s.end),
        "counted_start": rfc3339(s.counted.start), "counted_end": rfc3339(s.counted.end),
    }


async def save_logs(conn: asyncpg.Connection, ctx: ClassContext, writes: list[LogWrite]) -> dict[str, int]:
    """Insert or update the class's logs in one statement; returns log_id by person_key."""
    if not writes:
        return {}
    people = [w.log.person if w.log else None for w in writes]
    rows = await conn.fetch(
        """INSERT INTO attendance_logs (class_id, person_key, role, email, session_id, scheduled_start,
                                        participant_kind, meet_user, final, removed, version, computed,
                                        sessions, content)
           SELECT $1, w.person_key, w.role, w.email, w.session_id, $2, w.participant_kind, w.meet_user, w.final,
                  w.removed, w.version, w.computed::jsonb, w.sessions::jsonb, w.content::jsonb
           FROM unnest($3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[], $8::text[], $9::bool[],
                       $10::bool[], $11::int[], $12::text[], $13::text[], $14::text[])
                AS w(person_key, role, email, session_id, participant_kind, meet_user, final, removed, version,
                     computed, sessions, content)
           ON CONFLICT (class_id, person_key) DO UPDATE SET
               role = EXCLUDED.role, email = EXCLUDED.email, session_id = EXCLUDED.session_id,
               scheduled_start = EXCLUDED.scheduled_start,
               participant_kind = COALESCE(EXCLUDED.participant_kind, attendance_logs.participant_kind),
               meet_user = COALESCE(EXCLUDED.meet_user, attendance_logs.meet_user),
               final = EXCLUDED.final, removed = EXCLUDED.removed, computed = EXCLUDED.computed,
               sessions = EXCLUDED.sessions, content = EXCLUDED.content,
               updated_at = CASE WHEN attendance_logs.version = EXCLUDED.version THEN attendance_logs.updated_at
                                 ELSE now() END,
               version = EXCLUDED.version
           RETURNING person_key, log_id""",
        ctx.class_id, ctx.window.start,
        [w.person_key for w in writes], [w.content["role"] for w in writes], [w.content["email"] for w in writes],
        [w.content["session_id"] for w in writes], [p and p.participant_kind for p in people],
        [p and p.meet_user for p in people], [w.content["final"] for w in writes],
        [w.content["removed"] for w in writes], [w.version for w in writes],
        # As JSON text: asyncpg would read a list in a jsonb[] as another array dimension.
        [json.dumps(w.computed) for w in writes],
        [json.dumps([_session_json(s) for s in w.log.sessions] if w.log else []) for w in writes],
        [json.dumps(w.content) for w in writes],
    )
    return {r["person_key"]: r["log_id"] for r in rows}


async def save_corrected(conn: asyncpg.Connection, log_id: int, version: int, overrides: Overrides,
                         content: dict) -> None:
    await conn.execute(
        """UPDATE attendance_logs SET override_billable_seconds = $2, override_status = $3, content = $4,
               version = $5, updated_at = now()
           WHERE log_id = $1""",
        log_id, overrides.billable_seconds, overrides.status, content, version,
    )


async def add_correction(conn: asyncpg.Connection, log_id: int, correction: Correction, requested_by: str, *,
                         before: dict, computed: dict) -> int:
    return await conn.fetchval(
        """INSERT INTO log_corrections (log_id, billable_seconds, status, reason, requested_by, before, computed)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING correction_id""",
        log_id, correction.billable_seconds, correction.status, correction.reason, requested_by, before, computed,
    )


async def class_payloads(conn: asyncpg.Connection, class_id: int) -> list[dict]:
    """Every current log of the class as its `attendance.log.updated` payload."""
    rows = await conn.fetch(
        "SELECT log_id, version, content FROM attendance_logs WHERE class_id = $1 AND NOT removed ORDER BY log_id",
        class_id,
    )
    return [payload(r["log_id"], r["version"], r["content"]) for r in rows]
