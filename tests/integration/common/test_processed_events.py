"""Processed-event marks are pruned by age, by a job of every service, never the young ones."""
from __future__ import annotations

import pytest

from academy_common.consumer import ProcessedEventsPruner
from academy_common.db import create_pool, migrate
from tests.support import sample_service
from tests.support.services import delete_queues
from tests.support.waiting import eventually

DAY = 86400.0


async def _marks(pool) -> dict[str, int]:
    """event id → age in whole days"""
    rows = await pool.fetch("SELECT event_id, extract(day FROM now() - processed_at)::int AS days"
                            " FROM processed_events")
    return {r["event_id"]: r["days"] for r in rows}


async def _mark(pool, event_id: str, days_old: float) -> None:
    await pool.execute("INSERT INTO processed_events (consumer, event_id, processed_at)"
                       " VALUES ('q', $1, now() - make_interval(secs => $2))", event_id, days_old * DAY)


@pytest.fixture
async def pool(database_url, unique):
    await migrate(database_url, unique, None)
    pool = await create_pool(database_url, unique)
    yield pool
    await pool.close()


async def test_marks_older_than_the_retention_go_in_batches(pool):
    for i in range(12):
        await _mark(pool, f"old-{i}", 15)
    await _mark(pool, "edge", 13.99)
    await _mark(pool, "young", 0)
    pruner = ProcessedEventsPruner(pool, retention_s=14 * DAY, interval_s=3600, batch=5)
    assert await pruner.prune_once() == 12
    assert await _marks(pool) == {"edge": 13, "young": 0}
    assert await pruner.prune_once() == 0


async def test_a_running_service_prunes_its_marks_periodically(database_url, amqp_url, unique):
    settings = sample_service.Settings(database_url=database_url, amqp_url=amqp_url, http_port=0,
                                       http_host="127.0.0.1", sample_schema=unique, sample_prefix=unique, queue_prefix=f"{unique}.",
                                       processed_events_prune_interval_s=0.2)
    service = sample_service.build(settings)
    await service.start()
    try:
        await _mark(service.pool, "a-month-old", 30)
        await _mark(service.pool, "a-week-old", 7)

        async def only_young_left() -> bool:
            return await _marks(service.pool) == {"a-week-old": 7}

        await eventually(only_young_left)
    finally:
        await service.stop()
        await delete_queues(settings)

