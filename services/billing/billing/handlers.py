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
    ClassSnapshot,
)
from academy_common.events import CloudEvent
from billing import usecases

EVENTS = Counter("billing_events_applied_total", "Events billing consumed, by outcome", ["type", "outcome"])

QUEUE = "billing.events"


def _outcome(event: CloudEvent, applied: bool) -> None:
    EVENTS.labels(event.type, "applied" if applied else "stale").inc()


class Projection:
    """The consumer of `billing.events`; `zone` (ACADEMY_TIMEZONE) dates each line's month."""

    def __init__(self, zone: str):
        self.zone = zone
        self.handlers: dict[str, Callable[[asyncpg.Connection, CloudEvent], Awaitable[None]]] = {
            FAMILY_UPSERTED.type: self.on_entry,
            STUDENT_UPSERTED.type: self.on_entry,
            TEACHER_UPSERTED.type: self.on_entry,
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

    async def on_entry(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        _outcome(event, await usecases.project_entry(conn, EVENT_TYPES[event.type].parse(event)))

    async def on_class(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        snapshot: ClassSnapshot = EVENT_TYPES[event.type].parse(event)
        cancelled = snapshot.cancelled or event.type == CLASS_CANCELLED.type
        # The event's time is when the scheduler cancelled the class (kept in its outbox, so
        # the same on every redelivery): what a late cancellation is measured from.
        cancelled_at = event.time if cancelled else None
        _outcome(event, await usecases.project_class(conn, snapshot, cancelled_at=cancelled_at, zone=self.zone))

    async def on_log(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        _outcome(event, await usecases.project_log(conn, LOG_UPDATED.parse(event), self.zone))

    async def on_finalized(self, conn: asyncpg.Connection, event: CloudEvent) -> None:
        _outcome(event, await usecases.project_finalized(conn, CLASS_FINALIZED.parse(event), self.zone))
