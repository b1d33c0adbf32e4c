"""The small bootstrap every service runs: settings → logs → db → bus (whole topology) → consumers → HTTP.

    service = Service(settings, name="attendance", schema="attendance", migrations=MIGRATIONS)
    service.subscribe("attendance.events", ["meet.#"], handle)   # handle(conn, event), idempotent
    service.background(ticker.run)              # long-running coroutines
    run(service, routes=routes, openapi=OPENAPI)   # `python -m x` serves, `python -m x migrate` migrates,
                                                   # `python -m x topology` declares the bus topology
"""
from __future__ import annotations

import asyncio
import dataclasses
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import structlog
from aiohttp import web

from academy_common import topology
from academy_common.bus import Bus, ConsumerSpec
from academy_common.consumer import (
    ProcessedEventsPruner,
    TransactionalBatchHandler,
    TransactionalHandler,
    idempotent,
    idempotent_batch,
)
from academy_common.db import create_pool, migrate
from academy_common.events import CloudEvent
from academy_common.http import create_app
from academy_common.logging import configure_logging
from academy_common.outbox import OutboxRelay
from academy_common.settings import ServiceSettings

log = structlog.get_logger(__name__)

SERVICE_KEY: web.AppKey[Service] = web.AppKey("service")

Setup = Callable[["Service"], Awaitable[None] | None]


