"""The background ticker as it runs in production, following the clock: one replica, then two."""
from __future__ import annotations

import functools
from collections import Counter
from datetime import timedelta

import pytest
from structlog.testing import capture_logs

from scheduler.app import build
from tests.integration.scheduler.sched_support import T0, settle
from tests.support.services import running
from tests.support.waiting import eventually

START = T0 + timedelta(hours=1)


async def _last_tick(service):
    return await service.pool.fetchval("SELECT started_at FROM job_runs")


@pytest.fixture
def settings(make_settings):
    return make_settings(tick_interval_s=0.02)


async def test_the_background_ticker_logs_its_job_and_follows_the_clock(settings, clock):
    with capture_logs() as logs:
        async with running(functools.partial(build, clock=clock), settings) as service:
            await eventually(lambda: any(e["event"] == "ticker job" for e in logs))
            clock.now = T0 + timedelta(minutes=7)

            async def ticked_at_the_new_time() -> bool:
                return await _last_tick(service) == clock.now

            await eventually(ticked_at_the_new_time)
    [job] = [e for e in logs if e["event"] == "ticker job"]
    assert (job["tick_interval_s"], job["fetch_interval_s"], job["retry_interval_s"], job["retry_window_days"]) == (
        0.02, 180, 600, 7)


async def test_two_replicas_ticking_all_the_time_emit_each_occurrence_once(service, settings, tap, academy, clock):
    created = await academy.klass(minutes=30)
    async with running(functools.partial(build, clock=clock), settings) as replica:
        for step in range(36):
            clock.now = START - timedelta(minutes=2) + timedelta(minutes=step)

            async def ticked() -> bool:
                return await _last_tick(replica) >= clock.now

            await eventually(ticked)
        await settle(service, tap)
    emitted = [e for e in tap.events if e.type in ("class.started", "class.ended", "class.fetch_requested")]
    assert len({e.id for e in emitted}) == len(emitted)
    counts = Counter((e.type, e.data.get("reason")) for e in emitted if e.data["class_id"] == created["class_id"])
    assert counts == {("class.started", None): 1, ("class.fetch_requested", "active"): 10,
                      ("class.ended", None): 1, ("class.fetch_requested", "final"): 1}
