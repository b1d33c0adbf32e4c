"""Bus handler of `billing.events`: parse the typed payloads, run the projection's use case, count the outcome.

Each runs in the consumer's transaction with its processed-event mark (redelivery is a
no-op), and every upsert is guarded by the entity's version (an older or repeated snapshot
changes nothing), so replays and reordering leave the figures as they are.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
from prometheus_client import Counter

from academy_common.bus import PermanentError
from academy_common.events import CloudEvent
from billing import usecases
from billing.messages import (
    AttendanceLog,
    ClassFinalized,
    ClassSnapshot,
    FamilyUpserted,
    StudentUpserted,
    TeacherUpserted,
)

EVENTS = Counter("billing_events_applied_total", "Events billing consumed, by outcome", ["type", "outcome"])

QUEUE = "billing.events"


def _outcome(event: CloudEvent, applied: bool) -> None:
    EVENTS.labels(event.type, "applied" if applied else "stale").inc()


class Projection:
    """The consumer of `billing.events`; `zone` (ACADEMY_TIMEZONE) dates each line's month."""

    def __init__(self, zone: str):
        self.zone = zone
        self.handlers: dict[str, Callable[[asyncpg.Connection, CloudEvent], Awaitable[None]]] = {
            "family.upserted": self.on_family,
            "student.upserted": self.on_student,
            "teacher.upserted": self.on_teacher,
            "class.scheduled": self.on_class,
            "class.updated": self.on_class,
            "class.cancelled": self.on_class,
            "attendance.log.updated": self.on_log,
            "attendance.class.finalized": self.on_finalized,
        }

    async def handle(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        handler = self.handlers.get(event.type)
        if handler is None:
            raise PermanentError(f"billing does not consume {event.type}")
        await handler(conn, event)

    async def on_family(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        _outcome(event, await usecases.project_entry(conn, FamilyUpserted.model_validate(event.data)))

    async def on_student(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        _outcome(event, await usecases.project_entry(conn, StudentUpserted.model_validate(event.data)))

    async def on_teacher(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        _outcome(event, await usecases.project_entry(conn, TeacherUpserted.model_validate(event.data)))

    async def on_class(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        snapshot = ClassSnapshot.model_validate(event.data)
        cancelled = snapshot.cancelled or event.type == "class.cancelled"
        _outcome(event, await usecases.project_class(conn, snapshot, cancelled=cancelled, zone=self.zone))

    async def on_log(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        _outcome(event, await usecases.project_log(conn, AttendanceLog.model_validate(event.data), self.zone))

    async def on_finalized(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        _outcome(event, await usecases.project_finalized(conn, ClassFinalized.model_validate(event.data), self.zone))
