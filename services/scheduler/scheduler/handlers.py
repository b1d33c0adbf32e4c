"""Bus handler of `scheduler.fetch-outcomes`: fetch failures and finalized classes, parsed, to their use cases.

Both run through `Service.subscribe`: one transaction with the processed-events mark, so a
redelivery is a no-op. An event naming a class this scheduler does not know is poison (DLQ).
"""
from __future__ import annotations

import asyncpg

from academy_common import topology
from academy_common.bus import PermanentError
from academy_common.events import CloudEvent
from scheduler import usecases
from scheduler.messages import ClassFinalized, FetchFailed

QUEUE = "scheduler.fetch-outcomes"
ROUTING_KEYS = topology.routing_keys(QUEUE)


async def handle(conn: asyncpg.Connection, event: CloudEvent) -> None:
    if event.type == "meet.fetch_failed":
        await usecases.record_fetch_failure(conn, FetchFailed.model_validate(event.data))
    elif event.type == "attendance.class.finalized":
        await usecases.finalize_class(conn, ClassFinalized.model_validate(event.data))
    else:
        raise PermanentError(f"{QUEUE} does not handle {event.type}")
