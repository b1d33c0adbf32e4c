"""Fixtures of the bad-input suite: the Meet emulator, a service by name, an HTTP client on it."""
from __future__ import annotations

import aiohttp
import pytest

from meet_emulator.testing import run_emulator
from tests.badinput.stacks import started


@pytest.fixture
async def emu():
    async with run_emulator() as emu:
        yield emu


@pytest.fixture
def start(database_url, amqp_url, unique, emu):
    """`async with start("billing") as service:` — the service, isolated, in this test's loop."""

    def make(name: str, **overrides):
        return started(name, database_url=database_url, amqp_url=amqp_url, unique=unique, meet_url=emu.url,
                       **overrides)

    return make


@pytest.fixture
def client():
    """`async with client(service) as http:` — a session on the service's port."""

    def make(service) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(f"http://127.0.0.1:{service.port}")

    return make
