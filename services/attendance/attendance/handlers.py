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
from academy_common.contracts import CLASS_CANCELLED, ParticipantsFetched
from academy_common.events import CloudEvent
from attendance import usecases
from attendance.messages import CONSUMED, DirectoryUpserted, Incoming
from attendance.metrics import SNAPSHOTS
from attendance.model import Policy

QUEUE = "attendance.events"
ROUTING_KEYS = topology.routing_keys(QUEUE)

Clock = Callable[[], datetime]


def parse(event: CloudEvent) -> Incoming:
    contract = CONSUMED.get(event.type)
    if contract is None:
        raise PermanentError(f"attendance does not handle {event.type!r}")
    message = contract.parse(event)
    return message.model_copy(update={"status": "cancelled"}) if contract is CLASS_CANCELLED else message


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
