"""Bus messages: the typed payloads attendance consumes (docs/events.md) and the events it publishes."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from academy_common.events import CloudEvent, Instant, deterministic_id, new_event, rfc3339
from attendance.intervals import Interval
from attendance.model import (
    ClassContext,
    ClassTouch,
    ConferenceRecord,
    DirectoryEntry,
    FetchState,
    MeetParticipant,
    MeetSession,
    Roster,
    student,
    student_key,
    teacher,
    teacher_key,
)

SOURCE = "/academy/attendance"
CLASS_SNAPSHOTS = ("class.scheduled", "class.updated", "class.cancelled")
CLASS_LIFECYCLE = ("class.started", "class.ended")
PARTICIPANTS_FETCHED = "meet.participants.fetched"
LOG_UPDATED = "attendance.log.updated"
CLASS_FINALIZED = "attendance.class.finalized"

Id = Annotated[int, Field(gt=0, lt=2**63)]
Text = Annotated[str, Field(max_length=1000)]


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ScheduledWindow(Message):
    scheduled_start: Instant
    scheduled_end: Instant

    @model_validator(mode="after")
    def _ends_after_start(self):
        if self.scheduled_end <= self.scheduled_start:
            raise ValueError("scheduled_end must be after scheduled_start")
        return self

    @property
    def window(self) -> Interval:
        return Interval(self.scheduled_start, self.scheduled_end)


class TeacherRef(Message):
    teacher_id: Id
    name: Text | None = None
    email: Text | None = None


class StudentRef(Message):
    student_id: Id
    family_id: Id
    name: Text | None = None
    email: Text | None = None


class TeacherUpserted(Message):
    teacher_id: Id
    name: Text | None = None
    email: Text | None = None
    version: int = Field(ge=0, lt=2**63)

    def entry(self) -> DirectoryEntry:
        return DirectoryEntry(teacher_key(self.teacher_id), self.version, self.name, self.email)


class StudentUpserted(Message):
    student_id: Id
    family_id: Id
    name: Text | None = None
    email: Text | None = None
    version: int = Field(ge=0, lt=2**63)

    def entry(self) -> DirectoryEntry:
        return DirectoryEntry(student_key(self.student_id), self.version, self.name, self.email, self.family_id)


DirectoryUpserted = TeacherUpserted | StudentUpserted
# family.upserted is not consumed: a family's own fields appear on no log; a student's family does.
DIRECTORY: dict[str, type[DirectoryUpserted]] = {"teacher.upserted": TeacherUpserted,
                                                 "student.upserted": StudentUpserted}


class ClassSnapshot(ScheduledWindow):
    class_id: Id
    version: int = Field(ge=1, lt=2**31)
    status: Literal["scheduled", "cancelled"]
    title: Text | None = None
    space_name: Text | None = None
    teacher: TeacherRef
    students: list[StudentRef] = Field(default_factory=list, max_length=1000)

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"

    def touch(self) -> ClassTouch:
        return ClassTouch(self.class_id, self.window, self.space_name)

    def roster(self) -> Roster:
        t = self.teacher
        members = {teacher(t.teacher_id, t.name, t.email).person_key: teacher(t.teacher_id, t.name, t.email)}
        for s in self.students:
            member = student(s.student_id, s.family_id, s.name, s.email)
            members[member.person_key] = member
        return Roster(tuple(members.values()))


class ClassLifecycle(ScheduledWindow):
    """`class.started` / `class.ended`: only the session id and the moments are kept."""

    class_id: Id
    session_id: UUID
    started_at: Instant | None = None
    ended_at: Instant | None = None

    def touch(self) -> ClassTouch:
        return ClassTouch(self.class_id, self.window, session_id=str(self.session_id))


class SessionIn(Message):
    name: Text
    start_time: Instant
    end_time: Instant | None = None

    @model_validator(mode="after")
    def _ends_after_start(self):
        if self.end_time is not None and self.end_time < self.start_time:
            raise ValueError(f"session {self.name} ends before it starts")
        return self


class ParticipantIn(Message):
    name: Text
    kind: Literal["signedin", "anonymous", "phone"]
    user: Text | None = None
    email: Text | None = None
    display_name: Text | None = None
    sessions: list[SessionIn] = Field(default_factory=list, max_length=10000)

    @model_validator(mode="after")
    def _sessions_belong_here(self):
        for session in self.sessions:
            if not session.name.startswith(f"{self.name}/participantSessions/"):
                raise ValueError(f"session {session.name} is not a session of {self.name}")
        return self


class RecordIn(Message):
    name: Annotated[str, Field(pattern=r"^conferenceRecords/[^/]+$", max_length=300)]
    start_time: Instant
    end_time: Instant | None = None
    participants: list[ParticipantIn] = Field(default_factory=list, max_length=10000)

    @model_validator(mode="after")
    def _participants_belong_here(self):
        for participant in self.participants:
            if not participant.name.startswith(f"{self.name}/participants/"):
                raise ValueError(f"participant {participant.name} is not in {self.name}")
        return self


class ParticipantsFetched(ScheduledWindow):
    class_id: Id
    session_id: UUID | None = None  # none for a manual fetch of a class not started yet
    request_id: Text | None = None
    reason: Text | None = None
    fetched_at: Instant
    space_name: Text | None = None
    conference_records: list[RecordIn] = Field(default_factory=list, max_length=1000)
    all_ended: bool
    # The scheduler's last attempt within its retry window: no call found now is final.
    last_attempt: bool = False

    def touch(self) -> ClassTouch:
        # An empty snapshot never says "every call ended", whatever an older fetcher sent.
        ended = self.all_ended and bool(self.conference_records)
        return ClassTouch(self.class_id, self.window, self.space_name,
                          str(self.session_id) if self.session_id else None,
                          FetchState(self.fetched_at, self.fetched_at if ended else None,
                                     self.fetched_at if self.last_attempt else None))

    def records(self) -> list[ConferenceRecord]:
        return [
            ConferenceRecord(r.name, r.start_time, r.end_time, self.space_name, tuple(
                MeetParticipant(p.name, p.kind, p.user, p.email, p.display_name, tuple(
                    MeetSession(s.name, s.start_time, s.end_time) for s in p.sessions))
                for p in r.participants))
            for r in self.conference_records
        ]


def log_updated(log_payload: dict) -> CloudEvent:
    """One event per (log, version): a recomputation that repeats itself dedupes downstream."""
    return new_event(LOG_UPDATED, log_payload, source=SOURCE,
                     id=deterministic_id(LOG_UPDATED, log_payload["log_id"], log_payload["version"]),
                     subject=f"class/{log_payload['class_id']}")


def class_finalized(ctx: ClassContext, finalized_at: datetime, log_payloads: list[dict]) -> CloudEvent:
    data = {
        "class_id": ctx.class_id, "session_id": ctx.session_id, "finalized_at": rfc3339(finalized_at),
        "scheduled_start": rfc3339(ctx.window.start), "scheduled_end": rfc3339(ctx.window.end),
        "reason": ctx.final_reason, "logs": log_payloads,
    }
    return new_event(CLASS_FINALIZED, data, source=SOURCE, id=deterministic_id(CLASS_FINALIZED, ctx.class_id),
                     subject=f"class/{ctx.class_id}")
