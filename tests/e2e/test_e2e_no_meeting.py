"""A class whose Meet call never happens, through all four services: it stays not final while
the scheduler retries, and is final with reason `no_meeting_found` on its last retry.

The retry window is 0.0005 days (43.2 s) here (7 days in production). Today's main finalizes
the class on its first fetch after the end (an empty snapshot read as "every call ended").
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
import pytest_asyncio

from tests.e2e.conftest import ADMIN, BILLING, running_system
from tests.support.story import Story, Tap
from tests.support.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(300)]

RETRY_WINDOW_S = 43.2


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def system(isolation):
    env = {**isolation.env, "RETRY_WINDOW_DAYS": str(RETRY_WINDOW_S / 86400)}
    async with running_system(isolation.database_url, isolation.amqp_url, env) as started:
        yield started


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def story(system, isolation):
    tap = Tap(("attendance.#", "meet.#", "class.fetch_requested"), queue=isolation.queue("outside-subscriber"),
              exchange=isolation.exchange)
    await tap.start(isolation.amqp_url)
    async with aiohttp.ClientSession() as http:
        story = Story(http, {name: system.url(name) for name in system.processes}, ADMIN)
        await story.academy()
        story.start = (datetime.now(UTC) + timedelta(seconds=6)).replace(microsecond=0)
        created = await story.call("POST", f"{story.urls['scheduler']}/api/schedule/classes", {
            "title": "Nobody came", "teacher_id": story.teacher["id"], "student_ids": [s["id"] for s in story.students],
            "start": story.start.isoformat(), "duration_minutes": 1})
        story.class_id = created["id"]
        # Retries after the end found nothing and did not finalize the class.
        await eventually(lambda: len(_answers(tap, "retry")) >= 2, timeout=150)
        story.logs_while_retrying = (await story.call(
            "GET", f"{story.urls['attendance']}/monitoring/attendance-logs?class_id={story.class_id}"))["items"]
        await eventually(lambda: bool(tap.of("attendance.class.finalized")), timeout=120)
        await story.collect_settled(BILLING)
    yield story, tap
    await tap.close()


def _answers(tap: Tap, reason: str) -> list[dict]:
    return [e for e in tap.of("meet.participants.fetched") if e["data"]["reason"] == reason]


async def test_no_call_found_keeps_the_class_open_while_the_scheduler_retries(story):
    story, tap = story
    assert story.logs_while_retrying and {(log["status"], log["final"]) for log in story.logs_while_retrying} == {
        ("absent", False)}
    first_final = _answers(tap, "final")[0]["data"]
    assert (first_final["conference_records"], first_final["all_ended"]) == ([], False)


async def test_the_last_retry_finalizes_it_with_reason_no_meeting_found(story):
    story, tap = story
    [finalized] = tap.of("attendance.class.finalized")
    assert finalized["data"]["reason"] == "no_meeting_found"
    requests = [e for e in tap.of("class.fetch_requested") if e["data"]["reason"] == "retry"]
    assert [e["data"]["last_attempt"] for e in requests][-1] is True
    assert not any(e["data"]["last_attempt"] for e in requests[:-1])
    assert {(log["status"], log["final"], log["final_reason"]) for log in story.logs} == {
        ("absent", True, "no_meeting_found")}


async def test_nothing_is_billed_or_paid(story):
    story, _ = story
    lines = [line for report, key in ((story.bills, "families"), (story.payroll, "teachers"))
             for party in report[key] for line in party["lines"]]
    assert lines and all(line["amount_cents"] == 0 and line["provisional"] is False for line in lines)
