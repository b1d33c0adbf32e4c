"""The event contracts of the system, the one place they are defined (docs/events.md explains
them; `make contracts` writes docs/asyncapi.yaml and docs/events/*.schema.json from them).

Every event is a CloudEvents 1.0 envelope (`academy_common.events.CloudEvent`) whose routing
key is its `type`. Producers build events only with `EventType.build`, consumers read their
data only with `EventType.parse`: what goes out is checked against the same model that reads
it in. `version` is the version of a type's data schema: it grows when a field is added
(fields are never removed or renamed).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from academy_common.contracts.attendance import MAX_SECONDS, AttendanceLog, ClassFinalized
from academy_common.contracts.base import Payload, ScheduledWindow
from academy_common.contracts.classes import (
    ClassEnded,
    ClassSnapshot,
    ClassStarted,
    FetchRequested,
    StudentRef,
    TeacherRef,
)
from academy_common.contracts.directory import FamilyUpserted, StudentUpserted, TeacherUpserted
from academy_common.contracts.meet import (
    ConferenceRecord,
    FetchError,
    FetchFailed,
    Participant,
    ParticipantSession,
    ParticipantsFetched,
)
from academy_common.events import CloudEvent, new_event

P = TypeVar("P", bound=Payload)


@dataclass(frozen=True)
class EventType(Generic[P]):
    type: str  # also the routing key
    model: type[P]
    producer: str  # the service, whose CloudEvents source is /academy/<producer>
    version: int = 1

    @property
    def source(self) -> str:
        return f"/academy/{self.producer}"

    def build(self, data: Mapping[str, Any], *, id: str | None = None, subject: str | None = None,
              time: datetime | None = None) -> CloudEvent:
        """The event a producer publishes: `data` checked by the model (no field it does not name)
        and written as the model writes it (times in RFC 3339 UTC)."""
        return new_event(self.type, self.model.produce(dict(data)).wire(), source=self.source, id=id,
                         subject=subject, time=time)

    def parse(self, event: CloudEvent) -> P:
        """The event's data as this type's model; a ValidationError (poison) when it is not."""
        return self.model.model_validate(event.data)


TEACHER_UPSERTED = EventType("teacher.upserted", TeacherUpserted, "scheduler")
FAMILY_UPSERTED = EventType("family.upserted", FamilyUpserted, "scheduler")
STUDENT_UPSERTED = EventType("student.upserted", StudentUpserted, "scheduler")
CLASS_SCHEDULED = EventType("class.scheduled", ClassSnapshot, "scheduler")
CLASS_UPDATED = EventType("class.updated", ClassSnapshot, "scheduler")
CLASS_CANCELLED = EventType("class.cancelled", ClassSnapshot, "scheduler")
CLASS_STARTED = EventType("class.started", ClassStarted, "scheduler")
CLASS_ENDED = EventType("class.ended", ClassEnded, "scheduler")
FETCH_REQUESTED = EventType("class.fetch_requested", FetchRequested, "scheduler")
PARTICIPANTS_FETCHED = EventType("meet.participants.fetched", ParticipantsFetched, "meet-fetcher")
FETCH_FAILED = EventType("meet.fetch_failed", FetchFailed, "meet-fetcher")
# version 2: final_reason added; 3: billable_override, correction_reason and the status excused
LOG_UPDATED = EventType("attendance.log.updated", AttendanceLog, "attendance", version=3)
CLASS_FINALIZED = EventType("attendance.class.finalized", ClassFinalized, "attendance")

EVENT_TYPES: dict[str, EventType[Any]] = {e.type: e for e in (
    TEACHER_UPSERTED, FAMILY_UPSERTED, STUDENT_UPSERTED, CLASS_SCHEDULED, CLASS_UPDATED, CLASS_CANCELLED,
    CLASS_STARTED, CLASS_ENDED, FETCH_REQUESTED, PARTICIPANTS_FETCHED, FETCH_FAILED, LOG_UPDATED, CLASS_FINALIZED,
)}
CLASS_SNAPSHOTS = (CLASS_SCHEDULED, CLASS_UPDATED, CLASS_CANCELLED)

__all__ = [
    "CLASS_CANCELLED", "CLASS_ENDED", "CLASS_FINALIZED", "CLASS_SCHEDULED", "CLASS_SNAPSHOTS", "CLASS_STARTED",
    "CLASS_UPDATED", "EVENT_TYPES", "FAMILY_UPSERTED", "FETCH_FAILED", "FETCH_REQUESTED", "LOG_UPDATED",
    "MAX_SECONDS", "PARTICIPANTS_FETCHED", "STUDENT_UPSERTED", "TEACHER_UPSERTED", "AttendanceLog", "ClassEnded",
    "ClassFinalized", "ClassSnapshot", "ClassStarted", "CloudEvent", "ConferenceRecord", "EventType",
    "FamilyUpserted", "FetchError", "FetchFailed", "FetchRequested", "Participant", "ParticipantSession",
    "ParticipantsFetched", "Payload", "ScheduledWindow", "StudentRef", "StudentUpserted", "TeacherRef",
    "TeacherUpserted",
]
