"""Bus handler of `scheduler.fetch-outcomes`: fetch failures and finalized classes, parsed, to their use cases.

Both run through `Service.subscribe`: one transaction with the processed-events mark, so a
redelivery is a no-op. An event naming a class this scheduler does not know is poison (DLQ).
"""
from __future__ import annotations

import asyncpg

from academy_common import topology
from academy_common.bus import PermanentError
from academy_common.contracts import CLASS_FINALIZED, FETCH_FAILED
from academy_common.events import CloudEvent
from scheduler import usecases

QUEUE = "scheduler.fetch-outcomes"
ROUTING_KEYS = topology.routing_keys(QUEUE)


async def handle(conn: asyncpg.Connection, event: CloudEvent) -> None:
    if event.type == FETCH_FAILED.type:
        await usecases.record_fetch_failure(conn, FETCH_FAILED.parse(event))
    elif event.type == CLASS_FINALIZED.type:
        await usecases.finalize_class(conn, CLASS_FINALIZED.parse(event))
    else:
        raise PermanentError(f"{QUEUE} does not handle {event.type}")
