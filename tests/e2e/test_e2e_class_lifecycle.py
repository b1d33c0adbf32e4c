"""One class from scheduling to bills, through all four services as processes.

Story (S = scheduled start, a 60 s class, 1 minute being the shortest the API schedules):
- teacher Ada in the call from S−20 to S+62;
- Allegra (Byron family) S..S+20, drops out, rejoins S+30..S+60;
- George (Byron family) never joins;
- Mary (Somerville family) S+10..S+58, plus a second device S+20..S+40 (counted once);
- an anonymous guest S+5..S+15;
- the conference ends at S+64, so the first final fetch (at S+60) sees it still running.
Meet answers 500 to every call from S+25 until a fetch has failed after the end: fetches fail
during the class and at its end, and the retry job has to recover the data.
"""
from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import datetime, timedelta, timezone

import aio_pika
import aiohttp
import pytest
import pytest_asyncio

from tests.e2e.conftest import ADMIN, BILLING
from tests.support.waiting import eventually, queue_depth

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

TITLE = '=SUM(1,2) "quoted", 2026'  # a spreadsheet would run this as a formula
FAMILY_RATE, TEACHER_RATE = 3090, 4500  # cents an hour
USERS = {"ada@e2e.example": "u-ada", "allegra@e2e.example": "u-allegra",
         "george@e2e.example": "u-george", "mary@e2e.example": "u-mary"}


def at(start: datetime, seconds: float) -> str:
    return (start + timedelta(seconds=seconds)).isoformat()


def scenario(space: str, s: datetime) -> dict:
    def user(email, name, sessions):
        return {"kind": "signedin", "user_id": USERS[email], "display_name": name,
                "sessions": [{"join": at(s, a), "leave": at(s, b)} for a, b in sessions]}
    return {
        "people": [{"user_id": uid, "email": email, "display_name": email} for email, uid in USERS.items()],
        "conferences": [{"space": space, "start": at(s, -20), "end": at(s, 64), "participants": [
            user("ada@e2e.example", "Ada", [(-20, 62)]),
            user("allegra@e2e.example", "Allegra", [(0, 20), (30, 60)]),
            user("mary@e2e.example", "Mary", [(10, 58), (20, 40)]),
            {"kind": "anonymous", "display_name": "Visitor", "sessions": [{"join": at(s, 5), "leave": at(s, 15)}]},
        ]}],
    }


