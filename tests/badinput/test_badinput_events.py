"""Bad events on the bus, for every consumer queue of every service: not JSON, not a CloudEvent,
the wrong CloudEvents version, a type the service does not handle, data of the wrong shape,
hostile text, naive timestamps and oversized bodies. Each goes to `<queue>.dlq` at its first
delivery with an `x-error` saying why, nothing is stored or published, and a good event sent
after them is still processed."""
from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aio_pika
import aiohttp
import pytest

from academy_common.bus import ATTEMPT_HEADER
from academy_common.events import CONTENT_TYPE, rfc3339
from academy_common.service import Service
from tests.badinput.stacks import OUTBOX_LOG, SERVICES, Snapshots
from tests.support.services import ADMIN
from tests.support.waiting import eventually, queue_depth

NUL = re.compile(r"NUL|0x00|\\u0000", re.IGNORECASE)
WHEN = datetime(2031, 1, 6, 10, 0, tzinfo=UTC)
NAIVE = "2031-01-06T10:00:00"
LIMIT = 256 * 1024  # BUS_MAX_MESSAGE_BYTES of the services under test (not the default: the setting must count)


@dataclass(frozen=True)
class Bad:
    kind: str
    body: bytes
    why: str | re.Pattern  # what the x-error must mention
    routing_key: str


@dataclass
class Target:
    """One consumer queue: what a good event on it looks like and how to see it was handled."""

    queue: str
    routing_keys: list[str]
    good_type: str
    good_data: dict
    bad_data: list[Bad]
    handled: Callable[[], Awaitable[bool]]


def envelope(type_: str, data: object, /, **changes) -> bytes:
    event = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/badinput", "type": type_,
             "time": rfc3339(WHEN), "datacontenttype": "application/json", "data": data, **changes}
    return json.dumps({k: v for k, v in event.items() if v is not ...}).encode()


def bad(kind: str, type_: str, data: dict, why: str | re.Pattern, *, key: str | None = None) -> Bad:
    """An envelope that is fine around data that is not; sent under its type unless `key` says otherwise."""
    return Bad(kind, envelope(type_, data), why, key or type_)


def bad_messages(target: Target) -> list[Bad]:
    key, type_, data = target.routing_keys[0], target.good_type, target.good_data
    kinds = [
        Bad("not JSON", b"\xff\xfe{class_id: 7", "Invalid JSON", key),
        Bad("a lone surrogate", envelope(type_, data).replace(b'"/badinput"', b'"/bad\\ud800"'), "Invalid JSON", key),
        Bad("a JSON array", b"[1, 2, 3]", "object", key),
        Bad("a JSON string", json.dumps(type_).encode(), "object", key),
        Bad("JSON null", b"null", "object", key),
        Bad("no id", envelope(type_, data, id=...), r"^not a CloudEvent: id:", key),
        Bad("an empty id", envelope(type_, data, id=""), r"^not a CloudEvent: id:", key),
        Bad("no type", envelope(type_, data, type=...), r"^not a CloudEvent: type:", key),
        Bad("no time", envelope(type_, data, time=...), r"^not a CloudEvent: time:", key),
        Bad("a naive envelope time", envelope(type_, data, time=NAIVE), r"time:.*timezone", key),
        Bad("no data", envelope(type_, data, data=...), r"^not a CloudEvent: data:", key),
        Bad("data not an object", envelope(type_, [data]), r"^not a CloudEvent: data:", key),
        Bad("specversion 0.3", envelope(type_, data, specversion="0.3"), "specversion", key),
        Bad("specversion 2.0", envelope(type_, data, specversion="2.0"), "specversion", key),
        Bad("oversized", envelope(type_, {**data, "padding": "x" * LIMIT}), rf"message too large: \d+ bytes > {LIMIT}",
            key),
    ]
    for bound in target.routing_keys:  # a type nobody handles, on every key the queue is bound to
        kinds.append(Bad(f"type {bound}.v2 via {bound}", envelope(f"{bound}.v2", data), re.escape(f"{bound}.v2"),
                         bound))
    return kinds + target.bad_data


# -- the four services ------------------------------------------------------------------------

