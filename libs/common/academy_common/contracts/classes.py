"""The scheduler's classes: snapshots, start and end, and the fetch requests of the ticker."""
from __future__ import annotations

from typing import Literal, Self
from uuid import UUID

from pydantic import Field, model_validator

from academy_common.contracts.base import FetchReason, Id, Payload, ScheduledWindow, Text, Time, Version


class TeacherRef(Payload):
    teacher_id: Id
    name: Text | None = None
    email: Text | None = None


class StudentRef(Payload):
    student_id: Id
    family_id: Id
    name: Text | None = None
    email: Text | None = None


class ClassSnapshot(ScheduledWindow):
    """`class.scheduled` / `class.updated` / `class.cancelled`: the whole class."""

    class_id: Id
    version: Version
    status: Literal["scheduled", "cancelled"]
    title: Text | None = None
    duration_minutes: int | None = Field(default=None, ge=1)
    space_name: Text | None = None
    meeting_code: Text | None = None
    meeting_uri: Text | None = None
    teacher: TeacherRef
    students: list[StudentRef] = Field(default_factory=list, max_length=1000)

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"


class ClassTransition(ScheduledWindow):
    class_id: Id
    session_id: UUID = Field(description="UUIDv5 of the class id: one session per class")


class ClassStarted(ClassTransition):
    """`class.started`; `started_at` is when the scheduler applied it (equal to `ended_at` after a catch-up)."""

    started_at: Time


class ClassEnded(ClassTransition):
    """`class.ended`."""

    ended_at: Time


class FetchRequested(ScheduledWindow):
    """`class.fetch_requested`: all the fetcher needs. It reports the conference records that
    overlap [window_start, window_end]: start_time <= window_end AND (end_time IS NULL OR
    end_time >= window_start)."""

    class_id: Id
    session_id: str = Field(min_length=1, max_length=100)
    reason: FetchReason
    attempt: int = Field(default=1, ge=1, description="1 for final, active and manual; n+1 for retry n")
    space_name: str | None = Field(default=None, pattern=r"^spaces/[A-Za-z0-9_-]+$")
    meeting_code: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]+$")
    organizer_email: str | None = Field(default=None, max_length=320)
    window_start: Time
    window_end: Time
    requested_at: Time | None = None
    last_attempt: bool = Field(default=False, description="the last retry within RETRY_WINDOW_DAYS: a class whose "
                               "call was never found is final (no_meeting_found) on its answer")

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if not (self.space_name or self.meeting_code):
            raise ValueError("space_name or meeting_code is required")
        if self.window_end < self.window_start:
            raise ValueError("window_end is before window_start")
        return self
