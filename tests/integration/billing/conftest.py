"""Billing in-process against the real PostgreSQL and RabbitMQ, fed through the bus."""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from academy_common.bus import Bus
from billing.app import build
from billing.settings import Settings
from tests.integration.billing.billing_support import Feed
from tests.support.services import BILLING, isolated_settings, running


@pytest.fixture
def make_settings(database_url, amqp_url, unique) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return isolated_settings(Settings, database_url=database_url, amqp_url=amqp_url, unique=unique, **overrides)

    return make


@pytest.fixture
def settings(make_settings, request) -> Settings:
    """Overrides come from `@pytest.mark.parametrize("settings", [{...}], indirect=True)`."""
    return make_settings(**getattr(request, "param", {}))


@pytest.fixture
async def service(settings):
    async with running(build, settings) as service:
        yield service


@pytest.fixture
async def http(service) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(f"http://127.0.0.1:{service.port}") as session:
        yield session


@pytest.fixture
async def bus(service) -> AsyncIterator[Bus]:
    bus = await Bus.connect(service.settings.amqp_url, exchange=service.settings.bus_exchange, publish_timeout=5)
    yield bus
    await bus.close(drain_timeout=1)


@pytest.fixture
def feed(bus, service) -> Feed:
    return Feed(bus, service.pool)


@pytest.fixture
def api(http):
    """JSON calls as the billing role: `await api("GET", path, ...)` → (status, body)."""

    async def call(method: str, path: str, *, headers: dict | None = None, **kwargs: Any) -> tuple[int, Any]:
        async with http.request(method, path, headers=headers or BILLING, **kwargs) as response:
            body = await response.json(content_type=None) if response.content_type.endswith("json") \
                else await response.text()
            return response.status, body

    return call
