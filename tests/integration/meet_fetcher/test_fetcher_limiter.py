"""The read-rate limit is shared: however many replicas, reads start at least 60/limit s apart."""
from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client import REGISTRY

from academy_common.db import create_pool, migrate
from academy_common.meet_api import MeetApiError, MeetClient, RetryPolicy
from meet_fetcher.app import PACKAGE, build
from meet_fetcher.repository import PgRateLimiter
from tests.integration.meet_api.meet_proxy import MeetProxy
from tests.integration.meet_fetcher.fetcher_support import Observer, fetch_request
from tests.support.services import running


@pytest.fixture
async def pool(database_url, unique):
    await migrate(database_url, unique, PACKAGE / "migrations")
    pool = await create_pool(database_url, unique)
    yield pool
    await pool.close()


async def test_two_fetchers_together_never_exceed_the_project_limit(emu, settings_for, amqp_url):
    classes = 12
    emu.load({"conferences": [
        {"space": f"spaces/lim{n}", "start": "-5m", "participants": [
            {"kind": "anonymous", "display_name": f"a{n}"}, {"kind": "phone", "display_name": f"p{n}"}]}
        for n in range(classes)]})
    per_minute = 1200  # one read per 50 ms for the whole project
    async with MeetProxy(emu.url) as via_a, MeetProxy(emu.url) as via_b:
        settings_a = settings_for(meet_api_endpoint=via_a.url, meet_reads_per_minute=per_minute, fetch_concurrency=3)
        settings_b = settings_for(meet_api_endpoint=via_b.url, meet_reads_per_minute=per_minute, fetch_concurrency=3)
        async with running(build, settings_a) as a, running(build, settings_b), \
                Observer(amqp_url, settings_a.bus_exchange) as observer:
            for n in range(classes):
                await a.bus.publish(fetch_request(f"spaces/lim{n}", class_id=100 + n))
            answers = await observer.answers(classes, timeout=30)

    assert {e.type for e in answers} == {"meet.participants.fetched"}
    assert via_a.calls and via_b.calls, "both replicas fetched"
    starts = [c.at for c in via_a.calls + via_b.calls]
    assert len(starts) == classes * 4
    # Reads are reserved 50 ms apart, so together they span at least (n - 1) slots; a busy
    # machine only stretches this (unlimited, all 48 fit in well under a second).
    assert max(starts) - min(starts) >= (len(starts) - 1) * 0.05 * 0.8


async def test_each_user_has_its_own_allowance_within_the_project(pool):
    replica_a = PgRateLimiter(lambda: pool, per_minute=100_000, per_user_per_minute=300)  # 200 ms per user
    replica_b = PgRateLimiter(lambda: pool, per_minute=100_000, per_user_per_minute=300)
    started = time.monotonic()
    done: dict[str, list[float]] = {"ada": [], "bo": []}

    async def read(limiter: PgRateLimiter, user: str) -> None:
        await limiter.acquire(user)
        done[user].append(time.monotonic() - started)

    await asyncio.gather(*(read(limiter, user) for limiter in (replica_a, replica_b) for user in ("ada", "bo")
                           for _ in range(3)))
    for user, times in done.items():
        times.sort()
        assert len(times) == 6
        # the k-th read of a user cannot start before k slots of 200 ms (a slow loop only delays)
        assert all(t >= k * 0.2 - 0.02 for k, t in enumerate(times)), (user, times)
    # ada's reads do not hold bo's back: sharing one allowance, no two reads would start within
    # one slot of each other; apart, each read of ada has a read of bo in its slot.
    assert any(abs(a - b) < 0.2 - 0.02 for a, b in zip(done["ada"], done["bo"])), done


async def test_a_waiting_read_is_counted_in_the_quota_wait_metric(pool):
    limiter = PgRateLimiter(lambda: pool, per_minute=120, per_user_per_minute=120)  # 500 ms apart
    client = MeetClient(meet_endpoint="http://127.0.0.1:9/", limiter=limiter, threads=1,
                        retry=RetryPolicy(attempts=1))
    before = REGISTRY.get_sample_value("meet_quota_wait_seconds_sum") or 0.0
    try:
        for _ in range(2):
            with pytest.raises(MeetApiError):  # nobody listens on port 9: each read fails after its token
                await client.get_space("spaces/x")
    finally:
        client.close()
    assert REGISTRY.get_sample_value("meet_quota_wait_seconds_sum") - before >= 0.4
