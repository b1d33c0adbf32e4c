"""Classes: one teacher, several students, a scheduled window and a Meet space.

A `Plan` is what a request proposes (a new class, or an existing one after an update); the
checks below decide whether it may be stored. A `Class` is what is stored, and its snapshot is
the payload of class.scheduled / class.updated / class.cancelled.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from academy_common.events import rfc3339
from scheduler.errors import Conflict, Invalid

MAX_DURATION_MINUTES = 24 * 60
MAX_AHEAD = timedelta(days=5 * 366)
Status = Literal["scheduled", "cancelled"]


@dataclass(frozen=True)
class TeacherRef:
    teacher_id: int
    name: str
    email: str
    active: bool = True

    def snapshot(self) -> dict[str, Any]:
        return {"teacher_id": self.teacher_id, "name": self.name, "email": self.email}


@dataclass(frozen=True)
class StudentRef:
    student_id: int
    family_id: int
    name: str
    email: str
    active: bool = True

    def snapshot(self) -> dict[str, Any]:
        return {"student_id": self.student_id, "family_id": self.family_id, "name": self.name, "email": self.email}


@dataclass(frozen=True)
class Space:
    name: str
    meeting_code: str
    meeting_uri: str


@dataclass(frozen=True)
class Plan:
    title: str
    teacher_id: int
    student_ids: tuple[int, ...]
    start: datetime
    duration_minutes: int

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.duration_minutes)


@dataclass(frozen=True)
class Class:
    class_id: int
    version: int
    status: Status
    title: str
    start: datetime
    duration_minutes: int
    space: Space
    teacher: TeacherRef
    students: tuple[StudentRef, ...] = field(default=())

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.duration_minutes)

    @property
    def plan(self) -> Plan:
        return Plan(self.title, self.teacher.teacher_id, tuple(s.student_id for s in self.students),
                    self.start, self.duration_minutes)

    def snapshot(self) -> dict[str, Any]:
        return {
            "class_id": self.class_id,
            "version": self.version,
            "status": self.status,
            "title": self.title,
            "scheduled_start": rfc3339(self.start),
            "scheduled_end": rfc3339(self.end),
            "duration_minutes": self.duration_minutes,
            "space_name": self.space.name,
            "meeting_code": self.space.meeting_code,
            "meeting_uri": self.space.meeting_uri,
            "teacher": self.teacher.snapshot(),
            "students": [s.snapshot() for s in self.students],
        }


@dataclass(frozen=True)
class ClassChanges:
    """A partial update of a class: None leaves a field as it is."""

    title: str | None = None
    teacher_id: int | None = None
    student_ids: tuple[int, ...] | None = None
    start: datetime | None = None
    duration_minutes: int | None = None


def revise(current: Class, changes: ClassChanges) -> Plan:
    """The class's plan with the changes; the teacher stays, as the Meet space was created as them
    and the fetcher reads it by impersonating its organizer."""
    if changes.teacher_id not in (None, current.teacher.teacher_id):
        raise Invalid(f"class {current.class_id} keeps its teacher (the Meet space is theirs): "
                      "cancel it and schedule a new class")
    given = {k: v for k, v in vars(changes).items() if v is not None}
    return replace(current.plan, **given)


def check_timing(plan: Plan, now: datetime, tolerance_s: float) -> None:
    if plan.start.tzinfo is None:
        raise Invalid("start needs a UTC offset (RFC 3339)")
    if not 0 < plan.duration_minutes <= MAX_DURATION_MINUTES:
        raise Invalid(f"duration_minutes must be between 1 and {MAX_DURATION_MINUTES}")
    if plan.start < now - timedelta(seconds=tolerance_s):
        raise Invalid(f"start {rfc3339(plan.start)} is in the past")
    if plan.start > now + MAX_AHEAD:
        raise Invalid(f"start {rfc3339(plan.start)} is more than {MAX_AHEAD.days} days ahead")


def check_roster(plan: Plan, teacher: TeacherRef | None, students: dict[int, StudentRef]) -> None:
    """Everyone on the roster exists, is active and appears once; identities are told apart by email."""
    if teacher is None:
        raise Invalid(f"teacher {plan.teacher_id} does not exist")
    if not teacher.active:
        raise Invalid(f"teacher {plan.teacher_id} is inactive")
    if not plan.student_ids:
        raise Invalid("a class needs at least one student")
    twice = sorted(i for i, n in Counter(plan.student_ids).items() if n > 1)
    if twice:
        raise Invalid(f"student ids listed more than once: {_ids(twice)}")
    unknown = [i for i in plan.student_ids if i not in students]
    if unknown:
        raise Invalid(f"unknown student ids: {_ids(unknown)}")
    inactive = [i for i in plan.student_ids if not students[i].active]
    if inactive:
        raise Invalid(f"inactive student ids: {_ids(inactive)}")
    if any(students[i].email == teacher.email for i in plan.student_ids):
        raise Invalid("the teacher's email is also a student's: attendance could not tell them apart")


def check_no_overlap(plan: Plan, clashing_class_ids: list[int]) -> None:
    if clashing_class_ids:
        raise Conflict(f"teacher {plan.teacher_id} already teaches class {_ids(clashing_class_ids)} at that time")


def check_editable(current: Class, started: bool, now: datetime) -> None:
    """Time, roster and title may change only before the class starts."""
    if current.status == "cancelled":
        raise Conflict(f"class {current.class_id} is cancelled")
    if started or now >= current.start:
        raise Conflict(f"class {current.class_id} has already started")


def realize(plan: Plan, *, class_id: int, version: int, space: Space, teacher: TeacherRef,
            students: dict[int, StudentRef]) -> Class:
    """The class a checked plan becomes (the roster in the order the plan lists it)."""
    return Class(class_id, version, "scheduled", plan.title, plan.start, plan.duration_minutes, space,
                 teacher, tuple(students[i] for i in plan.student_ids))


def cancel(current: Class, started: bool, now: datetime) -> Class | None:
    """The cancelled class, one version up; None when it already is cancelled.

    A class that has started is history (attendance and billing may already count it).
    """
    if current.status == "cancelled":
        return None
    check_editable(current, started, now)
    return replace(current, status="cancelled", version=current.version + 1)


def _ids(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids)
