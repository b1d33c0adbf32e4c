"""`teacher.upserted`, `family.upserted`, `student.upserted`: the scheduler's directory."""
from __future__ import annotations

from pydantic import Field

from academy_common.contracts.base import Id, Payload, Text


class _Person(Payload):
    name: Text
    email: Text | None = None
    active: bool = True
    version: int = Field(ge=0, lt=2**31, description="grows with every change of the entry")


class TeacherUpserted(_Person):
    """`teacher.upserted`: a teacher as the scheduler's directory has it now."""

    teacher_id: Id


class FamilyUpserted(_Person):
    """`family.upserted`: a family (who pays for its students) as the directory has it now."""

    family_id: Id


class StudentUpserted(_Person):
    """`student.upserted`: a student and the family billed for them, as the directory has it now."""

    student_id: Id
    family_id: Id
