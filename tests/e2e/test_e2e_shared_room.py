"""An early-opened room shared by two back-to-back classes, through all four services.

S = class A's start; A = [S, S+60), B = [S+60, S+120), both taught by Ada in one Meet space
(B is scheduled with A's meeting code). Attendance's join tolerance is 10 s here (30 min in
production), so the join windows are A [S−10, S+70] and B [S+50, S+130]. One call only:
- Ada opens the room 40 minutes early (S−2400) and stays until S+125; the call ends at S+130;
- Allegra (A, Byron) S..S+45: in A only;
- George (A, Byron) S+30..S+75: in A, and in B's join window, so a guest of B;
- Mary (B, Somerville) S+72..S+118: in B only (she joined after A's join window).
Today's main misses the call (it started more than 30 min before A): everyone absent, 0 billed.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
import pytest_asyncio

from tests.e2e.conftest import ADMIN, BILLING, running_system
from tests.support.story import FAMILY_RATE, TEACHER_RATE, USERS, Story, Tap, amounts, at, latest_logs, parse
from tests.support.waiting import eventually

# Two 1-minute classes (the shortest the API schedules) and a call running past them: the
# story alone lasts over two minutes, more than the suite's default per-test timeout.
pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(360)]

# A finalize grace longer than the call's overrun: both classes end as "every call ended".
SHARED = {"JOIN_WINDOW_S": "10", "FINALIZE_GRACE_S": "600"}
EXPECTED = {  # class → person → (role, joins, attended, billable) in seconds
    "A": {"ada@e2e.example": ("teacher", 1, 2525, 60), "allegra@e2e.example": ("student", 1, 45, 45),
          "george@e2e.example": ("student", 1, 45, 30)},
    "B": {"ada@e2e.example": ("teacher", 1, 2525, 60), "mary@e2e.example": ("student", 1, 46, 46),
          "george@e2e.example": ("guest", 1, 45, 15)},
}
# Allegra 45 s × 30.90/h = 38.6 → 39; George 30 s → 25.75 → 26; Mary 46 s → 39.5 → 39; Ada 2 × 60 s × 45/h = 150
EXPECTED_BILLS = {"Byron": ([("Allegra", 45, 39), ("George", 30, 26)], [65]),
                  "Somerville": ([("Mary", 46, 39)], [39])}
EXPECTED_PAYROLL = {"Ada": ([(None, 60, 75), (None, 60, 75)], [150])}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def system(isolation):
    async with running_system(isolation.database_url, isolation.amqp_url, {**isolation.env, **SHARED}) as started:
        yield started


def scenario(space: str, s) -> dict:
    def user(email, name, join, leave):
        return {"kind": "signedin", "user_id": USERS[email], "display_name": name,
                "sessions": [{"join": at(s, join), "leave": at(s, leave)}]}
    return {
        "people": [{"user_id": uid, "email": email, "display_name": email} for email, uid in USERS.items()],
        "conferences": [{"space": space, "start": at(s, -2400), "end": at(s, 130), "participants": [
            user("ada@e2e.example", "Ada", -2400, 125),
            user("allegra@e2e.example", "Allegra", 0, 45),
            user("george@e2e.example", "George", 30, 75),
            user("mary@e2e.example", "Mary", 72, 118),
        ]}],
    }


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def shared(system, isolation):
    tap = Tap(queue=isolation.queue("outside-subscriber"), exchange=isolation.exchange)
    await tap.start(isolation.amqp_url)
    async with aiohttp.ClientSession() as http:
        story = Story(http, {name: system.url(name) for name in system.processes}, ADMIN)
        scheduler = story.urls["scheduler"]
        await story.academy()
        allegra, george, mary = story.students
        story.start = (datetime.now(UTC) + timedelta(seconds=8)).replace(microsecond=0)
        a = await story.call("POST", f"{scheduler}/api/schedule/classes", {
            "title": "A", "teacher_id": story.teacher["id"], "student_ids": [allegra["id"], george["id"]],
            "start": story.start.isoformat(), "duration_minutes": 1})
        b = await story.call("POST", f"{scheduler}/api/schedule/classes", {
            "title": "B", "teacher_id": story.teacher["id"], "student_ids": [mary["id"]],
            "start": (story.start + timedelta(seconds=60)).isoformat(), "duration_minutes": 1,
            "meeting_code": a["meeting_code"]})
        assert b["space_name"] == a["space_name"]
        story.class_id = a["id"]
        await story.call("POST", f"{story.urls['meet-emulator']}/emulator/scenario", scenario(a["space_name"], story.start))
        classes = {"A": a["id"], "B": b["id"]}
        await eventually(lambda: len(tap.of("attendance.class.finalized")) == 2, timeout=240)
        logs = {}
        for name, class_id in classes.items():
            found = await story.call("GET", f"{story.urls['attendance']}/monitoring/attendance-logs?class_id={class_id}")
            logs[name] = found["items"]
        await story.collect_settled(BILLING)
    yield {"classes": classes, "start": story.start, "tap": tap, "logs": logs, "bills": story.bills,
           "payroll": story.payroll}
    await tap.close()


def _who(log: dict) -> str:
    return log["email"].lower()


async def test_each_class_has_exactly_the_people_of_its_window(shared):
    for name, expected in EXPECTED.items():
        got = {_who(log): (log["role"], log["joins"], log["attended_seconds"], log["billable_seconds"])
               for log in shared["logs"][name]}
        assert got == expected, name
        assert all(log["final"] and log["final_reason"] == "calls_ended" for log in shared["logs"][name])


async def test_the_teacher_who_opened_the_room_early_is_present_from_then(shared):
    for name in ("A", "B"):
        [ada] = [log for log in shared["logs"][name] if log["role"] == "teacher"]
        assert ada["status"] == "present"
        assert parse(ada["first_join"]) == shared["start"] - timedelta(seconds=2400)


async def test_the_finalized_events_say_why_and_match_the_logs(shared):
    finalized = {e["data"]["class_id"]: e["data"] for e in shared["tap"].of("attendance.class.finalized")}
    assert set(finalized) == set(shared["classes"].values())
    for name, class_id in shared["classes"].items():
        assert finalized[class_id]["reason"] == "calls_ended"
        assert sorted(_who(log) for log in finalized[class_id]["logs"]) == sorted(EXPECTED[name])
    updates = [e for e in shared["tap"].of("attendance.log.updated")]
    assert len(latest_logs(updates)) == sum(len(people) for people in EXPECTED.values())


async def test_bills_and_payroll_to_the_cent(shared):
    assert (FAMILY_RATE, TEACHER_RATE) == (3090, 4500)
    assert amounts(shared["bills"], "families") == EXPECTED_BILLS
    assert amounts(shared["payroll"], "teachers") == EXPECTED_PAYROLL