async def scheduler_target(service: Service, emu) -> Target:
    async with aiohttp.ClientSession(f"http://127.0.0.1:{service.port}", headers=ADMIN) as http:
        async def post(path: str, body: dict) -> dict:
            async with http.post(path, json=body) as response:
                assert response.status == 201, await response.text()
                return await response.json()

        teacher = await post("/api/teachers", {"name": "Ada", "email": "ada@school.org"})
        family = await post("/api/families", {"name": "Byron", "email": "byron@school.org"})
        student = await post("/api/students", {"name": "Bo", "email": "bo@school.org",
                                                "family_id": family["family_id"]})
        klass = await post("/api/schedule/classes", {
            "title": "Algebra", "teacher_id": teacher["teacher_id"], "student_ids": [student["student_id"]],
            "start": rfc3339(datetime.now(UTC) + timedelta(days=1)), "duration_minutes": 60})
    class_id = klass["class_id"]
    failed = {"class_id": class_id, "request_id": "r-1", "reason": "final", "retryable": True,
              "error": {"kind": "server", "status": 503, "message": "unavailable"}, "failed_at": rfc3339(WHEN)}

    async def handled() -> bool:
        return await service.pool.fetchval("SELECT fetch_failures FROM classes WHERE id = $1", class_id) == 1

    key = "meet.fetch_failed"
    return Target("scheduler.fetch-outcomes", [key, "attendance.class.finalized"], key, failed, [
        bad("class_id not a number", key, {**failed, "class_id": "seven"}, "class_id"),
        bad("class_id out of range", key, {**failed, "class_id": 2**70}, "class_id"),
        bad("no request_id", key, {k: v for k, v in failed.items() if k != "request_id"},
            r"request_id: Field required"),
        bad("error not an object", key, {**failed, "error": "boom"}, "error"),
        bad("a NUL in request_id", key, {**failed, "request_id": "r\x00"}, NUL),
        bad("a huge error message", key, {**failed, "error": {"kind": "server", "message": "x" * 20_000}},
            "error.message"),
        bad("a naive failed_at", key, {**failed, "failed_at": NAIVE}, r"failed_at.*timezone"),
        bad("a naive finalized_at", "attendance.class.finalized", {"class_id": class_id, "finalized_at": NAIVE},
            r"finalized_at.*timezone"),
        bad("finalized without finalized_at", "attendance.class.finalized", {"class_id": class_id},
            r"finalized_at: Field required"),
    ], handled)


def class_snapshot(class_id: int, **changes) -> dict:
    return {"class_id": class_id, "version": 1, "status": "scheduled", "title": "Algebra", "space_name": "spaces/b1",
            "scheduled_start": rfc3339(WHEN), "scheduled_end": rfc3339(WHEN + timedelta(hours=1)),
            "teacher": {"teacher_id": 1, "name": "Ada", "email": "ada@school.org"},
            "students": [{"student_id": 2, "family_id": 3, "name": "Bo", "email": "bo@school.org"}], **changes}


def participants_fetched(class_id: int, participant: dict) -> dict:
    return {"class_id": class_id, "session_id": str(uuid.uuid4()), "request_id": "r-1", "reason": "active",
            "fetched_at": rfc3339(WHEN), "space_name": "spaces/b1", "all_ended": False,
            "scheduled_start": rfc3339(WHEN), "scheduled_end": rfc3339(WHEN + timedelta(hours=1)),
            "conference_records": [{"name": "conferenceRecords/c1", "start_time": rfc3339(WHEN), "end_time": None,
                                    "participants": [participant]}]}


async def attendance_target(service: Service, emu) -> Target:
    good = class_snapshot(9001)
    guest = {"name": "conferenceRecords/c1/participants/p1", "kind": "anonymous", "display_name": "Guest",
             "sessions": [{"name": "conferenceRecords/c1/participants/p1/participantSessions/s1",
                           "start_time": rfc3339(WHEN), "end_time": None}]}

    async def handled() -> bool:
        return await service.pool.fetchval("SELECT count(*) FROM classes WHERE class_id = 9001") == 1

    return Target("attendance.events", ["class.scheduled", "class.updated", "class.cancelled", "class.started",
                                        "class.ended", "meet.participants.fetched", "teacher.upserted",
                                        "student.upserted"], "class.scheduled", good, [
        bad("class_id not a number", "class.scheduled", class_snapshot("ninety"), "class_id"),
        bad("no teacher", "class.updated", {k: v for k, v in good.items() if k != "teacher"},
            r"teacher: Field required"),
        bad("students not a list", "class.scheduled", class_snapshot(9002, students={"student_id": 2}), "students"),
        bad("a NUL in the title", "class.scheduled", class_snapshot(9003, title="Alg\x00ebra"), NUL),
        bad("a NUL in a display name", "meet.participants.fetched",
            participants_fetched(9001, {**guest, "display_name": "Gu\x00est"}), NUL),
        bad("a 5000-character title", "class.scheduled", class_snapshot(9004, title="x" * 5000), "title"),
        bad("a naive scheduled_start", "class.scheduled", class_snapshot(9005, scheduled_start=NAIVE),
            r"scheduled_start.*timezone"),
        bad("a naive session start", "meet.participants.fetched", participants_fetched(9001, {
            **guest, "sessions": [{**guest["sessions"][0], "start_time": NAIVE}]}), r"start_time.*timezone"),
        bad("an unknown participant kind", "meet.participants.fetched",
            participants_fetched(9001, {**guest, "kind": "robot"}), "kind"),
        bad("a student without family", "student.upserted", {"student_id": 3, "name": "Bo", "version": 1},
            r"family_id: Field required"),
        bad("a NUL in a teacher's email", "teacher.upserted",
            {"teacher_id": 3, "name": "Ada", "email": "a\x00@x.org", "version": 1}, NUL),
        bad("a lifecycle event without session_id", "class.started", {
            "class_id": 9001, "scheduled_start": rfc3339(WHEN), "scheduled_end": rfc3339(WHEN + timedelta(hours=1))},
            r"session_id: Field required"),
    ], handled)


