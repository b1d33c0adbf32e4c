"""Helpers for the meet-fetcher integration tests: requests in, answers observed on the bus."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, Self

import aio_pika

from academy_common.events import CloudEvent, new_event, rfc3339

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # the emulator's ManualClock starts here


def fetch_request(space_name: str, *, class_id: int = 7, reason: str = "active", start: datetime = T0,
                  minutes: int = 60, organizer: str = "ada@school.org", **extra: Any) -> CloudEvent:
    end = start + timedelta(minutes=minutes)
    data = {
        "class_id": class_id, "session_id": f"00000000-0000-4000-8000-{class_id:012d}", "reason": reason,
        "attempt": 1, "space_name": space_name, "meeting_code": None, "organizer_email": organizer,
        "scheduled_start": rfc3339(start), "scheduled_end": rfc3339(end),
        "window_start": rfc3339(start - timedelta(minutes=30)), "window_end": rfc3339(end + timedelta(minutes=30)),
        "requested_at": rfc3339(start),
    }
    data.update(extra)
    return new_event("class.fetch_requested", data, source="/academy/scheduler")


class Observer:
    """An exclusive queue bound to the test's exchange, collecting the fetcher's answers."""

    def __init__(self, amqp_url: str, exchange: str):
        self.amqp_url, self.exchange = amqp_url, exchange
        self.events: asyncio.Queue[CloudEvent] = asyncio.Queue()

    async def __aenter__(self) -> Self:
        self.connection = await aio_pika.connect_robust(self.amqp_url)
        channel = await self.connection.channel()
        exchange = await channel.declare_exchange(self.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, routing_key="meet.#")

        async def collect(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                await self.events.put(CloudEvent.from_json(message.body))

        await queue.consume(collect)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.connection.close()

    async def next(self, timeout: float = 10.0) -> CloudEvent:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def answers(self, count: int, timeout: float = 15.0) -> list[CloudEvent]:
        return [await self.next(timeout) for _ in range(count)]

    def empty(self) -> bool:
        return self.events.empty()


def records(event: CloudEvent) -> list[dict[str, Any]]:
    assert event.type == "meet.participants.fetched", event
    return event.data["conference_records"]


def people(event: CloudEvent) -> dict[str, dict[str, Any]]:
    """display_name → participant, across every record of the snapshot."""
    return {p["display_name"]: p for r in records(event) for p in r["participants"]}


def without_fetch_time(event: CloudEvent) -> dict[str, Any]:
    return {k: v for k, v in event.data.items() if k != "fetched_at"}
