"""The scheduler in-process against the real PostgreSQL, RabbitMQ and the Meet emulator.

Time is a `FakeClock` the test moves: the service's routes and background ticker read it, so
a class can start, run and end without anybody sleeping.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import aio_pika
import aiohttp
import pytest

from academy_common.bus import Bus
from academy_common.events import CloudEvent
from meet_emulator.testing import run_emulator
from scheduler.app import build
from scheduler.settings import Settings
from tests.integration.scheduler.sched_support import Academy, BusTap, FakeClock
from tests.support.services import isolated_settings, running


@pytest.fixture
async def emulator():
    async with run_emulator() as emu:
        yield emu


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_settings(database_url, amqp_url, unique, emulator) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values = {"meet_api_endpoint": emulator.url, "people_api_endpoint": emulator.url,
                  "meet_api_retry_attempts": 2, "meet_api_retry_initial_s": 0.01, "meet_api_retry_budget_s": 1,
                  # the background ticker runs once at start; tests tick explicitly with tick_at()
                  "tick_interval_s": 3600, **overrides}
        return isolated_settings(Settings, database_url=database_url, amqp_url=amqp_url, unique=unique, **values)

    return make


@pytest.fixture
def settings(make_settings) -> Settings:
    return make_settings()


@pytest.fixture
async def service(settings, clock):
    async with running(functools.partial(build, clock=clock), settings) as service:
        yield service


@pytest.fixture
async def tap(service):
    connection = await aio_pika.connect(service.settings.amqp_url)
    channel = await connection.channel()
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(service.settings.bus_exchange, "#")
    bus_tap = BusTap()

    async def collect(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            bus_tap.events.append(CloudEvent.from_json(message.body))

    await queue.consume(collect)
    yield bus_tap
    await connection.close()


@pytest.fixture
async def http(service):
    async with aiohttp.ClientSession(f"http://127.0.0.1:{service.port}") as session:
        yield session


@pytest.fixture
def academy(http, clock) -> Academy:
    return Academy(http, clock)


@pytest.fixture
async def publisher(service):
    """Publishes input events (as the fetcher or attendance would) on the test's exchange."""
    bus = await Bus.connect(service.settings.amqp_url, exchange=service.settings.bus_exchange)
    yield bus
    await bus.close(drain_timeout=1)