def log_line(class_id: int, **changes) -> dict:
    return {"log_id": 1, "class_id": class_id, "version": 1, "person_key": "student:2", "role": "student",
            "student_id": 2, "family_id": 3, "scheduled_start": rfc3339(WHEN), "billable_seconds": 60, **changes}


async def billing_target(service: Service, emu) -> Target:
    good = {"family_id": 9001, "name": "Byron", "email": "byron@school.org", "active": True, "version": 1}

    async def handled() -> bool:
        return await service.pool.fetchval("SELECT count(*) FROM families WHERE family_id = 9001") == 1

    return Target("billing.events", ["attendance.class.finalized", "attendance.log.updated", "class.cancelled",
                                     "class.scheduled", "class.updated", "family.upserted", "student.upserted",
                                     "teacher.upserted"], "family.upserted", good, [
        bad("family_id not a number", "family.upserted", {**good, "family_id": "nine"}, "family_id"),
        bad("family_id out of range", "family.upserted", {**good, "family_id": 2**70}, "range"),
        bad("no name", "teacher.upserted", {"teacher_id": 4, "version": 1}, r"name: Field required"),
        bad("a NUL in a name", "family.upserted", {**good, "name": "By\x00ron"}, NUL),
        bad("a 600-character person_key", "attendance.log.updated", log_line(7, person_key="x" * 600), "person_key"),
        bad("a role nobody has", "attendance.log.updated", log_line(7, role="admin"), "role"),
        bad("negative billable seconds", "attendance.log.updated", log_line(7, billable_seconds=-5),
            "billable_seconds"),
        bad("a naive scheduled_start", "class.scheduled", class_snapshot(7, scheduled_start=NAIVE),
            r"scheduled_start.*timezone"),
        bad("a naive log scheduled_start", "attendance.log.updated", log_line(7, scheduled_start=NAIVE),
            r"scheduled_start.*timezone"),
    ], handled)


def fetch_request(space: str, **changes) -> dict:
    now = datetime.now(UTC)
    return {"class_id": 7, "session_id": str(uuid.uuid4()), "reason": "manual", "attempt": 1, "space_name": space,
            "organizer_email": "ada@school.org", "scheduled_start": rfc3339(now - timedelta(minutes=20)),
            "scheduled_end": rfc3339(now + timedelta(minutes=40)), "window_start": rfc3339(now - timedelta(hours=1)),
            "window_end": rfc3339(now + timedelta(hours=1)), "requested_at": rfc3339(now), **changes}


async def fetcher_target(service: Service, emu) -> Target:
    emu.load({"conferences": [{"space": "spaces/b1", "start": "-10m", "participants": [
        {"kind": "anonymous", "display_name": "Guest"}]}]})
    good = fetch_request("spaces/b1")

    async def handled() -> bool:
        return await service.pool.fetchval("SELECT count(*) FROM snapshots WHERE class_id = 7") == 1

    key = "class.fetch_requested"
    return Target("meet-fetcher.fetch-requests", [key], key, good, [
        bad("class_id not a number", key, {**good, "class_id": "seven"}, "class_id"),
        bad("no window", key, {k: v for k, v in good.items() if k != "window_start"}, r"window_start: Field required"),
        bad("a reason nobody sends", key, {**good, "reason": "whenever"}, "reason"),
        bad("neither space nor meeting code", key, {**good, "space_name": None}, "space_name or meeting_code"),
        bad("a path in space_name", key, {**good, "space_name": "spaces/../conferenceRecords"}, "space_name"),
        bad("a quote in space_name", key, {**good, "space_name": 'spaces/b1" OR space.name = "spaces/x'}, "space_name"),
        bad("a NUL in session_id", key, {**good, "session_id": "s\x00"}, NUL),
        bad("a NUL in organizer_email", key, {**good, "organizer_email": "ada@school.org\x00"}, NUL),
        bad("a 400-character organizer_email", key, {**good, "organizer_email": "x" * 400}, "organizer_email"),
        bad("a naive scheduled_start", key, {**good, "scheduled_start": NAIVE}, r"scheduled_start.*timezone"),
        # the type, not the routing key, says what an event is: this one must not be fetched
        bad("another type under the fetch key", "meet.participants.fetched", good, "meet.participants.fetched",
            key=key),
    ], handled)


