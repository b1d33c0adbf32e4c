"""The bus topology of the whole system in one place: every service's queue and the events it takes.

Every service declares all of it at start, before its outbox relay publishes anything, and
`python -m academy_common.topology` (or `python -m <service> topology`) declares it as a
deployment step. So an event published before its consumer ever ran waits in that consumer's
queue instead of going only to the queues that happened to exist.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aio_pika
import structlog

from academy_common.bus import Bus
from academy_common.logging import configure_logging
from academy_common.settings import ServiceSettings, load_settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class QueueDef:
    name: str
    routing_keys: tuple[str, ...]


QUEUES = (
    QueueDef("scheduler.fetch-outcomes", ("meet.fetch_failed", "attendance.class.finalized")),
    QueueDef("meet-fetcher.fetch-requests", ("class.fetch_requested",)),
    QueueDef("attendance.events", ("class.scheduled", "class.updated", "class.cancelled", "class.started",
                                   "class.ended", "meet.participants.fetched", "teacher.upserted",
                                   "student.upserted")),
    QueueDef("billing.events", ("family.upserted", "student.upserted", "teacher.upserted", "class.scheduled",
                                "class.updated", "class.cancelled", "attendance.log.updated",
                                "attendance.class.finalized")),
)


def routing_keys(queue: str) -> list[str]:
    """The routing keys bound to `queue` (its name without the test prefix)."""
    for definition in QUEUES:
        if definition.name == queue:
            return list(definition.routing_keys)
    raise KeyError(f"{queue} is not in academy_common.topology.QUEUES")


async def declare(bus: Bus, prefix: str = "") -> list[str]:
    """Declare every queue (with its retry queue and DLQ) and binding; return the queue names."""
    channel = await bus.connection.channel()
    try:
        for definition in QUEUES:
            await bus.declare_queue(channel, prefix + definition.name, list(definition.routing_keys))
    finally:
        await channel.close()
    return [prefix + definition.name for definition in QUEUES]


async def declare_from_settings(settings: ServiceSettings) -> list[str]:
    """Connect with the services' settings (AMQP_URL, BUS_EXCHANGE, CONSUMER_*), declare, disconnect."""
    s = settings
    bus = await Bus.connect(s.amqp_url, s.bus_exchange, publish_timeout=s.publish_timeout_s,
                            max_attempts=s.consumer_max_attempts, retry_delay_s=s.consumer_retry_delay_s,
                            queue_type=s.bus_queue_type)
    try:
        return await declare(bus, s.queue_prefix)
    finally:
        await bus.connection.close()


def main() -> None:
    settings = load_settings(ServiceSettings)
    configure_logging("topology", settings.log_level, settings.log_format)
    try:
        queues = asyncio.run(declare_from_settings(settings))
    except aio_pika.exceptions.ChannelPreconditionFailed as exc:
        # A queue declared by an older release with other arguments: see docs/operations.md.
        log.error("a queue exists with other arguments", error=str(exc))
        raise SystemExit(1) from None
    log.info("topology declared", exchange=settings.bus_exchange, queues=queues)


if __name__ == "__main__":
    main()
