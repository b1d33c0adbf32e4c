"""SQL for the write side: classes, raw Meet data, mappings and logs (the service's own schema).

Lock order, everywhere: the mappings advisory lock, then directory rows, then class rows, then their logs.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import asyncpg
import pydantic_core

from academy_common.contracts import ClassEnded, ClassSnapshot, ClassStarted, ParticipantsFetched
from academy_common.events import rfc3339
from attendance.content import LogWrite, StoredLog, payload
from attendance.corrections import Correction, Overrides
from attendance.intervals import Interval
from attendance.messages import ClassLifecycle, roster
from attendance.model import (
    ClassContext,
    ClassState,
    ClassTouch,
    ConferenceRecord,
    CountedSession,
    DirectoryEntry,
    FetchState,
    MeetParticipant,
    MeetSession,
    Person,
    Roster,
    merged_touches,
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
         for m in roster(snapshot).members],
    )
    return True


async def lock_classes(conn: asyncpg.Connection, touches: Sequence[ClassTouch], also: Sequence[int] = ()) -> None:
    """Every class of a batch, locked in class_id order (so batches never deadlock), created
    as a placeholder (version 0) if only Meet has told us about it so far, with what the
    Meet data says about its fetches merged in: the latest fetch, a session id once known.
    Several touches of one class are merged first: one statement may touch a row only once.
    `also`: existing classes to recompute; locked with the touched ones in one ordered pass."""
    if also:
        await conn.execute("SELECT FROM classes WHERE class_id = ANY($1::bigint[]) ORDER BY class_id FOR UPDATE",
                           sorted({*also, *(t.class_id for t in touches)}))
    if not touches:
        return
    rows = sorted(merged_touches(touches), key=lambda t: t.class_id)
    await conn.execute(
        """INSERT INTO classes (class_id, scheduled_start, scheduled_end, space_name, session_id,
                                last_fetched_at, ended_fetched_at, last_attempt_fetched_at)
           SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::uuid[],
                                $6::timestamptz[], $7::timestamptz[], $8::timestamptz[])
           ON CONFLICT (class_id) DO UPDATE SET
               session_id = COALESCE(classes.session_id, EXCLUDED.session_id),
               last_fetched_at = GREATEST(classes.last_fetched_at, EXCLUDED.last_fetched_at),
               ended_fetched_at = GREATEST(classes.ended_fetched_at, EXCLUDED.ended_fetched_at),
               last_attempt_fetched_at = GREATEST(classes.last_attempt_fetched_at, EXCLUDED.last_attempt_fetched_at),
               updated_at = now()""",
        [t.class_id for t in rows], [t.window.start for t in rows], [t.window.end for t in rows],
        [t.space_name for t in rows], [t.session_id for t in rows],
        [t.fetch.last_fetched_at for t in rows], [t.fetch.ended_fetched_at for t in rows],
        [t.fetch.last_attempt_fetched_at for t in rows],
    )


async def record_lifecycle(conn: asyncpg.Connection, event: ClassLifecycle) -> None:
    """The class row exists and is locked (`lock_classes`)."""
    started = event.started_at if isinstance(event, ClassStarted) else None
    ended = event.ended_at if isinstance(event, ClassEnded) else None
    await conn.execute(
        """UPDATE classes SET started_at = COALESCE(started_at, $2), ended_at = COALESCE(ended_at, $3),
               updated_at = now()
           WHERE class_id = $1""",
        event.class_id, started, ended,
    )


async def class_states(conn: asyncpg.Connection, class_ids: Iterable[int]) -> dict[int, ClassState]:
    """The classes as stored, each row locked (in class_id order)."""
    rows = await conn.fetch(
        """SELECT class_id, version, status, scheduled_start, scheduled_end, space_name, session_id,
                  last_fetched_at, ended_fetched_at, last_attempt_fetched_at, final, final_reason
           FROM classes WHERE class_id = ANY($1::bigint[]) ORDER BY class_id FOR UPDATE""",
        sorted(set(class_ids)),
    )
    return {r["class_id"]: ClassState(
        class_id=r["class_id"], version=r["version"], cancelled=r["status"] == "cancelled",
        window=Interval(r["scheduled_start"], r["scheduled_end"]), space_name=r["space_name"],
        session_id=str(r["session_id"]) if r["session_id"] else None,
        fetch=FetchState(r["last_fetched_at"], r["ended_fetched_at"], r["last_attempt_fetched_at"]),
        final=r["final"], final_reason=r["final_reason"],
    ) for r in rows}


async def lock_class(conn: asyncpg.Connection, class_id: int) -> ClassState | None:
    return (await class_states(conn, [class_id])).get(class_id)


async def mark_final(conn: asyncpg.Connection, classes: list[tuple[int, str]], at) -> None:
    """(class_id, final reason) pairs."""
    await conn.execute(
        """UPDATE classes c SET final = true, finalized_at = $3, final_reason = f.reason, updated_at = now()
           FROM unnest($1::bigint[], $2::text[]) AS f(class_id, reason) WHERE c.class_id = f.class_id""",
        [c for c, _ in classes], [r for _, r in classes], at)


async def load_rosters(conn: asyncpg.Connection, class_ids: list[int]) -> dict[int, Roster]:
    rows = await conn.fetch(
        """SELECT class_id, person_key, role, teacher_id, student_id, family_id, name, email
           FROM roster_members WHERE class_id = ANY($1::bigint[]) ORDER BY class_id, person_key""",
        class_ids,
    )
    members: dict[int, list[Person]] = {class_id: [] for class_id in class_ids}
    for r in rows:
        members[r["class_id"]].append(
            Person(r["person_key"], r["role"], r["teacher_id"], r["student_id"], r["family_id"], r["email"], r["name"]))
    return {class_id: Roster(tuple(people)) for class_id, people in members.items()}


async def classes_of(conn: asyncpg.Connection, person_keys: Sequence[str]) -> list[int]:
    """The classes these people are on the roster of."""
    if not person_keys:
        return []
    rows = await conn.fetch(
        "SELECT DISTINCT class_id FROM roster_members WHERE person_key = ANY($1::text[]) ORDER BY class_id",
        list(person_keys))
    return [r["class_id"] for r in rows]


# -- directory ----------------------------------------------------------------------------------

async def save_directory(conn: asyncpg.Connection, entries: Sequence[DirectoryEntry]) -> list[str]:
    """Store entries newer than the stored ones (one per person, in person_key order: the lock
    order); the person keys that changed."""
    if not entries:
        return []
    rows = await conn.fetch(
        """INSERT INTO directory AS d (person_key, version, name, email, family_id)
           SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[])
           ON CONFLICT (person_key) DO UPDATE SET version = EXCLUDED.version, name = EXCLUDED.name,
               email = EXCLUDED.email, family_id = EXCLUDED.family_id, updated_at = now()
           WHERE d.version < EXCLUDED.version
           RETURNING person_key""",
        [e.person_key for e in entries], [e.version for e in entries], [e.name for e in entries],
        [e.email for e in entries], [e.family_id for e in entries])
    return sorted(r["person_key"] for r in rows)


async def load_directory(conn: asyncpg.Connection, person_keys: Iterable[str]) -> dict[str, DirectoryEntry]:
    rows = await conn.fetch(
        "SELECT person_key, version, name, email, family_id FROM directory WHERE person_key = ANY($1::text[])",
        sorted(set(person_keys)))
    return {r["person_key"]: DirectoryEntry(**r) for r in rows}


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


async def store_snapshots(conn: asyncpg.Connection, snapshots: Sequence[ParticipantsFetched]) -> None:
    """Upserts that only move forward: an end once seen is kept, a start never moves later,
    so a snapshot replayed or arriving late cannot shorten or reopen anything. The classes
    are locked already (`lock_classes`); one round trip per table for the whole batch."""
    await conn.executemany(
        """INSERT INTO conference_records (class_id, name, space_name, start_time, end_time)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (class_id, name) DO UPDATE SET
               start_time = LEAST(conference_records.start_time, EXCLUDED.start_time),
               end_time = GREATEST(conference_records.end_time, EXCLUDED.end_time),
               space_name = COALESCE(conference_records.space_name, EXCLUDED.space_name)""",
        [(s.class_id, r.name, s.space_name, r.start_time, r.end_time) for s in snapshots for r in s.conference_records],
    )
    await conn.executemany(
        f"""INSERT INTO participants (class_id, name, conference_record, kind, meet_user, email, display_name,
                                      fetched_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (class_id, name) DO UPDATE SET {_IDENTITY_UPDATES},
                kind = CASE WHEN {_NEWER} THEN EXCLUDED.kind ELSE participants.kind END,
                fetched_at = GREATEST(participants.fetched_at, EXCLUDED.fetched_at)""",
        [(s.class_id, p.name, r.name, p.kind, p.user, p.email, p.display_name, s.fetched_at)
         for s in snapshots for r in s.conference_records for p in r.participants],
    )
    await conn.executemany(
        """INSERT INTO participant_sessions (class_id, name, participant, start_time, end_time)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (class_id, name) DO UPDATE SET
               start_time = LEAST(participant_sessions.start_time, EXCLUDED.start_time),
               end_time = GREATEST(participant_sessions.end_time, EXCLUDED.end_time)""",
        [(s.class_id, x.name, p.name, x.start_time, x.end_time)
         for s in snapshots for r in s.conference_records for p in r.participants for x in p.sessions],
    )


async def load_records(conn: asyncpg.Connection, class_ids: list[int]) -> dict[int, list[ConferenceRecord]]:
    rows = await conn.fetch(
        """SELECT r.class_id, r.name AS record, r.start_time AS record_start, r.end_time AS record_end,
                  r.space_name, p.name AS participant, p.kind, p.meet_user, p.email, p.display_name,
                  s.name AS session, s.start_time, s.end_time
           FROM conference_records r
           LEFT JOIN participants p ON p.class_id = r.class_id AND p.conference_record = r.name
           LEFT JOIN participant_sessions s ON s.class_id = p.class_id AND s.participant = p.name
           WHERE r.class_id = ANY($1::bigint[])
           ORDER BY r.class_id, r.name, p.name, s.name""",
        class_ids,
    )
    by_class: dict[int, dict[str, dict]] = {class_id: {} for class_id in class_ids}
    for row in rows:
        record = by_class[row["class_id"]].setdefault(row["record"], {"row": row, "participants": {}})
        if row["participant"] is None:
            continue
        sessions = record["participants"].setdefault(row["participant"], (row, []))[1]
        if row["session"] is not None:
            sessions.append(MeetSession(row["session"], row["start_time"], row["end_time"]))
    return {class_id: [_record(name, r) for name, r in records.items()] for class_id, records in by_class.items()}


def _record(name: str, found: dict) -> ConferenceRecord:
    row = found["row"]
    return ConferenceRecord(name, row["record_start"], row["record_end"], row["space_name"], tuple(
        MeetParticipant(p, prow["kind"], prow["meet_user"], prow["email"], prow["display_name"], tuple(sessions))
        for p, (prow, sessions) in found["participants"].items()))


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


async def load_class_mappings(conn: asyncpg.Connection, class_ids: list[int]) -> dict[int, dict[str, str]]:
    rows = await conn.fetch("SELECT class_id, identity, person_key FROM class_mappings WHERE class_id = ANY($1::bigint[])",
                            class_ids)
    found: dict[int, dict[str, str]] = {class_id: {} for class_id in class_ids}
    for r in rows:
        found[r["class_id"]][r["identity"]] = r["person_key"]
    return found


async def save_class_mappings(conn: asyncpg.Connection, class_id: int, identities: Iterable[str],
                              person_key: str) -> None:
    await conn.executemany(
        """INSERT INTO class_mappings (class_id, identity, person_key) VALUES ($1, $2, $3)
           ON CONFLICT (class_id, identity) DO UPDATE SET person_key = EXCLUDED.person_key""",
        [(class_id, identity, person_key) for identity in identities],
    )


async def guest_participants(conn: asyncpg.Connection, log_id: int) -> tuple[int, list[str]] | None:
    """The class of a log and, if it is a guest's still in it, the participants it was counted from."""
    row = await conn.fetchrow(
        """SELECT class_id, CASE WHEN role = 'guest' AND NOT removed THEN ARRAY(
                      SELECT DISTINCT s->>'participant' FROM jsonb_array_elements(sessions) AS s ORDER BY 1)
                  ELSE '{}' END AS participants
           FROM attendance_logs WHERE log_id = $1""",
        log_id)
    return None if row is None else (row["class_id"], list(row["participants"]))


async def on_roster(conn: asyncpg.Connection, class_id: int, person_key: str) -> bool:
    return bool(await conn.fetchval("SELECT true FROM roster_members WHERE class_id = $1 AND person_key = $2",
                                    class_id, person_key))


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
                     Overrides(row["override_billable_seconds"], row["override_status"], row["override_reason"]))


