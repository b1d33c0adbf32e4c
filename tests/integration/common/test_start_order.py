"""The four services started one after the other, in every order, on a broker that has none of
their queues yet: what the scheduler publishes before a consumer ever ran still reaches it.

Before the whole topology was declared at every start, `class.scheduled` published once the
attendance queue existed but before billing's did went to attendance only, and billing never
knew the class.
"""
from __future__ import annotations

import contextlib
import functools
import itertools
from datetime import UTC, datetime

import aiohttp
import pytest

from attendance.app import build as build_attendance
from attendance.settings import Settings as AttendanceSettings
from billing.app import build as build_billing
from billing.settings import Settings as BillingSettings
from meet_emulator.testing import run_emulator
from meet_fetcher.app import build as build_fetcher
from meet_fetcher.settings import Settings as FetcherSettings
from scheduler.app import build as build_scheduler
from scheduler.settings import Settings as SchedulerSettings
from tests.integration.scheduler.sched_support import Academy, FakeClock
from tests.support.services import isolated_settings, running
from tests.support.waiting import eventually

SERVICES = ("scheduler", "meet-fetcher", "attendance", "billing")
ORDERS = list(itertools.permutations(SERVICES))


@pytest.fixture
async def emulator():
    async with run_emulator() as emu:
        yield emu


def _builders(clock: FakeClock) -> dict:
    return {
        "scheduler": (functools.partial(build_scheduler, clock=clock), SchedulerSettings, {"tick_interval_s": 3600}),
        "meet-fetcher": (build_fetcher, FetcherSettings, {}),
        "attendance": (build_attendance, AttendanceSettings, {}),
        "billing": (build_billing, BillingSettings, {}),
    }


@pytest.mark.timeout(60)
@pytest.mark.parametrize("order", ORDERS, ids=["-".join(s.split("-")[0][:4] for s in o) for o in ORDERS])
async def test_nothing_published_before_a_consumer_started_is_lost_to_it(order, emulator, database_url, amqp_url,
                                                                         unique):
    clock = FakeClock(datetime.now(UTC))
    builders = _builders(clock)
    started, klass = {}, None
    async with contextlib.AsyncExitStack() as stack:
        for name in order:
            build, settings_class, extra = builders[name]
            settings = isolated_settings(
                settings_class, database_url=database_url, amqp_url=amqp_url, unique=unique,
                db_schema=f"{unique}_{name.replace('-', '_')}", meet_api_endpoint=emulator.url,
                people_api_endpoint=emulator.url, **extra)
            started[name] = await stack.enter_async_context(running(build, settings))
            if name == "scheduler":  # it publishes at once, whoever else is up
                async with aiohttp.ClientSession(f"http://127.0.0.1:{started[name].port}") as http:
                    klass = await Academy(http, clock).klass()
        billing, attendance = started["billing"].pool, started["attendance"].pool
        class_id, student_id = klass["class_id"], klass["students"][0]["student_id"]

        async def everything_arrived() -> bool:
            return (await billing.fetchval("SELECT count(*) FROM classes WHERE class_id = $1", class_id) == 1
                    and await billing.fetchval("SELECT count(*) FROM students WHERE student_id = $1", student_id) == 1
                    and await attendance.fetchval("SELECT count(*) FROM classes WHERE class_id = $1", class_id) == 1)

        await eventually(everything_arrived, timeout=15)
