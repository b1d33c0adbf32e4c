"""Attendance's side of the bus contracts (academy_common.contracts): the domain values the
events it consumes stand for, and the events it publishes."""
from __future__ import annotations

from datetime import datetime

from academy_common.contracts import (
    CLASS_ENDED,
    CLASS_FINALIZED,
    CLASS_SNAPSHOTS,
    CLASS_STARTED,
    LOG_UPDATED,
    PARTICIPANTS_FETCHED,
    STUDENT_UPSERTED,
    TEACHER_UPSERTED,
    ClassEnded,
    ClassSnapshot,
    ClassStarted,
    ParticipantsFetched,
    ScheduledWindow,
    StudentUpserted,
    TeacherUpserted,
)
from academy_common.events import CloudEvent, deterministic_id
from attendance.intervals import Interval
from attendance.model import (
    ClassContext,
    ClassTouch,
    DirectoryEntry,
    FetchState,
    Roster,
    student,
    student_key,
    teacher,
    teacher_key,
)

# family.upserted is not consumed: a family's own fields appear on no log; a student's family does.
CONSUMED = {e.type: e for e in (*CLASS_SNAPSHOTS, CLASS_STARTED, CLASS_ENDED, PARTICIPANTS_FETCHED,
                                TEACHER_UPSERTED, STUDENT_UPSERTED)}

ClassLifecycle = ClassStarted | ClassEnded
DirectoryUpserted = TeacherUpserted | StudentUpserted
ForClass = ClassSnapshot | ClassLifecycle | ParticipantsFetched
Incoming = ForClass | DirectoryUpserted


def entry(message: DirectoryUpserted) -> DirectoryEntry:
    if isinstance(message, TeacherUpserted):
        return DirectoryEntry(teacher_key(message.teacher_id), message.version, message.name, message.email)
    return DirectoryEntry(student_key(message.student_id), message.version, message.name, message.email,
                          message.family_id)


def window(message: ScheduledWindow) -> Interval:
    return Interval(message.scheduled_start, message.scheduled_end)


def touch(message: ForClass) -> ClassTouch:
    """What the message says of its class before anything else of it is stored."""
    if isinstance(message, ClassSnapshot):
        return ClassTouch(message.class_id, window(message), message.space_name)
    if isinstance(message, ParticipantsFetched):
        return _fetched_touch(message)
    return ClassTouch(message.class_id, window(message), session_id=str(message.session_id))


def _fetched_touch(fetched: ParticipantsFetched) -> ClassTouch:
    # An empty snapshot never says "every call ended", whatever an older fetcher sent.
    ended = fetched.all_ended and bool(fetched.conference_records)
    at = fetched.fetched_at
    return ClassTouch(fetched.class_id, window(fetched), fetched.space_name,
                      str(fetched.session_id) if fetched.session_id else None,
                      # the scheduler's last attempt within its retry window: no call found now is final
                      FetchState(at, at if ended else None, at if fetched.last_attempt else None))


def roster(snapshot: ClassSnapshot) -> Roster:
    t = snapshot.teacher
    members = {teacher(t.teacher_id, t.name, t.email).person_key: teacher(t.teacher_id, t.name, t.email)}
    for s in snapshot.students:
        member = student(s.student_id, s.family_id, s.name, s.email)
        members[member.person_key] = member
    return Roster(tuple(members.values()))


def log_updated(log_payload: dict) -> CloudEvent:
    """One event per (log, version): a recomputation that repeats itself dedupes downstream."""
    return LOG_UPDATED.build(log_payload,
                             id=deterministic_id(LOG_UPDATED.type, log_payload["log_id"], log_payload["version"]),
                             subject=f"class/{log_payload['class_id']}")


def class_finalized(ctx: ClassContext, finalized_at: datetime, log_payloads: list[dict]) -> CloudEvent:
    data = {
        "class_id": ctx.class_id, "session_id": ctx.session_id, "finalized_at": finalized_at,
        "scheduled_start": ctx.window.start, "scheduled_end": ctx.window.end,
        "reason": ctx.final_reason, "logs": log_payloads,
    }
    return CLASS_FINALIZED.build(data, id=deterministic_id(CLASS_FINALIZED.type, ctx.class_id),
                                 subject=f"class/{ctx.class_id}")
