"""Wiring: the fetch-request consumer, the Meet client with the shared limiter, cache pruning."""
from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import structlog
from prometheus_client import Counter, Histogram

from academy_common import topology
from academy_common.bus import ConsumerSpec, PermanentError
from academy_common.contracts import FETCH_REQUESTED, FetchRequested
from academy_common.events import CloudEvent
from academy_common.meet_api import MeetApiError, MeetClient, count_calls
from academy_common.service import Service
from academy_common.settings import load_settings
from meet_fetcher.cache import Cache
from meet_fetcher.fetcher import Fetcher
from meet_fetcher.limiter import PgRateLimiter
from meet_fetcher.messages import failed_event, fetched_event
from meet_fetcher.settings import Settings

log = structlog.get_logger(__name__)

PACKAGE = Path(__file__).parent
QUEUE = "meet-fetcher.fetch-requests"

FETCHES = Counter("meet_fetches_total", "Fetches by request reason and outcome (ok | failed | error)",
                  ["reason", "outcome"])
CALLS_PER_FETCH = Histogram("meet_calls_per_fetch", "Google API calls one fetch made",
                            buckets=(1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32, 64, 128, 256))
FETCH_SECONDS = Histogram("meet_fetch_seconds", "Duration of one fetch, publish included",
                          buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120))


class FetchHandler:
    """`class.fetch_requested` → fetch → publish (confirmed) → ack.

    A plain consumer, not `subscribe()`: there is no state change to commit with the ack, and
    holding a transaction across seconds of API calls would tie up the pool. Redeliveries are
    harmless: the answer's id derives from the request's, so consumers drop the duplicate.
    MeetApiError becomes meet.fetch_failed and the request is acked; a failed publish (or a
    database outage) raises, and the bus retries the request later.
    """

    def __init__(self, service: Service, fetcher: Fetcher):
        self.service, self.fetcher = service, fetcher

    async def __call__(self, event: CloudEvent) -> None:
        if event.type != FETCH_REQUESTED.type:  # whatever its routing key, nothing else asks for a fetch
            raise PermanentError(f"meet-fetcher does not handle {event.type!r}")
        request = FETCH_REQUESTED.parse(event)  # invalid → dead-letter queue
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(class_id=request.class_id, request_id=event.id,
                                                     reason=request.reason), count_calls() as tally:
            outcome, details = "error", {}
            try:
                outcome, details = await self._fetch_and_publish(request, event.id)
            finally:
                elapsed = time.perf_counter() - started
                FETCHES.labels(request.reason, outcome).inc()
                FETCH_SECONDS.observe(elapsed)
                CALLS_PER_FETCH.observe(tally.calls)
                log.info("fetch", outcome=outcome, calls=tally.calls, duration_s=round(elapsed, 3), **details)

    async def _fetch_and_publish(self, request: FetchRequested, request_id: str) -> tuple[str, dict]:
        """Publish the answer; return the outcome and what the fetch log line says about it."""
        try:
            result = await self.fetcher.fetch(request)
        except MeetApiError as error:
            await self.service.bus.publish(failed_event(request, request_id, error, datetime.now(UTC)))
            return "failed", {"error": error.as_dict(), "retryable": error.retryable}
        await self.service.bus.publish(fetched_event(request, request_id, result.snapshot, result.fetched_at))
        snapshot = result.snapshot
        return "ok", {"records": len(snapshot.records), "all_ended": snapshot.all_ended,
                      "participants": sum(len(r.participants) for r in snapshot.records)}


def build(settings: Settings | None = None) -> Service:
    settings = settings or load_settings(Settings)
    service = Service(settings, name="meet-fetcher", schema="meet_fetcher", migrations=PACKAGE / "migrations",
                      openapi=PACKAGE / "openapi.yaml", uses_outbox=False)
    limiter = PgRateLimiter(lambda: service.pool, per_minute=settings.meet_reads_per_minute,
                            per_user_per_minute=settings.meet_reads_per_user_per_minute)
    client = MeetClient.from_settings(settings, limiter=limiter)
    cache = Cache(lambda: service.pool, email_ttl=settings.email_ttl)
    fetcher = Fetcher(client, cache, incremental=settings.fetch_incremental)
    service.consume(ConsumerSpec(QUEUE, topology.routing_keys(QUEUE), FetchHandler(service, fetcher),
                                 prefetch=settings.fetch_concurrency))

    async def prune_caches() -> None:
        while True:
            try:
                gone = await cache.prune(settings.snapshot_ttl)
                if gone:
                    log.info("caches pruned", rows=gone)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("cache pruning failed, will retry", error=repr(exc))
            await asyncio.sleep(settings.cache_prune_interval_s)

    async def release_api_threads_on_stop() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            client.close()

    service.background(prune_caches)
    service.background(release_api_threads_on_stop)
    return service
