"""The event payloads billing consumes (docs/events.md), as typed messages.

Unknown fields are ignored (producers may add fields); a payload that does not validate is
poison and goes to the dead-letter queue unchanged.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from billing.months import MAX_YEAR, MIN_YEAR

MAX_SECONDS = 31 * 24 * 3600  # no class is longer than a month; bounds the bigint arithmetic


def _billable_year(moment: datetime) -> datetime:
    if not MIN_YEAR + 1 <= moment.year <= MAX_YEAR - 1:
        raise ValueError(f"outside the years billing handles ({MIN_YEAR + 1}-{MAX_YEAR - 1})")
    return moment


ClassTime = Annotated[AwareDatetime, AfterValidator(_billable_year)]


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class FamilyUpserted(Message):
    family_id: int = Field(gt=0)
    name: str
    email: str | None = None
    active: bool = True
    version: int = Field(ge=0)


class StudentUpserted(Message):
    student_id: int = Field(gt=0)
    family_id: int = Field(gt=0)
    name: str
    email: str | None = None
    active: bool = True
    version: int = Field(ge=0)


class TeacherUpserted(Message):
    teacher_id: int = Field(gt=0)
    name: str
    email: str | None = None
    active: bool = True
    version: int = Field(ge=0)


class ClassTeacher(Message):
    teacher_id: int = Field(gt=0)
    name: str | None = None


class ClassStudent(Message):
    student_id: int = Field(gt=0)
    family_id: int = Field(gt=0)
    name: str | None = None


class ClassSnapshot(Message):
    class_id: int = Field(gt=0)
    version: int = Field(ge=0)
    status: str
    title: str | None = None
    scheduled_start: ClassTime
    scheduled_end: ClassTime
    teacher: ClassTeacher | None = None
    students: list[ClassStudent] = Field(default_factory=list)

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"


class AttendanceLog(Message):
    log_id: int | None = None
    class_id: int = Field(gt=0)
    version: int = Field(ge=0)
    person_key: str = Field(min_length=1, max_length=500)
    role: Literal["teacher", "student", "guest"]
    teacher_id: int | None = Field(default=None, gt=0)
    student_id: int | None = Field(default=None, gt=0)
    family_id: int | None = Field(default=None, gt=0)
    scheduled_start: ClassTime
    billable_seconds: int = Field(ge=0, le=MAX_SECONDS)
    final: bool = False
    corrected: bool = False
    billable_override: bool = False  # billable above attended: an admin's explicit override
    correction_reason: str | None = Field(default=None, max_length=2000)
    removed: bool = False  # the person no longer belongs to the class: the log is not counted


class ClassFinalized(Message):
    class_id: int = Field(gt=0)
    logs: list[AttendanceLog] = Field(default_factory=list)