class Service:
    def __init__(self, settings: ServiceSettings, *, name: str, schema: str | None,
                 migrations: Path | None = None, routes: web.RouteTableDef | None = None,
                 openapi: Path | None = None, uses_outbox: bool = True, uses_bus: bool = True,
                 app_factory: Callable[[Service], web.Application] | None = None):
        self.settings, self.name = settings, name
        self.schema = (settings.db_schema or schema) if schema is not None else None
        self.migrations, self.routes, self.openapi = migrations, routes, openapi
        self.uses_outbox = uses_outbox and schema is not None
        self.uses_bus = uses_bus  # False: an HTTP-only service (the console), no broker at all
        self._app_factory = app_factory or _api_app
        self.pool: asyncpg.Pool | None = None
        self.bus: Bus | None = None
        self.app: web.Application | None = None
        self._consumers: list[ConsumerSpec] = []
        self._background: list[Callable[[], Awaitable[None]]] = []
        self._tasks: list[asyncio.Task] = []
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def consume(self, spec: ConsumerSpec) -> None:
        """Consume with a plain `handler(event)` (no database transaction around it)."""
        self._consumers.append(dataclasses.replace(spec, queue=self.settings.queue_prefix + spec.queue))

    def subscribe(self, queue: str, routing_keys: list[str], handler: TransactionalHandler,
                  prefetch: int | None = None) -> None:
        """Consume with `handler(conn, event)` run idempotently in one transaction (see `idempotent`)."""

        async def handle(event: CloudEvent) -> None:
            await idempotent(self.pool, queue, handler)(event)

        self.consume(ConsumerSpec(queue, routing_keys, handle, prefetch))

    def subscribe_batches(self, queue: str, routing_keys: list[str], handler: TransactionalBatchHandler,
                          max_batch: int = 32) -> None:
        """Consume with `handler(conn, events)`: the events delivered together in one transaction
        (see `idempotent_batch`); a failed batch is retried one event at a time."""

        async def handle(event: CloudEvent) -> None:
            await idempotent(self.pool, queue, lambda conn, e: handler(conn, [e]))(event)

        async def handle_batch(events: list[CloudEvent]) -> None:
            await idempotent_batch(self.pool, queue, handler)(events)

        # Twice the batch in flight: the next batch fills while one is in the database.
        self.consume(ConsumerSpec(queue, routing_keys, handle, prefetch=2 * max_batch,
                                  batch_handler=handle_batch, max_batch=max_batch))

    def background(self, job: Callable[[], Awaitable[None]]) -> None:
        self._background.append(job)

    async def migrate(self) -> list[str]:
        if self.schema is None:
            return []
        return await migrate(self.settings.database_url, self.schema, self.migrations)

    async def connect(self) -> None:
        """Database (migrated) and broker; HTTP and consumers come with `start`."""
        s = self.settings
        if self.schema is not None:
            await self.migrate()
            self.pool = await create_pool(s.database_url, self.schema, max_size=s.db_pool_max_size)
        if not self.uses_bus:
            return
        self.bus = await Bus.connect(
            s.amqp_url, s.bus_exchange, publish_timeout=s.publish_timeout_s,
            max_attempts=s.consumer_max_attempts, retry_delay_s=s.consumer_retry_delay_s,
            prefetch=s.consumer_prefetch, queue_type=s.bus_queue_type,
            outage_window_s=s.consumer_outage_window_s, max_message_bytes=s.bus_max_message_bytes,
        )

    async def start(self, app_setup: Setup | None = None) -> None:
        if self.bus is None:
            await self.connect()
        if self.bus is not None:
            # Every service's queues, not only this one's: what it publishes from now on waits for
            # consumers that have not started yet.
            await topology.declare(self.bus, self.settings.queue_prefix)
        self.app = self._app_factory(self)
        self.app[SERVICE_KEY] = self
        if app_setup is not None:
            maybe = app_setup(self)
            if maybe is not None:
                await maybe
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.http_host, self.settings.http_port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        if self.uses_outbox:
            s = self.settings
            relay = OutboxRelay(self.pool, self.bus, schema=self.schema, poll_s=s.outbox_poll_s,
                                backoff_s=s.outbox_backoff_s, backoff_max_s=s.outbox_backoff_max_s,
                                max_attempts=s.outbox_max_attempts)
            self._tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
        if self.schema is not None:
            pruner = ProcessedEventsPruner(self.pool, retention_s=self.settings.processed_events_retention_s,
                                           interval_s=self.settings.processed_events_prune_interval_s)
            self._tasks.append(asyncio.create_task(self._guard(pruner.run), name="processed-events-pruner"))
        for job in self._background:
            self._tasks.append(asyncio.create_task(self._guard(job), name=getattr(job, "__qualname__", "job")))
        for spec in self._consumers:
            await self.bus.consume(spec)
        log.info("service started", http_port=self.port, consumers=[c.queue for c in self._consumers])

    async def _guard(self, job: Callable[[], Awaitable[None]]) -> None:
        """A background job that crashes is logged and restarted, not silently lost."""
        while True:
            try:
                await job()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background job crashed, restarting", job=getattr(job, "__qualname__", "job"))
                await asyncio.sleep(1)

    async def ready(self) -> dict[str, bool]:
        checks = {"broker": bool(self.bus and self.bus.is_ready)} if self.uses_bus else {}
        if self.schema is not None:
            try:
                async with self.pool.acquire(timeout=2) as conn:
                    await conn.fetchval("SELECT 1")
                checks["database"] = True
            except Exception:
                checks["database"] = False
        return checks

    async def stop(self) -> None:
        """Drain: stop consuming, finish in-flight messages, stop jobs, close connections."""
        if self.bus is not None:
            await self.bus.drain(self.settings.drain_timeout_s)
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=self.settings.drain_timeout_s)
            if stuck:  # a job that swallowed its cancellation must not hold the shutdown up
                log.error("background jobs did not stop", jobs=sorted(t.get_name() for t in stuck))
        self._tasks.clear()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.bus is not None:
            await self.bus.connection.close()
        if self.pool is not None:
            await self._close_pool()
        log.info("service stopped")

    async def _close_pool(self) -> None:
        """Close gracefully, but never wait forever on a connection somebody failed to release."""
        try:
            async with asyncio.timeout(self.settings.drain_timeout_s):
                await self.pool.close()
        except TimeoutError:
            log.warning("database connections still in use at shutdown, closing them")
            self.pool.terminate()


def _api_app(service: Service) -> web.Application:
    """The JSON API services' app: bearer tokens, their routes and OpenAPI document."""
    return create_app(tokens=service.settings.api_tokens, ready=service.ready, routes=service.routes,
                      openapi=service.openapi)


async def serve(service: Service, app_setup: Setup | None = None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await service.start(app_setup)
    await stop.wait()
    log.info("shutting down")
    await service.stop()


def run(build: Callable[[], Service], app_setup: Setup | None = None, argv: list[str] | None = None) -> None:
    """Entry point for `python -m <service> [serve|migrate]`."""
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "serve"
    service = build()
    s = service.settings
    configure_logging(service.name, s.log_level, s.log_format)
    if command == "migrate":
        applied = asyncio.run(service.migrate())
        log.info("migrated", schema=service.schema, applied=applied)
    elif command == "topology":
        queues = asyncio.run(topology.declare_from_settings(s))
        log.info("topology declared", exchange=s.bus_exchange, queues=queues)
    elif command == "serve":
        asyncio.run(serve(service, app_setup))
    else:
        raise SystemExit(f"usage: python -m {service.name.replace('-', '_')} [serve|migrate|topology]")
