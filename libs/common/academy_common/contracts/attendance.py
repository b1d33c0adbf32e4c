"""What attendance publishes: one person's log in one class, and a class's final logs."""
from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from academy_common.contracts.base import FinalReason, Id, Payload, SessionRef, Text, Time

MAX_SECONDS = 31 * 24 * 3600  # no class is longer than a month; bounds the consumers' arithmetic


def _who(role: str, ids: dict[str, str]) -> dict:
    return {"if": {"properties": {"role": {"const": role}}},
            "then": {"properties": {"person_key": {"pattern": f"^{role}:"},
                                    **{k: {"type": t} for k, t in ids.items()}}}}


# What attendance's logs always satisfy, stated for subscribers (the schema, not the readers, checks it).
_COHERENT = [
    _who("teacher", {"teacher_id": "integer", "student_id": "null", "family_id": "null"}),
    _who("student", {"teacher_id": "null", "student_id": "integer", "family_id": "integer"}),
    _who("guest", {"teacher_id": "null", "student_id": "null", "family_id": "null"}),
    {"if": {"properties": {"joins": {"const": 0}}},
     "then": {"properties": {"first_join": {"type": "null"}, "last_leave": {"type": "null"},
                             "attended_seconds": {"const": 0}}}},
]


class AttendanceLog(Payload):
    """`attendance.log.updated`: published when the log's content changes (its version grows by
    one each time); the event id is deterministic from (log_id, version). Seconds are whole
    seconds rounded down."""

    model_config = ConfigDict(json_schema_extra={"allOf": _COHERENT})

    log_id: Id | None = None
    class_id: Id
    session_id: SessionRef | None = Field(default=None, description="null only while no class session is known")
    version: int = Field(ge=0, lt=2**31)
    person_key: str = Field(min_length=1, max_length=500, pattern=r"^(teacher:[0-9]+|student:[0-9]+|guest:.+)$",
                            description="teacher:<id> | student:<id> | guest:<meet identity>")
    role: Literal["teacher", "student", "guest"]
    teacher_id: Id | None = None
    student_id: Id | None = None
    family_id: Id | None = None
    email: Text | None = None
    display_name: Text | None = None
    scheduled_start: Time
    scheduled_end: Time | None = None
    first_join: Time | None = None
    last_leave: Time | None = Field(default=None, description="null while still in the call, or never joined")
    joins: int = Field(default=0, ge=0, description="number of Meet participant sessions")
    attended_seconds: int = Field(default=0, ge=0, le=MAX_SECONDS, description="length of the union of the sessions")
    billable_seconds: int = Field(ge=0, le=MAX_SECONDS, description="the union of the sessions within "
                                  "[scheduled_start, scheduled_end), or the corrected value; never above "
                                  "attended_seconds unless billable_override")
    status: Literal["present", "late", "absent", "excused"] = Field(
        default="absent", description="excused only by a correction (absent, not billed unless the correction "
        "gave billable seconds)")
    late: bool = False
    left_early: bool = False
    final: bool = False
    final_reason: FinalReason | None = Field(default=None, description="null until the class is final; then why")
    corrected: bool = Field(default=False, description="an admin overrode billable_seconds and/or status")
    billable_override: bool = Field(default=False, description="billable_seconds is above attended_seconds: an "
                                    "admin's explicit override (allow_above_attended); older logs lack it (false)")
    correction_reason: str | None = Field(default=None, max_length=2000, description="the latest correction's "
                                          "reason while corrected, else null; older logs lack it")
    removed: bool = Field(default=False, description="the person no longer belongs to the class, or the class "
                          "was cancelled after its logs were computed: emptied, must not be counted")


class ClassFinalized(Payload):
    """`attendance.class.finalized`: once per class, when its logs become final, every current
    (not removed) log of the class; the event id is deterministic from the class id."""

    class_id: Id
    session_id: SessionRef | None = None
    finalized_at: Time
    scheduled_start: Time | None = None
    scheduled_end: Time | None = None
    reason: FinalReason | None = None
    logs: list[AttendanceLog] = Field(default_factory=list, json_schema_extra={"allOf": [{"items": {
        "properties": {"final": {"const": True}, "removed": {"const": False},
                       "final_reason": {"type": "string"}}}}]})
