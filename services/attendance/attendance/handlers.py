"""Bus handler of `attendance.events`: parse the typed payloads, run the use case.

The events delivered together are handled in one transaction (`Service.subscribe_batches`),
each with its processed-event mark, so a redelivered event is a no-op. A payload that does
not validate raises pydantic's ValidationError: the batch is retried one event at a time,
that event goes to the dead-letter queue and nothing of it is stored.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import asyncpg
import structlog

from academy_common import topology
from academy_common.bus import PermanentError
from academy_common.consumer import TransactionalBatchHandler
from academy_common.events import CloudEvent
from attendance import usecases
from attendance.messages import (
    CLASS_LIFECYCLE,
    CLASS_SNAPSHOTS,
    DIRECTORY,
    PARTICIPANTS_FETCHED,
    ClassLifecycle,
    ClassSnapshot,
    DirectoryUpserted,
    ParticipantsFetched,
)
from attendance.metrics import SNAPSHOTS
from attendance.model import Policy

QUEUE = "attendance.events"
ROUTING_KEYS = topology.routing_keys(QUEUE)

Clock = Callable[[], datetime]


def parse(event: CloudEvent) -> usecases.Incoming:
    if event.type in CLASS_SNAPSHOTS:
        snapshot = ClassSnapshot.model_validate(event.data)
        return snapshot.model_copy(update={"status": "cancelled"}) if event.type == "class.cancelled" else snapshot
    if event.type in CLASS_LIFECYCLE:
        return ClassLifecycle.model_validate(event.data)
    if event.type == PARTICIPANTS_FETCHED:
        return ParticipantsFetched.model_validate(event.data)
    if event.type in DIRECTORY:
        return DIRECTORY[event.type].model_validate(event.data)
    raise PermanentError(f"attendance does not handle {event.type!r}")


def make_handler(policy: Policy, clock: Clock = usecases.utcnow) -> TransactionalBatchHandler:
    async def handle(conn: asyncpg.Connection, events: list[CloudEvent]) -> None:
        messages = [parse(event) for event in events]
        class_ids = sorted({m.class_id for m in messages if not isinstance(m, DirectoryUpserted)})
        with structlog.contextvars.bound_contextvars(class_id=class_ids[0] if len(class_ids) == 1 else None):
            results = await usecases.ingest(conn, messages, policy=policy, now=clock())
        for message in messages:
            if isinstance(message, ParticipantsFetched):
                SNAPSHOTS.labels(results[message.class_id].outcome).inc()

    return handle
