"""Run 1: one class while, in turn, each service is SIGKILLed and restarted at a different
moment, Meet answers bursts of 429 and 503, and the conference record shows up late (30 s
after the conference started, so the first fetches of the class see nothing)."""
from __future__ import annotations

import signal

import aiohttp
import pytest
import pytest_asyncio

from tests.e2e.conftest import ADMIN, BILLING
from tests.faults.conftest import LANDED_WITHIN_S, Step, drained, landed_on_time, running_system, tap_for
from tests.faults.outcome import (  # noqa: F401
    Run,
    test_attendance_logs_equal_the_fault_free_run,
    test_bills_and_payroll_equal_the_fault_free_run,
    test_exactly_one_finalization_with_the_exact_logs,
    test_work_queues_drained_and_no_dead_letters,
)
from tests.support.story import Story, quiet
from tests.support.waiting import eventually

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300), pytest.mark.asyncio(loop_scope="module")]

# (seconds from S to kill, seconds from S to restart): each service down across a moment it matters.
KILLS = (
    ("scheduler", -2, 3),      # down when the class starts: catch-up emits class.started
    ("meet-fetcher", 12, 16),  # down while active fetches are requested
    ("attendance", 22, 27),    # down while snapshots arrive (the late record is visible by now)
    ("billing", 32, 36),       # down while attendance.log.updated flows
    ("meet-fetcher", 59, 63),  # down when the final fetch is requested
    ("attendance", 66, 69),    # down around the retry that sees the conference ended
)
BURSTS = (
    (18, {"errors": [{"method": "conferenceRecords.participants.list", "status": 429, "count": 6}]}),
    (44, {"errors": [{"method": "*", "status": 503, "count": 6}]}),
)


async def play_faults(story: Story, system) -> list[Step]:
    """Walk the scenario's clock, applying each fault when due; returns what each did, in order."""
    steps = sorted([(kill, "kill", name) for name, kill, _ in KILLS] + [(up, "restart", name) for name, _, up in KILLS]
                   + [(at, "faults", faults) for at, faults in BURSTS], key=lambda step: step[0])
    done = []
    for moment, action, what in steps:
        await story.until(moment)
        step = Step(moment, action, what if isinstance(what, str) else what["errors"][0]["status"], story.elapsed())
        if action == "kill":
            step.alive_before = system.processes[what].proc.returncode is None
            step.code = await system.stop_process(what, signal.SIGKILL)
        elif action == "restart":
            await system.restart(what)
            step.code = system.processes[what].proc.returncode  # None: running, and ready
        else:
            await story.call("POST", f"{system.url('meet-emulator')}/emulator/faults", what)
        step.finished_at = story.elapsed()
        done.append(step)
    return done


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def outcome(isolation):
    iso = isolation
    async with running_system(iso) as system:
        tap = await tap_for(iso)
        try:
            async with aiohttp.ClientSession() as http:
                story = Story(http, {name: system.url(name) for name in system.processes}, ADMIN)
                await story.schedule(lead_s=6, visible_after_s=30)
                done = await play_faults(story, system)
                await eventually(lambda: bool(tap.of("attendance.class.finalized")), timeout=90)
                dlq = await drained(iso)
                await quiet(story, tap, database_url=iso.database_url, amqp_url=iso.amqp_url, queues=iso.work_queues)
                await story.collect(BILLING)
                async with http.get(f"{system.url('meet-emulator')}/emulator/stats") as response:
                    stats = await response.json()
        except Exception:
            print(system.logbook.tail(300))
            raise
        finally:
            await tap.close()
    yield Run(story, tap, dlq, stats, {"done": done})


async def test_every_fault_was_applied_and_hit(outcome: Run):
    done = outcome.notes["done"]
    assert [(s.moment, s.action) for s in done] == sorted(
        [(k, "kill") for _, k, _ in KILLS] + [(u, "restart") for _, _, u in KILLS] + [(a, "faults") for a, _ in BURSTS])
    assert all(landed_on_time(step) for step in done), [s for s in done if not landed_on_time(s)]
    kills = [s for s in done if s.action == "kill"]
    assert all(s.alive_before and s.code == -signal.SIGKILL for s in kills), kills  # each killed a running process
    restarts = [s for s in done if s.action == "restart"]
    assert all(s.code is None for s in restarts), restarts
    # Dead, not only signalled, within the moment's margin: down across the moment it matters.
    assert all(s.finished_at <= s.moment + LANDED_WITHIN_S for s in kills), kills
    statuses = {status for counts in outcome.meet_stats["by_method_status"].values() for status in counts}
    assert {"429", "503"} <= {str(s) for s in statuses}, outcome.meet_stats["by_method_status"]
