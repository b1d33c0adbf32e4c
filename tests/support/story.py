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
import urllib.parse
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aio_pika
import aiohttp
import asyncpg

from tests.support.waiting import eventually

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

    def __init__(self, keys: tuple[str, ...] = ("attendance.#", "meet.#", "class.fetch_requested"),
                 queue: str = "e2e.outside-subscriber", exchange: str = "academy.events") -> None:
        self.keys, self.queue, self.exchange = keys, queue, exchange
        self.events: list[dict] = []
        self._marks: set[str] = set()

    def of(self, type_: str) -> list[dict]:
        return [e for e in self.events if e["type"] == type_]

    async def start(self, amqp_url: str) -> None:
        self.connection = await aio_pika.connect_robust(amqp_url)
        channel = await self.connection.channel()
        self._exchange = await channel.declare_exchange(self.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(self.queue, durable=True, arguments={"x-queue-type": "quorum"})
        for key in (*self.keys, self._mark_key):
            await queue.bind(self._exchange, key)

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                if message.routing_key == self._mark_key:
                    self._marks.add(message.message_id)
                else:
                    self.events.append(json.loads(message.body))

        await queue.consume(on_message)

    @property
    def _mark_key(self) -> str:
        return f"{self.queue}.mark"

    async def caught_up(self, timeout: float = 30) -> None:
        """Wait until the tap holds every event the broker had confirmed before the call: a mark
        sent now to this queue alone arrives after them (one queue, one consumer, in order)."""
        mark = uuid.uuid4().hex
        await self._exchange.publish(aio_pika.Message(b"", message_id=mark), self._mark_key)
        await eventually(lambda: mark in self._marks, timeout=timeout)

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
        await self.academy()
        self.start = (datetime.now(UTC) + timedelta(seconds=lead_s)).replace(microsecond=0)
        created = await self.call("POST", f"{self.urls['scheduler']}/api/schedule/classes", {
            "title": TITLE, "teacher_id": self.teacher["id"], "student_ids": [s["id"] for s in self.students],
            "start": self.start.isoformat(), "duration_minutes": 1})
        self.class_id, self.space_name = created["id"], created["space_name"]
        await self.call("POST", f"{self.urls['meet-emulator']}/emulator/scenario",
                        scenario(self.space_name, self.start, visible_after_s=visible_after_s))

    async def academy(self) -> None:
        """The teacher Ada, the Byron and Somerville families, their three students, and rates."""
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

    def elapsed(self) -> float:
        """Seconds since S on the scenario's clock."""
        return (datetime.now(UTC) - self.start).total_seconds()

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

    async def collect_settled(self, billing_headers: dict[str, str], timeout: float = 60) -> None:
        """Collect once billing has caught up with the final logs: the class is finalized in
        attendance before billing has consumed the final `attendance.log.updated` events."""
        async def settled() -> bool:
            await self.collect(billing_headers)
            lines = [line for report, key in ((self.bills, "families"), (self.payroll, "teachers"))
                     for party in report[key] for line in party["lines"]]
            return bool(lines) and not any(line["provisional"] for line in lines)
        await eventually(settled, timeout=timeout)


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


async def quiet(story: Story, tap: Tap, *, database_url: str, amqp_url: str, queues: list[str],
                timeout: float = 60) -> None:
    """Wait until nothing more can reach the class's outcome, so that a duplicate would be in
    the tap by now: the scheduler has recorded the finalization and a tick of its started past
    the longest gap that could still bring a fetch (RETRY_MAX_GAP_S, FETCH_INTERVAL_S); every
    fetch it requested has been answered and every answer handled (no message ready or unacked
    in `queues`); attendance has published what it committed; and the tap has received it all."""
    scheduler = story.urls["scheduler"]
    await eventually(lambda: _scheduler_finalized(story), timeout=timeout)
    job = (await story.call("GET", f"{scheduler}/monitoring/status"))["jobs"][0]
    past = datetime.now(UTC) + timedelta(seconds=max(job["retry_max_gap_s"], job["fetch_interval_s"]))
    await eventually(lambda: _ticked_since(story, past), timeout=timeout)
    await eventually(lambda: outbox_empty(database_url, "scheduler"), timeout=timeout)
    await tap.caught_up()
    await eventually(lambda: _answered(tap, story.class_id), timeout=timeout)
    await eventually(lambda: queues_empty(amqp_url, queues), timeout=timeout, interval=0.5)
    await eventually(lambda: outbox_empty(database_url, "attendance"), timeout=timeout)
    await tap.caught_up()


async def _scheduler_finalized(story: Story) -> bool:
    view = await story.call("GET", f"{story.urls['scheduler']}/api/schedule/classes/{story.class_id}")
    return view["fetch"]["finalized_at"] is not None


async def _ticked_since(story: Story, moment: datetime) -> bool:
    job = (await story.call("GET", f"{story.urls['scheduler']}/monitoring/status"))["jobs"][0]
    started, finished = parse(job["last_run_started_at"]), parse(job["last_run_finished_at"])
    return started is not None and started >= moment and finished is not None and finished >= started


def _answered(tap: Tap, class_id: int) -> bool:
    """Every fetch request for the class has its answer (participants fetched, or failed)."""
    requested = {e["id"] for e in tap.of("class.fetch_requested") if e["data"]["class_id"] == class_id}
    answered = {e["data"]["request_id"] for kind in ("meet.participants.fetched", "meet.fetch_failed")
                for e in tap.of(kind)}
    return requested <= answered


async def outbox_empty(database_url: str, schema: str) -> bool:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(f'SELECT count(*) FROM "{schema}".outbox') == 0
    finally:
        await conn.close()


async def queues_empty(amqp_url: str, queues: list[str]) -> bool:
    """No message in any of `queues`, ready or being handled (a passive declare counts only the
    ready ones, so this asks rabbitmqctl)."""
    vhost = urllib.parse.unquote(urllib.parse.urlsplit(amqp_url).path[1:]) or "/"
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "messages", "--no-table-headers",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    out, _ = await process.communicate()
    counts = dict(line.split("\t") for line in out.decode().splitlines() if "\t" in line)
    return process.returncode == 0 and all(counts.get(q, "0").strip() == "0" for q in queues)