_LOG_COLUMNS = "log_id, version, computed, content, override_billable_seconds, override_status, override_reason"


async def lock_logs(conn: asyncpg.Connection, class_ids: list[int]) -> dict[int, dict[str, StoredLog]]:
    rows = await conn.fetch(
        f"""SELECT class_id, person_key, {_LOG_COLUMNS} FROM attendance_logs
            WHERE class_id = ANY($1::bigint[]) ORDER BY log_id FOR UPDATE""",
        class_ids,
    )
    logs: dict[int, dict[str, StoredLog]] = {class_id: {} for class_id in class_ids}
    for r in rows:
        logs[r["class_id"]][r["person_key"]] = _stored(r)
    return logs


async def lock_log(conn: asyncpg.Connection, log_id: int) -> tuple[ClassState, StoredLog] | None:
    class_id = await conn.fetchval("SELECT class_id FROM attendance_logs WHERE log_id = $1", log_id)
    if class_id is None:
        return None
    state = await lock_class(conn, class_id)
    row = await conn.fetchrow(f"SELECT {_LOG_COLUMNS} FROM attendance_logs WHERE log_id = $1 FOR UPDATE", log_id)
    return state, _stored(row)


def _json(value: object) -> str:
    return pydantic_core.to_json(value).decode()  # json.dumps' result, a third of the time


