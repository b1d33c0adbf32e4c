"""Bootstrap: settings → Service with the fetch-request consumer, the Meet client with the shared limiter, cache pruning."""
from __future__ import annotations

import asyncio
from pathlib import Path

from academy_common.bus import ConsumerSpec
from academy_common.meet_api import MeetClient
from academy_common.service import Service
from academy_common.settings import load_settings
from meet_fetcher import usecases
from meet_fetcher.handlers import QUEUE, ROUTING_KEYS, FetchHandler
from meet_fetcher.repository import Cache, PgRateLimiter
from meet_fetcher.settings import Settings
from meet_fetcher.usecases import Fetcher

PACKAGE = Path(__file__).parent


def build(settings: Settings | None = None) -> Service:
    settings = settings or load_settings(Settings)
    service = Service(settings, name="meet-fetcher", schema="meet_fetcher", migrations=PACKAGE / "migrations",
                      openapi=PACKAGE / "openapi.yaml", uses_outbox=False)
    limiter = PgRateLimiter(lambda: service.pool, per_minute=settings.meet_reads_per_minute,
                            per_user_per_minute=settings.meet_reads_per_user_per_minute)
    client = MeetClient.from_settings(settings, limiter=limiter)
    cache = Cache(lambda: service.pool, email_ttl=settings.email_ttl)
    fetcher = Fetcher(client, cache, incremental=settings.fetch_incremental)
    service.consume(ConsumerSpec(QUEUE, ROUTING_KEYS, FetchHandler(service, fetcher),
                                 prefetch=settings.fetch_concurrency))

    async def prune_caches() -> None:
        await usecases.prune_caches(cache, settings.snapshot_ttl, settings.cache_prune_interval_s)

    async def release_api_threads_on_stop() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            client.close()

    service.background(prune_caches)
    service.background(release_api_threads_on_stop)
    return service
