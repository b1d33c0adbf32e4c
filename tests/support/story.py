"""The end-to-end story shared by tests/e2e and tests/faults: one 60 s class, its scripted
Meet scenario, an outside subscriber tap, and the hand-computed logs, bills and payroll.

Story (S = scheduled start, a 60 s class, 1 minute being the shortest the API schedules):
- teacher Ada in the call from S−20 to S+62;
- Allegra (Byron family) S..S+20, drops out, rejoins S+30..S+60;
- George (Byron family) never joins;
- Mary (Somerville family) S+10..S+58, plus a second device S+20..S+40 (counted once);
- an anonymous guest S+5..S+15;
- the conference ends at S+64, so the first final fetch (at S+60) sees it still running.
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aio_pika
import aiohttp

TITLE = '=SUM(1,2) "quoted", 2026'  # a spreadsheet would run this as a formula
FAMILY_RATE, TEACHER_RATE = 3090, 4500  # cents an hour
USERS = {"ada@e2e.example": "u-ada", "allegra@e2e.example": "u-allegra",
         "george@e2e.example": "u-george", "mary@e2e.example": "u-mary"}
WORK_QUEUES = ("scheduler.fetch-outcomes", "meet-fetcher.fetch-requests", "attendance.events", "billing.events")


def at(start: datetime, seconds: float) -> str:
    return (start + timedelta(seconds=seconds)).isoformat()


def scenario(space: str, s: datetime, *, visible_after_s: float = 0) -> dict:
    """The Meet side of the story; `visible_after_s` makes the conference record appear late."""
    def user(email, name, sessions):
        return {"kind": "signedin", "user_id": USERS[email], "display_name": name,
                "sessions": [{"join": at(s, a), "leave": at(s, b)} for a, b in sessions]}
    return {
        "people": [{"user_id": uid, "email": email, "display_name": email} for email, uid in USERS.items()],
        "conferences": [{"space": space, "start": at(s, -20), "end": at(s, 64), "visible_after_s": visible_after_s,
                         "participants": [
            user("ada@e2e.example", "Ada", [(-20, 62)]),
            user("allegra@e2e.example", "Allegra", [(0, 20), (30, 60)]),
            user("mary@e2e.example", "Mary", [(10, 58), (20, 40)]),
            {"kind": "anonymous", "display_name": "Visitor", "sessions": [{"join": at(s, 5), "leave": at(s, 15)}]},
        ]}],
    }


class Tap:
    """An outside subscriber: its own queue bound to `attendance.#` (and more keys if asked)."""

    def __init__(self, keys: tuple[str, ...] = ("attendance.#", "meet.fetch_failed", "class.fetch_requested"),
                 queue: str = "e2e.outside-subscriber", exchange: str = "academy.events") -> None:
        self.keys, self.queue, self.exchange = keys, queue, exchange
        self.events: list[dict] = []

    def of(self, type_: str) -> list[dict]:
        return [e for e in self.events if e["type"] == type_]

    async def start(self, amqp_url: str) -> None:
        self.connection = await aio_pika.connect_robust(amqp_url)
        channel = await self.connection.channel()
        exchange = await channel.declare_exchange(self.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(self.queue, durable=True, arguments={"x-queue-type": "quorum"})
        for key in self.keys:
            await queue.bind(exchange, key)

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                self.events.append(json.loads(message.body))

        await queue.consume(on_message)

    async def close(self) -> None:
        await self.connection.close()


@dataclass
class Story:
    """What the story set up (ids, start) and, once collected, what the system answered."""
    http: aiohttp.ClientSession
    urls: dict[str, str]
    headers: dict[str, str]
    start: datetime = None
    class_id: int = 0
    space_name: str = ""
    teacher: dict = field(default_factory=dict)
    families: tuple = ()
    students: list = field(default_factory=list)
    logs: list = field(default_factory=list)
    bills: dict = field(default_factory=dict)
    bills_csv: str = ""
    payroll: dict = field(default_factory=dict)

    async def call(self, method: str, url: str, body=None, headers=None):
        async with self.http.request(method, url, json=body, headers=headers or self.headers) as response:
            payload = await response.json()
            assert response.status < 300, f"{method} {url} → {response.status} {payload}"
            return payload

    async def schedule(self, *, lead_s: float = 6, visible_after_s: float = 0) -> None:
        """The academy, rates and one class starting `lead_s` from now, with its Meet scenario loaded."""
        scheduler, billing = self.urls["scheduler"], self.urls["billing"]
        self.teacher = await self.call("POST", f"{scheduler}/api/teachers", {"name": "Ada", "email": "ADA@e2e.example"})
        byron = await self.call("POST", f"{scheduler}/api/families", {"name": "Byron", "email": "byron@e2e.example"})
        somer = await self.call("POST", f"{scheduler}/api/families", {"name": "Somerville", "email": "s@e2e.example"})
        self.families = (byron, somer)
        self.students = [
            await self.call("POST", f"{scheduler}/api/students", {"name": n, "email": e, "family_id": f["id"]})
            for n, e, f in (("Allegra", "allegra@e2e.example", byron), ("George", "george@e2e.example", byron),
                            ("Mary", "mary@e2e.example", somer))]
        for family in self.families:
            await self.call("PUT", f"{billing}/billing/rates/families/{family['id']}", {
                "hourly_rate_cents": FAMILY_RATE, "currency": "EUR", "effective_from": "2020-01-01T00:00:00Z"})
        await self.call("PUT", f"{billing}/billing/rates/teachers/{self.teacher['id']}", {
            "hourly_rate_cents": TEACHER_RATE, "currency": "EUR", "effective_from": "2020-01-01T00:00:00Z"})
        self.start = (datetime.now(UTC) + timedelta(seconds=lead_s)).replace(microsecond=0)
        created = await self.call("POST", f"{scheduler}/api/schedule/classes", {
            "title": TITLE, "teacher_id": self.teacher["id"], "student_ids": [s["id"] for s in self.students],
            "start": self.start.isoformat(), "duration_minutes": 1})
        self.class_id, self.space_name = created["id"], created["space_name"]
        await self.call("POST", f"{self.urls['meet-emulator']}/emulator/scenario",
                        scenario(self.space_name, self.start, visible_after_s=visible_after_s))

    async def until(self, seconds: float) -> None:
        """Sleep until S + `seconds` (the scenario's own clock)."""
        moment = self.start + timedelta(seconds=seconds)
        await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))

    async def collect(self, billing_headers: dict[str, str]) -> None:
        """Read the attendance logs, the month's bills (JSON and CSV) and payroll."""
        logs = await self.call("GET", f"{self.urls['attendance']}/monitoring/attendance-logs?class_id={self.class_id}")
        self.logs = logs["items"]
        billing = self.urls["billing"]
        month = {"year": self.start.year, "month": self.start.month}
        async with self.http.get(f"{billing}/monitoring/billing/families", params=month, headers=billing_headers) as r:
            self.bills = await r.json()
        async with self.http.get(f"{billing}/monitoring/billing/families", params=month,
                                 headers={**billing_headers, "Accept": "text/csv"}) as r:
            self.bills_csv = await r.text()
        async with self.http.get(f"{billing}/monitoring/payroll/teachers", params=month, headers=billing_headers) as r:
            self.payroll = await r.json()


