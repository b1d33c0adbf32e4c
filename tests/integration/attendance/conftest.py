from __future__ import annotations

import aiohttp
import pytest

from academy_common.bus import Bus
from attendance.app import build
from attendance.settings import Settings
from tests.integration.attendance.harness import Harness
from tests.support.services import VIEWER, isolated_settings, running


@pytest.fixture
async def attendance(database_url, amqp_url, unique):
    settings = isolated_settings(Settings, database_url=database_url, amqp_url=amqp_url, unique=unique,
                                 consumer_max_attempts=3)
    async with running(build, settings) as service:
        yield service


@pytest.fixture
async def world(attendance, amqp_url):
    bus = await Bus.connect(amqp_url, exchange=attendance.settings.bus_exchange)
    channel = await bus.connection.channel()
    observer = await channel.declare_queue(exclusive=True)
    await observer.bind(attendance.settings.bus_exchange, "attendance.#")
    yield Harness(attendance, bus, observer)
    await channel.close()
    await bus.close(drain_timeout=1)


@pytest.fixture
async def http(attendance):
    async with aiohttp.ClientSession(f"http://127.0.0.1:{attendance.port}") as session:
        yield session


@pytest.fixture
def get_logs(http):
    async def get(**params) -> list[dict]:
        response = await http.get("/monitoring/attendance-logs", params=params, headers=VIEWER)
        assert response.status == 200, await response.text()
        return (await response.json())["items"]

    return get
