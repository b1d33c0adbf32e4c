"""Bus handlers of `attendance.events`: parse the typed payload, run the use case.

Each runs inside `Service.subscribe`'s transaction with its processed-event mark, so a
redelivered event is a no-op. A payload that does not validate raises pydantic's
ValidationError: the message goes to the dead-letter queue and nothing is stored.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

import asyncpg
import structlog
from pydantic import ValidationError

from academy_common.bus import PermanentError
from academy_common.consumer import TransactionalHandler
from academy_common.events import CloudEvent

from attendance import repository, usecases
from attendance.messages import (
    CLASS_LIFECYCLE, CLASS_SNAPSHOTS, PARTICIPANTS_FETCHED, ClassLifecycle, ClassSnapshot, ParticipantsFetched,
)
from attendance.metrics import SNAPSHOTS
from attendance.model import Policy

QUEUE = "attendance.events"
ROUTING_KEYS = [*CLASS_SNAPSHOTS, *CLASS_LIFECYCLE, PARTICIPANTS_FETCHED]

Clock = Callable[[], datetime]


def make_handler(policy: Policy, clock: Clock = usecases.utcnow) -> TransactionalHandler:
    async def handle(conn: asyncpg.Connection, event: CloudEvent) -> None:
        class_id = event.data.get("class_id")
        with structlog.contextvars.bound_contextvars(class_id=class_id if isinstance(class_id, int) else None):
            if event.type in CLASS_SNAPSHOTS:
                snapshot = ClassSnapshot.model_validate(event.data)
                cancelled = snapshot.status == "cancelled" or event.type == "class.cancelled"
                await usecases.apply_class_snapshot(conn, snapshot, cancelled=cancelled, policy=policy, now=clock())
            elif event.type in CLASS_LIFECYCLE:
                await repository.record_lifecycle(conn, ClassLifecycle.model_validate(event.data))
            elif event.type == PARTICIPANTS_FETCHED:
                await _participants_fetched(conn, event, policy, clock)
            else:
                raise PermanentError(f"attendance does not handle {event.type!r}")

    return handle


async def _participants_fetched(conn: asyncpg.Connection, event: CloudEvent, policy: Policy, clock: Clock) -> None:
    try:
        snapshot = ParticipantsFetched.model_validate(event.data)
    except ValidationError:
        SNAPSHOTS.labels("invalid").inc()
        raise
    result = await usecases.record_participants(conn, snapshot, policy=policy, now=clock())
    SNAPSHOTS.labels(result.outcome).inc()
