"""One class from scheduling to bills, through all four services as processes.

The story (tests/support/story.py): one 60 s class with a teacher, three students in two
families and an anonymous guest. Here Meet answers 500 to every call from S+25 until a fetch
has failed after the end: fetches fail during the class and at its end, and the retry job has
to recover the data.
"""
from __future__ import annotations

import csv
import io

import aiohttp
import pytest
import pytest_asyncio

from tests.e2e.conftest import ADMIN, BILLING
from tests.support.story import TITLE, WORK_QUEUES, Story, Tap, check_logs, check_money, latest_logs, quiet
from tests.support.waiting import eventually, queue_depth

# The story's fixture alone takes about 80 s (a 60 s class, then its retries), more on a busy machine.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300), pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def story(system, amqp_url):
    tap = Tap()
    await tap.start(amqp_url)
    emulator = system.url("meet-emulator")
    async with aiohttp.ClientSession() as http:
        story = Story(http, {name: system.url(name) for name in system.processes}, ADMIN)
        await story.schedule()

        # Meet breaks at S+25 and stays broken until a fetch after the end has failed.
        await story.until(25)
        await story.call("POST", f"{emulator}/emulator/faults", {"errors": [{"method": "*", "status": 500, "count": None}]})
        await eventually(lambda: any(e["data"]["reason"] in ("final", "retry") for e in tap.of("meet.fetch_failed")),
                         timeout=120)
        await story.call("DELETE", f"{emulator}/emulator/faults")
        await eventually(lambda: bool(tap.of("attendance.class.finalized")), timeout=120)
        # Past every retry and fetch that could finalize the class again (RETRY_INTERVAL_S 2,
        # FETCH_INTERVAL_S 4): a duplicate finalization would be in the tap by now.
        await quiet(story, tap, database_url=system.database_url, amqp_url=amqp_url,
                    queues=[name for q in WORK_QUEUES for name in (q, f"{q}.retry")])
        await story.collect(BILLING)
    yield {"class_id": story.class_id, "start": story.start, "tap": tap, "logs": story.logs, "bills": story.bills,
           "bills_csv": story.bills_csv, "payroll": story.payroll, "teacher": story.teacher,
           "families": story.families, "students": story.students}
    await tap.close()


async def test_attendance_logs_are_exact_to_the_second(story):
    check_logs(story["logs"], story["start"])


async def test_outside_subscriber_gets_the_final_logs_once(story):
    finalized = story["tap"].of("attendance.class.finalized")
    assert len({e["id"] for e in finalized}) == 1
    check_logs(finalized[0]["data"]["logs"], story["start"])
    check_logs(latest_logs(story["tap"].of("attendance.log.updated")), story["start"])


async def test_failed_fetches_were_recovered_by_the_retry_job(story):
    tap = story["tap"]
    failed = tap.of("meet.fetch_failed")
    assert {e["data"]["reason"] for e in failed} & {"final", "retry"}
    assert any(e["data"]["reason"] == "active" for e in failed), "a fetch during the class failed too"
    reasons = [e["data"]["reason"] for e in tap.of("class.fetch_requested")]
    assert "active" in reasons and "final" in reasons and "retry" in reasons
    assert reasons.count("final") == 1


async def test_family_bills_and_teacher_payroll_to_the_cent(story):
    check_money(story["bills"], story["payroll"])


async def test_csv_is_spreadsheet_safe(story):
    rows = list(csv.DictReader(io.StringIO(story["bills_csv"])))
    lines = [row for row in rows if row["kind"] == "class"] or [row for row in rows if row["class_id"]]
    assert {row["class_title"] for row in lines} == {"'" + TITLE}
    assert sorted(int(row["amount_cents"]) for row in lines) == [0, 41, 43]


async def test_no_message_is_left_in_a_dead_letter_queue(story, system):
    import aio_pika as pika
    connection = await pika.connect_robust(system.amqp_url)
    try:
        for queue in WORK_QUEUES:
            assert await queue_depth(connection, f"{queue}.dlq") == 0, queue
            await eventually(lambda q=queue: _empty(connection, q), timeout=10)
    finally:
        await connection.close()


async def _empty(connection, queue: str) -> bool:
    return await queue_depth(connection, queue) == 0
