"""Run a service in-process for a test, isolated by schema, exchange and queue names."""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import aio_pika

from academy_common import topology
from academy_common.service import Service
from academy_common.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)

# Unnamed tokens (audit rows say the role) and named ones (audit rows say `role:name`).
TEST_TOKENS = {"test-admin-token-0001": "admin", "test-billing-token-01": "billing",
               "test-viewer-token-001": "viewer", "test-alice-admin-token": "admin:alice",
               "test-carol-billing-token": "billing:carol"}
ADMIN = {"Authorization": "Bearer test-admin-token-0001"}
BILLING = {"Authorization": "Bearer test-billing-token-01"}
VIEWER = {"Authorization": "Bearer test-viewer-token-001"}
ALICE = {"Authorization": "Bearer test-alice-admin-token"}  # admin:alice
CAROL = {"Authorization": "Bearer test-carol-billing-token"}  # billing:carol


def isolated_settings(cls: type[S], *, database_url: str, amqp_url: str, unique: str, **overrides) -> S:
    """Settings whose schema, exchange and queues belong to this test alone; fast intervals."""
    values = {
        "database_url": database_url, "amqp_url": amqp_url, "db_schema": unique, "queue_prefix": f"{unique}.",
        "bus_exchange": f"{unique}.events", "http_host": "127.0.0.1", "http_port": 0, "api_tokens": TEST_TOKENS,
        "outbox_poll_s": 0.1, "close_job_poll_s": 0.05, "consumer_retry_delay_s": 0.2, "drain_timeout_s": 5, "log_format": "console",
        "bus_queue_type": "classic",  # quorum queues are covered by tests/integration/common and e2e
    }
    values.update(overrides)
    return cls(**values)


@asynccontextmanager
async def running(build: Callable[[S], Service], settings: S) -> AsyncIterator[Service]:
    """Start the service (migrations, bus, consumers, HTTP on a free port) and stop it after."""
    service = build(settings)
    await service.start()
    queues = [c.spec.queue for c in service.bus.consumers]
    try:
        yield service
    finally:
        await service.stop()
        await delete_queues(settings, queues)


async def delete_queues(settings: ServiceSettings, queues: list[str] = ()) -> None:
    """Delete what a start declared: `queues`, and the whole topology under the test's prefix.

    A full run starts services hundreds of times; left behind, their queues hold the broker's
    file handles (1024 by default) until it can no longer start a vhost."""
    names = {*queues, *(settings.queue_prefix + definition.name for definition in topology.QUEUES)}
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        channel = await connection.channel()
        for name in sorted(names):
            for suffix in ("", ".retry", ".dlq"):
                await channel.queue_delete(name + suffix)
        await channel.exchange_delete(settings.bus_exchange)
    finally:
        await connection.close()
