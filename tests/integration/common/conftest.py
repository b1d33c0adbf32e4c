from __future__ import annotations

import asyncio

import pytest

from academy_common.bus import Bus
from academy_common.db import create_pool, migrate


@pytest.fixture
async def bus(amqp_url):
    bus = await Bus.connect(amqp_url, max_attempts=3, retry_delay_s=0.2, publish_timeout=5)
    yield bus
    await bus.close(drain_timeout=2)


@pytest.fixture
async def pool(database_url, unique, tmp_path):
    (tmp_path / "001_effects.sql").write_text(
        "CREATE TABLE effects (event_id text NOT NULL, value int NOT NULL);"
    )
    await migrate(database_url, unique, tmp_path)
    pool = await create_pool(database_url, unique)
    yield pool
    try:  # a test that leaked a connection fails on its own; don't hang the run on it too
        await asyncio.wait_for(pool.close(), 10)
    except TimeoutError:
        pool.terminate()