def _session_json(s: CountedSession) -> dict:
    return {
        "name": s.name, "participant": s.participant, "conference_record": s.conference_record,
        "start_time": rfc3339(s.start), "end_time": rfc3339(s.end),
        "counted_start": rfc3339(s.counted.start), "counted_end": rfc3339(s.counted.end),
    }


async def save_logs(conn: asyncpg.Connection, writes: Sequence[tuple[ClassContext, LogWrite]]) -> dict[tuple[int, str], int]:
    """Insert or update logs of any number of classes in one statement; log_id by (class_id, person_key)."""
    if not writes:
        return {}
    people = [w.log.person if w.log else None for _, w in writes]
    rows = await conn.fetch(
        """INSERT INTO attendance_logs (class_id, person_key, role, email, session_id, scheduled_start,
                                        participant_kind, meet_user, final, removed, version, computed,
                                        sessions, content)
           SELECT w.class_id, w.person_key, w.role, w.email, w.session_id, w.scheduled_start, w.participant_kind,
                  w.meet_user, w.final, w.removed, w.version, w.computed::jsonb, w.sessions::jsonb, w.content::jsonb
           FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[],
                       $8::text[], $9::bool[], $10::bool[], $11::int[], $12::text[], $13::text[], $14::text[])
                AS w(class_id, scheduled_start, person_key, role, email, session_id, participant_kind, meet_user,
                     final, removed, version, computed, sessions, content)
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
           RETURNING class_id, person_key, log_id""",
        [ctx.class_id for ctx, _ in writes], [ctx.window.start for ctx, _ in writes],
        [w.person_key for _, w in writes], [w.content["role"] for _, w in writes],
        [w.content["email"] for _, w in writes], [w.content["session_id"] for _, w in writes],
        [p and p.participant_kind for p in people], [p and p.meet_user for p in people],
        [w.content["final"] for _, w in writes], [w.content["removed"] for _, w in writes],
        [w.version for _, w in writes],
        # As JSON text: asyncpg would read a list in a jsonb[] as another array dimension.
        [_json(w.computed) for _, w in writes],
        [_json([_session_json(s) for s in w.log.sessions] if w.log else []) for _, w in writes],
        [_json(w.content) for _, w in writes],
    )
    return {(r["class_id"], r["person_key"]): r["log_id"] for r in rows}


