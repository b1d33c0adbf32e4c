"""/readyz answers from a check at most a second old, however often it is called."""
from __future__ import annotations

import asyncio
import time

from aiohttp.test_utils import TestClient, TestServer

from academy_common.http import READY_CACHE_S, CachedCheck, create_app


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Check:
    """A readiness check that counts its runs and answers `ok`."""

    def __init__(self) -> None:
        self.runs, self.ok = 0, True
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self) -> dict[str, bool]:
        self.runs += 1
        await self.gate.wait()
        return {"database": self.ok}


async def test_a_result_is_reused_until_it_is_a_second_old():
    clock, check = Clock(), Check()
    cached = CachedCheck(check, max_age_s=1.0, clock=clock)
    runs = []
    for age in (0.0, 0.5, 0.999, 1.0, 1.5, 1.999, 2.0):
        clock.now = 100.0 + age
        await cached()
        runs.append(check.runs)
    assert runs == [1, 1, 1, 2, 2, 2, 3]


async def test_a_failed_check_is_cached_too_and_then_checked_again():
    clock, check = Clock(), Check()
    cached = CachedCheck(check, max_age_s=1.0, clock=clock)
    check.ok = False
    assert await cached() == {"database": False}
    check.ok = True
    assert await cached() == {"database": False}  # a failing database is not hammered either
    clock.now += 1.0
    assert await cached() == {"database": True}


async def test_callers_arriving_during_a_check_share_it():
    check = Check()
    check.gate.clear()
    cached = CachedCheck(check)
    waiting = [asyncio.create_task(cached()) for _ in range(20)]
    await asyncio.sleep(0)
    waiting[0].cancel()  # one caller giving up does not cancel the others' check
    check.gate.set()
    results = await asyncio.gather(*waiting[1:])
    assert check.runs == 1 and all(r == {"database": True} for r in results)


async def test_rapid_readyz_calls_run_at_most_one_check_per_second():
    check = Check()
    async with TestClient(TestServer(create_app(tokens={}, ready=check))) as client:
        started = time.monotonic()
        for _ in range(10):
            answers = await asyncio.gather(*(client.get("/readyz") for _ in range(20)))
            assert {a.status for a in answers} == {200}
        elapsed = time.monotonic() - started
    assert check.runs <= 1 + int(elapsed / READY_CACHE_S), (check.runs, elapsed)