EXPECTED = {  # email or display name → (role, status, joins, attended, billable, first, last) in seconds from S
    "ada@e2e.example": ("teacher", "present", 1, 82, 60, -20, 62),
    "allegra@e2e.example": ("student", "present", 2, 50, 50, 0, 60),
    "george@e2e.example": ("student", "absent", 0, 0, 0, None, None),
    "mary@e2e.example": ("student", "late", 2, 48, 48, 10, 58),
    "Visitor": ("guest", "present", 1, 10, 10, 5, 15),
}
# 50 s × 30.90/h = 42.92 → 43; 0 s → 0; 48 s × 30.90/h = 41.20 → 41; teacher 60 s × 45.00/h = 75
EXPECTED_BILLS = {
    "Byron": ([("Allegra", 50, 43), ("George", 0, 0)], [43]),
    "Somerville": ([("Mary", 48, 41)], [41]),
}
EXPECTED_PAYROLL = {"Ada": ([(None, 60, 75)], [75])}


def who(log: dict) -> str:
    return (log.get("email") or log.get("display_name")).lower() if log.get("email") else log["display_name"]


def parse(moment: str | None) -> datetime | None:
    return datetime.fromisoformat(moment) if moment else None


def check_logs(logs: list[dict], start: datetime) -> None:
    assert sorted(who(log) for log in logs) == sorted(EXPECTED)
    for log in logs:
        role, status, joins, attended, billable, first, last = EXPECTED[who(log)]
        got = (log["role"], log["status"], log["joins"], log["attended_seconds"], log["billable_seconds"])
        assert got == (role, status, joins, attended, billable), who(log)
        assert parse(log["first_join"]) == (start + timedelta(seconds=first) if first is not None else None)
        assert parse(log["last_leave"]) == (start + timedelta(seconds=last) if last is not None else None)
        assert log["final"] is True


def latest_logs(updates: list[dict]) -> list[dict]:
    """The newest version of each log among `attendance.log.updated` events, removed ones left out."""
    latest: dict[int, dict] = {}
    for event in updates:
        data = event["data"]
        if data["log_id"] not in latest or data["version"] > latest[data["log_id"]]["version"]:
            latest[data["log_id"]] = data
    return [d for d in latest.values() if not d.get("removed")]


def amounts(report: dict, key: str) -> dict[str, tuple]:
    """name → (sorted (student, billable seconds, cents) lines, totals in cents)."""
    return {s["name"]: (sorted((l.get("student_name"), l["billable_seconds"], l["amount_cents"]) for l in s["lines"]),
                        [t["amount_cents"] for t in s["totals"]])
            for s in report[key]}


def check_money(bills: dict, payroll: dict) -> None:
    assert amounts(bills, "families") == EXPECTED_BILLS
    assert amounts(payroll, "teachers") == EXPECTED_PAYROLL
    lines = [l for report, key in ((bills, "families"), (payroll, "teachers")) for s in report[key] for l in s["lines"]]
    assert all(l["provisional"] is False and l["error"] is None for l in lines)