async def save_corrected(conn: asyncpg.Connection, log_id: int, version: int, overrides: Overrides,
                         content: dict) -> None:
    await conn.execute(
        """UPDATE attendance_logs SET override_billable_seconds = $2, override_status = $3, override_reason = $4,
               content = $5, version = $6, updated_at = now()
           WHERE log_id = $1""",
        log_id, overrides.billable_seconds, overrides.status, overrides.reason, content, version,
    )


async def add_correction(conn: asyncpg.Connection, log_id: int, correction: Correction, requested_by: str, *,
                         before: dict, computed: dict) -> int:
    return await conn.fetchval(
        """INSERT INTO log_corrections (log_id, billable_seconds, status, reason, allow_above_attended, requested_by,
                                       before, computed)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING correction_id""",
        log_id, correction.billable_seconds, correction.status, correction.reason, correction.allow_above_attended,
        requested_by, before, computed,
    )


async def class_payloads(conn: asyncpg.Connection, class_id: int) -> list[dict]:
    """Every current log of the class as its `attendance.log.updated` payload."""
    rows = await conn.fetch(
        "SELECT log_id, version, content FROM attendance_logs WHERE class_id = $1 AND NOT removed ORDER BY log_id",
        class_id,
    )
    return [payload(r["log_id"], r["version"], r["content"]) for r in rows]