TARGETS = {"scheduler": scheduler_target, "attendance": attendance_target, "billing": billing_target,
           "meet-fetcher": fetcher_target}
# What a service publishes while the test runs, so that its confirmed, mandatory publishes find a queue.
OUTPUTS = {"scheduler": ["teacher.upserted", "family.upserted", "student.upserted", "class.*"],
           "attendance": ["attendance.#"], "billing": [], "meet-fetcher": ["meet.#"]}


@pytest.mark.parametrize("name", SERVICES)
async def test_bad_events_are_dead_lettered_with_a_reason_and_change_nothing(name, start, emu, amqp_url):
    async with start(name, bus_max_message_bytes=LIMIT) as service:
        connection = await aio_pika.connect(amqp_url)
        try:
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            exchange = await channel.get_exchange(service.settings.bus_exchange)
            sink = await channel.declare_queue(exclusive=True)
            for key in OUTPUTS[name]:
                await sink.bind(exchange, key)
            target = await TARGETS[name](service, emu)
            queue = service.settings.queue_prefix + target.queue
            snapshots = Snapshots(service)
            await eventually(snapshots.settled, timeout=10, interval=0.2)
            before = await snapshots.take()
            outbox_rows = await _outbox_rows(service)
            meet_calls = emu.stats()["total"]

            bad = bad_messages(target)
            assert len({b.kind for b in bad}) == len(bad)
            for b in bad:
                await exchange.publish(aio_pika.Message(b.body, message_id=b.kind, content_type=CONTENT_TYPE),
                                       routing_key=b.routing_key, mandatory=True)

            try:
                await eventually(lambda: _depth_is(connection, f"{queue}.dlq", len(bad)), timeout=20)
            except AssertionError:
                pass  # the list below names what is missing
            dead = await _drain(channel, f"{queue}.dlq")
            problems = [f"{b.kind}: {_problem(b, dead.get(b.kind))}" for b in bad if _problem(b, dead.get(b.kind))]
            assert not problems, f"{name}, bad messages not dead-lettered as expected:\n" + "\n".join(problems)
            assert await snapshots.take() == before, f"{name}: a bad event changed stored data"
            assert await _outbox_rows(service) == outbox_rows, f"{name}: a bad event wrote to the outbox"
            assert emu.stats()["total"] == meet_calls, f"{name}: a bad event made Meet API calls"
            for suffix in ("", ".retry"):
                assert await queue_depth(connection, queue + suffix) == 0

            await exchange.publish(aio_pika.Message(envelope(target.good_type, target.good_data),
                                                    message_id="good", content_type=CONTENT_TYPE),
                                   routing_key=target.routing_keys[0], mandatory=True)
            await eventually(target.handled, timeout=10)
        finally:
            await connection.close()


def _problem(bad: Bad, headers: dict | None) -> str:
    if headers is None:
        return "not in the dead-letter queue"
    reason = str(headers.get("x-error", ""))
    if ATTEMPT_HEADER in headers:
        return f"retried before it was dead-lettered ({reason})"
    pattern = bad.why if isinstance(bad.why, re.Pattern) else re.compile(bad.why, re.IGNORECASE)
    return "" if pattern.search(reason) else f"x-error {reason!r} does not match {pattern.pattern!r}"


async def _drain(channel: aio_pika.abc.AbstractChannel, name: str) -> dict[str, dict]:
    """Every message of the queue, acked: message id → headers."""
    queue = await channel.declare_queue(name, passive=True)
    found = {}
    while (message := await queue.get(timeout=5, fail=False)) is not None:
        await message.ack()
        found[message.message_id] = dict(message.headers or {})
    return found


async def _depth_is(connection, name: str, depth: int) -> bool:
    return await queue_depth(connection, name) >= depth


async def _outbox_rows(service: Service) -> int:
    async with service.pool.acquire() as conn:
        if await conn.fetchval("SELECT to_regclass($1) IS NULL", OUTBOX_LOG):
            return 0
        return await conn.fetchval(f"SELECT count(*) FROM {OUTBOX_LOG}")