class Tap:
    """An outside subscriber: its own queue bound to `attendance.#` (and a few more keys)."""

    def __init__(self) -> None:
        self.events: list[dict] = []

    def of(self, type_: str) -> list[dict]:
        return [e for e in self.events if e["type"] == type_]

    async def start(self, amqp_url: str) -> None:
        self.connection = await aio_pika.connect_robust(amqp_url)
        channel = await self.connection.channel()
        exchange = await channel.declare_exchange("academy.events", aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue("e2e.outside-subscriber", durable=True,
                                            arguments={"x-queue-type": "quorum"})
        for key in ("attendance.#", "meet.fetch_failed", "class.fetch_requested"):
            await queue.bind(exchange, key)

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                self.events.append(json.loads(message.body))

        await queue.consume(on_message)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def story(system, amqp_url):
    tap = Tap()
    await tap.start(amqp_url)
    emulator = system.url("meet-emulator")
    async with aiohttp.ClientSession() as http:
        async def call(method, url, body=None, headers=ADMIN):
            async with http.request(method, url, json=body, headers=headers) as response:
                payload = await response.json()
                assert response.status < 300, f"{method} {url} → {response.status} {payload}"
                return payload

        scheduler, billing = system.url("scheduler"), system.url("billing")
        teacher = await call("POST", f"{scheduler}/api/teachers", {"name": "Ada", "email": "ADA@e2e.example"})
        byron = await call("POST", f"{scheduler}/api/families", {"name": "Byron", "email": "byron@e2e.example"})
        somer = await call("POST", f"{scheduler}/api/families", {"name": "Somerville", "email": "s@e2e.example"})
        students = [await call("POST", f"{scheduler}/api/students", {"name": n, "email": e, "family_id": f["id"]})
                    for n, e, f in (("Allegra", "allegra@e2e.example", byron), ("George", "george@e2e.example", byron),
                                    ("Mary", "mary@e2e.example", somer))]
        for family in (byron, somer):
            await call("PUT", f"{billing}/billing/rates/families/{family['id']}",
                       {"hourly_rate_cents": FAMILY_RATE, "currency": "EUR", "effective_from": "2020-01-01T00:00:00Z"})
        await call("PUT", f"{billing}/billing/rates/teachers/{teacher['id']}",
                   {"hourly_rate_cents": TEACHER_RATE, "currency": "EUR", "effective_from": "2020-01-01T00:00:00Z"})
        start = (datetime.now(timezone.utc) + timedelta(seconds=6)).replace(microsecond=0)
        created = await call("POST", f"{scheduler}/api/schedule/classes", {
            "title": TITLE, "teacher_id": teacher["id"], "student_ids": [s["id"] for s in students],
            "start": start.isoformat(), "duration_minutes": 1})
        class_id = created["id"]
        await call("POST", f"{emulator}/emulator/scenario", scenario(created["space_name"], start))

        # Meet breaks at S+25 and stays broken until a fetch after the end has failed.
        await asyncio.sleep(max(0.0, (start + timedelta(seconds=25) - datetime.now(timezone.utc)).total_seconds()))
        await call("POST", f"{emulator}/emulator/faults", {"errors": [{"method": "*", "status": 500, "count": None}]})
        await eventually(lambda: any(e["data"]["reason"] in ("final", "retry") for e in tap.of("meet.fetch_failed")),
                         timeout=120)
        await call("DELETE", f"{emulator}/emulator/faults")
        await eventually(lambda: bool(tap.of("attendance.class.finalized")), timeout=120)
        await asyncio.sleep(1.0)  # a duplicate finalization would show up here

        logs = await call("GET", f"{system.url('attendance')}/monitoring/attendance-logs?class_id={class_id}")
        month = {"year": start.year, "month": start.month}
        async with http.get(f"{billing}/monitoring/billing/families", params=month, headers=BILLING) as r:
            bills = await r.json()
        async with http.get(f"{billing}/monitoring/billing/families", params=month,
                            headers={**BILLING, "Accept": "text/csv"}) as r:
            bills_csv = await r.text()
        async with http.get(f"{billing}/monitoring/payroll/teachers", params=month, headers=BILLING) as r:
            payroll = await r.json()
    yield {"class_id": class_id, "start": start, "tap": tap, "logs": logs["items"], "bills": bills,
           "bills_csv": bills_csv, "payroll": payroll, "teacher": teacher, "families": (byron, somer),
           "students": students}
    await tap.connection.close()


EXPECTED = {  # email or display name → (role, status, joins, attended, billable, first, last) in seconds from S
    "ada@e2e.example": ("teacher", "present", 1, 82, 60, -20, 62),
    "allegra@e2e.example": ("student", "present", 2, 50, 50, 0, 60),
    "george@e2e.example": ("student", "absent", 0, 0, 0, None, None),
    "mary@e2e.example": ("student", "late", 2, 48, 48, 10, 58),
    "Visitor": ("guest", "present", 1, 10, 10, 5, 15),
}


def who(log: dict) -> str:
    return (log.get("email") or log.get("display_name")).lower() if log.get("email") else log["display_name"]


def parse(moment: str | None) -> datetime | None:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")) if moment else None


def check_logs(logs: list[dict], start: datetime) -> None:
    assert sorted(who(log) for log in logs) == sorted(EXPECTED)
    for log in logs:
        role, status, joins, attended, billable, first, last = EXPECTED[who(log)]
        got = (log["role"], log["status"], log["joins"], log["attended_seconds"], log["billable_seconds"])
        assert got == (role, status, joins, attended, billable), who(log)
        assert parse(log["first_join"]) == (start + timedelta(seconds=first) if first is not None else None)
        assert parse(log["last_leave"]) == (start + timedelta(seconds=last) if last is not None else None)
        assert log["final"] is True


async def test_attendance_logs_are_exact_to_the_second(story):
    check_logs(story["logs"], story["start"])


async def test_outside_subscriber_gets_the_final_logs_once(story):
    finalized = story["tap"].of("attendance.class.finalized")
    assert len({e["id"] for e in finalized}) == 1
    check_logs(finalized[0]["data"]["logs"], story["start"])
    updates = story["tap"].of("attendance.log.updated")
    latest: dict[int, dict] = {}
    for event in updates:
        data = event["data"]
        if data["log_id"] not in latest or data["version"] > latest[data["log_id"]]["version"]:
            latest[data["log_id"]] = data
    check_logs([d for d in latest.values() if not d.get("removed")], story["start"])


async def test_failed_fetches_were_recovered_by_the_retry_job(story):
    tap = story["tap"]
    failed = tap.of("meet.fetch_failed")
    assert {e["data"]["reason"] for e in failed} & {"final", "retry"}
    assert any(e["data"]["reason"] == "active" for e in failed), "a fetch during the class failed too"
    reasons = [e["data"]["reason"] for e in tap.of("class.fetch_requested")]
    assert "active" in reasons and "final" in reasons and "retry" in reasons
    assert reasons.count("final") == 1


def amounts(report: dict, key: str) -> dict[str, tuple]:
    """name → (sorted (student, billable seconds, cents) lines, totals in cents)."""
    return {s["name"]: (sorted((l.get("student_name"), l["billable_seconds"], l["amount_cents"]) for l in s["lines"]),
                        [t["amount_cents"] for t in s["totals"]])
            for s in report[key]}


async def test_family_bills_and_teacher_payroll_to_the_cent(story):
    # 50 s × 30.90/h = 42.92 → 43; 0 s → 0; 48 s × 30.90/h = 41.20 → 41; teacher 60 s × 45.00/h = 75
    assert amounts(story["bills"], "families") == {
        "Byron": ([("Allegra", 50, 43), ("George", 0, 0)], [43]),
        "Somerville": ([("Mary", 48, 41)], [41]),
    }
    assert amounts(story["payroll"], "teachers") == {"Ada": ([(None, 60, 75)], [75])}
    lines = [l for report, key in ((story["bills"], "families"), (story["payroll"], "teachers"))
             for s in report[key] for l in s["lines"]]
    assert all(l["provisional"] is False and l["error"] is None for l in lines)


async def test_csv_is_spreadsheet_safe(story):
    rows = list(csv.DictReader(io.StringIO(story["bills_csv"])))
    lines = [row for row in rows if row["kind"] == "class"] or [row for row in rows if row["class_id"]]
    assert {row["class_title"] for row in lines} == {"'" + TITLE}
    assert sorted(int(row["amount_cents"]) for row in lines) == [0, 41, 43]


async def test_no_message_is_left_in_a_dead_letter_queue(story, system):
    import aio_pika as pika
    connection = await pika.connect_robust(system.amqp_url)
    try:
        for queue in ("scheduler.fetch-outcomes", "meet-fetcher.fetch-requests", "attendance.events", "billing.events"):
            assert await queue_depth(connection, f"{queue}.dlq") == 0, queue
            await eventually(lambda q=queue: _empty(connection, q), timeout=10)
    finally:
        await connection.close()


async def _empty(connection, queue: str) -> bool:
    return await queue_depth(connection, queue) == 0
