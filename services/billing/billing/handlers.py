"""Event handlers: the directory, classes and attendance logs into billing's own tables.

Each runs in the consumer's transaction with its processed-event mark (redelivery is a
no-op), and every upsert is guarded by the entity's version (an older or repeated snapshot
changes nothing), so replays and reordering leave the figures as they are.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import structlog
from prometheus_client import Counter

from academy_common.bus import PermanentError
from academy_common.contracts import (
    CLASS_CANCELLED,
    CLASS_FINALIZED,
    CLASS_SCHEDULED,
    CLASS_UPDATED,
    EVENT_TYPES,
    FAMILY_UPSERTED,
    LOG_UPDATED,
    STUDENT_UPSERTED,
    TEACHER_UPSERTED,
    AttendanceLog,
    ClassSnapshot,
)
from academy_common.events import CloudEvent
from billing import repository as repo
from billing.messages import in_billable_years
from billing.rates import Party

log = structlog.get_logger(__name__)

EVENTS = Counter("billing_events_applied_total", "Events billing consumed, by outcome", ["type", "outcome"])

QUEUE = "billing.events"


class FamilyUnknown(RuntimeError):
    """A student's line cannot be billed yet: retried, as student.upserted may still be on its way."""


def _outcome(event: CloudEvent, applied: bool) -> None:
    EVENTS.labels(event.type, "applied" if applied else "stale").inc()


class Projection:
    """The consumer of `billing.events`; `zone` (ACADEMY_TIMEZONE) dates each line's month."""

    def __init__(self, zone: str):
        self.zone = zone
        self.handlers: dict[str, Callable[[asyncpg.Connection, CloudEvent], Awaitable[None]]] = {
            FAMILY_UPSERTED.type: self.on_family,
            STUDENT_UPSERTED.type: self.on_student,
            TEACHER_UPSERTED.type: self.on_teacher,
            CLASS_SCHEDULED.type: self.on_class,
            CLASS_UPDATED.type: self.on_class,
            CLASS_CANCELLED.type: self.on_class,
            LOG_UPDATED.type: self.on_log,
            CLASS_FINALIZED.type: self.on_finalized,
        }

    async def handle(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        handler = self.handlers.get(event.type)
        if handler is None:
            raise PermanentError(f"billing does not consume {event.type}")
        await handler(conn, event)

    async def on_family(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        _outcome(event, await repo.upsert_family(conn, FAMILY_UPSERTED.parse(event)))

    async def on_student(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        _outcome(event, await repo.upsert_student(conn, STUDENT_UPSERTED.parse(event)))

    async def on_teacher(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        _outcome(event, await repo.upsert_teacher(conn, TEACHER_UPSERTED.parse(event)))

    async def on_class(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        snapshot: ClassSnapshot = EVENT_TYPES[event.type].parse(event)
        in_billable_years(snapshot.scheduled_start, snapshot.scheduled_end)
        await repo.lock_pricing(conn)
        cancelled = snapshot.cancelled or event.type == CLASS_CANCELLED.type
        applied = await repo.upsert_class(conn, snapshot, cancelled, self.zone)
        log.info("class projected", class_id=snapshot.class_id, version=snapshot.version, applied=applied)
        _outcome(event, applied)

    async def on_log(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        entry = LOG_UPDATED.parse(event)
        await repo.lock_pricing(conn)
        _outcome(event, await self.apply_log(conn, entry))

    async def on_finalized(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        finalized = CLASS_FINALIZED.parse(event)
        if any(entry.class_id != finalized.class_id for entry in finalized.logs):
            raise PermanentError("a log of another class in attendance.class.finalized")
        await repo.lock_pricing(conn)
        applied = [await self.apply_log(conn, entry) for entry in finalized.logs]
        _outcome(event, any(applied))

    async def apply_log(self, conn: asyncpg.Connection, entry: AttendanceLog) -> bool:
        in_billable_years(entry.scheduled_start)
        if entry.role == "guest":  # listed by attendance, never billed
            return False
        party, party_id = await _billed_party(conn, entry)
        applied = await repo.upsert_line(conn, party, party_id, entry, self.zone)
        log.info("attendance line projected", class_id=entry.class_id, person_key=entry.person_key,
                 version=entry.version, applied=applied)
        return applied


async def _billed_party(conn: asyncpg.Connection, entry: AttendanceLog) -> tuple[Party, int]:
    if entry.role == "teacher":
        if entry.teacher_id is None:
            raise PermanentError("a teacher log without teacher_id")
        return "teacher", entry.teacher_id
    if entry.student_id is None:
        raise PermanentError("a student log without student_id")
    family_id = entry.family_id or await repo.family_of(conn, entry.class_id, entry.student_id)
    if family_id is None:
        raise FamilyUnknown(f"family of student {entry.student_id} not known yet")
    return "family", family_id
