"""Fixtures of the API conformance suite: each service running in a background loop, with seed data,
reachable over HTTP from synchronous tests."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import aiohttp
import pytest

from meet_emulator.testing import run_emulator
from tests.badinput.seeds import SEEDS
from tests.badinput.stacks import started
from tests.support.background import BackgroundLoop


class LiveServices:
    """`live.url("billing")`: the service's base URL, started (with its seed data) on first use."""

    def __init__(self, database_url: str, amqp_url: str):
        self._database_url, self._amqp_url = database_url, amqp_url
        self._background = BackgroundLoop()
        self._urls: dict[str, str] = {}
        self._emulator = None

    def url(self, name: str) -> str:
        if name not in self._urls:
            self._urls[name] = self._background.run(self._start(name))
        return self._urls[name]

    async def _start(self, name: str) -> str:
        if self._emulator is None:
            self._emulator = await self._background.hold(run_emulator())
        service = await self._background.hold(started(
            name, database_url=self._database_url, amqp_url=self._amqp_url,
            unique="t" + uuid.uuid4().hex[:8], meet_url=self._emulator.url))
        async with aiohttp.ClientSession(f"http://127.0.0.1:{service.port}") as http:
            await SEEDS[name](service, http)
        return f"http://127.0.0.1:{service.port}"

    def close(self) -> None:
        self._background.close()


@pytest.fixture(scope="module")
def live(database_url, amqp_url) -> Iterator[LiveServices]:
    services = LiveServices(database_url, amqp_url)
    yield services
    services.close()
