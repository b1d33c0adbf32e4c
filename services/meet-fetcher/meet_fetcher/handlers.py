"""Bus handler of `meet-fetcher.fetch-requests`: parse the request, run the fetch use case, count it."""
from __future__ import annotations

import time

import structlog

from academy_common import topology
from academy_common.bus import PermanentError
from academy_common.contracts import FETCH_REQUESTED
from academy_common.events import CloudEvent
from academy_common.meet_api import count_calls
from academy_common.service import Service
from meet_fetcher import usecases
from meet_fetcher.metrics import CALLS_PER_FETCH, FETCH_SECONDS, FETCHES
from meet_fetcher.usecases import Fetcher

log = structlog.get_logger(__name__)

QUEUE = "meet-fetcher.fetch-requests"
ROUTING_KEYS = topology.routing_keys(QUEUE)


class FetchHandler:
    """`class.fetch_requested` → fetch → publish (confirmed) → ack.

    A plain consumer, not `subscribe()`: there is no state change to commit with the ack, and
    holding a transaction across seconds of API calls would tie up the pool. Redeliveries are
    harmless: the answer's id derives from the request's, so consumers drop the duplicate.
    MeetApiError becomes meet.fetch_failed and the request is acked; a failed publish (or a
    database outage) raises, and the bus retries the request later.
    """

    def __init__(self, service: Service, fetcher: Fetcher):
        self.service, self.fetcher = service, fetcher  # the service connects its bus at start, after wiring

    async def __call__(self, event: CloudEvent) -> None:
        if event.type != FETCH_REQUESTED.type:  # whatever its routing key, nothing else asks for a fetch
            raise PermanentError(f"meet-fetcher does not handle {event.type!r}")
        request = FETCH_REQUESTED.parse(event)  # invalid → dead-letter queue
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(class_id=request.class_id, request_id=event.id,
                                                     reason=request.reason), count_calls() as tally:
            outcome, details = "error", {}
            try:
                outcome, details = await usecases.fetch_and_publish(self.service.bus, self.fetcher, request, event.id)
            finally:
                elapsed = time.perf_counter() - started
                FETCHES.labels(request.reason, outcome).inc()
                FETCH_SECONDS.observe(elapsed)
                CALLS_PER_FETCH.observe(tally.calls)
                log.info("fetch", outcome=outcome, calls=tally.calls, duration_s=round(elapsed, 3), **details)
