"""Malformed Meet answers through the real path: the scheduler's ticker asks for the final fetch,
the fetcher calls the emulator, which answers one method malformed. The fetch fails cleanly
(`meet.fetch_failed`, kind `malformed`, no snapshot, nothing cached, the request acked); the
scheduler records the failure and asks again at its next retry slot, and once Meet answers
well that fetch publishes the correct snapshot."""
from __future__ import annotations

import functools
from datetime import timedelta

import aio_pika
import aiohttp
import pytest

import scheduler.app
from academy_common.events import CloudEvent, rfc3339
from meet_fetcher.app import QUEUE, build
from scheduler.settings import Settings as SchedulerSettings
from tests.integration.meet_fetcher.fetcher_support import T0
from tests.integration.scheduler.sched_support import Academy, BusTap, FakeClock
from tests.support.services import VIEWER, isolated_settings, running
from tests.support.waiting import eventually, queue_depth

START = T0 - timedelta(hours=2)  # the emulator's clock stands at T0: the whole class is over
END = START + timedelta(hours=1)
RETRY_INTERVAL_S = 60

MALFORMED = [  # (fault kind, the method it spoils, what the error message names)
    ("no_name", "conferenceRecords.participants.list", "participants.0.name: Field required"),
    ("no_identity", "conferenceRecords.participants.list", "exactly one of signedinUser"),
    ("unknown_kind", "conferenceRecords.participants.list", "exactly one of signedinUser"),
    ("bad_timestamp", "conferenceRecords.participants.participantSessions.list", "'yesterday'"),
    ("naive_timestamp", "conferenceRecords.participants.participantSessions.list", "not an RFC 3339 timestamp"),
    ("page_token_loop", "conferenceRecords.participants.list", "repeats"),
    ("not_json", "conferenceRecords.list", "not a JSON object"),
]


def at(offset_minutes: float) -> str:
    return rfc3339(START + timedelta(minutes=offset_minutes))


def meeting(space: str, teacher_email: str) -> dict:
    return {"conferences": [{"space": space, "id": "c1", "start": at(-5), "end": at(62), "participants": [
        {"kind": "signedin", "user_id": "2001", "email": teacher_email, "display_name": "Ada",
         "sessions": [{"join": at(-3), "leave": at(61)}]},
        {"kind": "anonymous", "display_name": "Guest", "join": at(10), "leave": at(20)},
    ]}]}


@pytest.fixture
async def system(emu, settings_for, database_url, amqp_url, unique):
    """The fetcher and a scheduler on a FakeClock (ticking every 0.1 s), sharing one exchange."""
    clock = FakeClock(START - timedelta(hours=1))
    fetcher_settings = settings_for()
    scheduler_settings = isolated_settings(
        SchedulerSettings, database_url=database_url, amqp_url=amqp_url, unique=unique,
        db_schema=f"{unique}_scheduler", meet_api_endpoint=emu.url, people_api_endpoint=emu.url,
        tick_interval_s=0.1, retry_interval_s=RETRY_INTERVAL_S, meet_api_retry_attempts=2,
        meet_api_retry_initial_s=0.01)
    tap = BusTap()
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(fetcher_settings.bus_exchange, aio_pika.ExchangeType.TOPIC,
                                                  durable=True)
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, "#")

        async def collect(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                tap.events.append(CloudEvent.from_json(message.body))

        await queue.consume(collect)
        async with running(build, fetcher_settings) as fetcher, \
                running(functools.partial(scheduler.app.build, clock=clock), scheduler_settings) as sched, \
                aiohttp.ClientSession(f"http://127.0.0.1:{sched.port}") as http:
            yield fetcher, sched, http, clock, tap, connection
    finally:
        await connection.close()


@pytest.mark.parametrize("kind,method,says", MALFORMED, ids=[m[0] for m in MALFORMED])
async def test_a_malformed_answer_fails_the_fetch_cleanly_and_the_class_is_fetched_again(system, emu, kind, method,
                                                                                        says):
    fetcher, _sched, http, clock, tap, connection = system
    academy = Academy(http, clock)
    klass = await academy.klass()
    emu.load(meeting(klass["space_name"], klass["teacher"]["email"]))
    emu.set_faults({"malformed": [{"method": method, "kind": kind, "count": None}]})

    clock.now = END + timedelta(seconds=1)  # the ticker starts, ends and asks for the final fetch
    [final] = await tap.wait("class.fetch_requested", reason="final")
    [failed] = await tap.wait("meet.fetch_failed", request_id=final.id)
    error = failed.data["error"]
    assert (error["kind"], failed.data["retryable"]) == ("malformed", False)
    assert says in error["message"], error["message"]
    assert not tap.of("meet.participants.fetched")
    await eventually(lambda: _fetch_requests_all_handled(connection, fetcher.settings.queue_prefix + QUEUE))
    async with fetcher.pool.acquire() as conn:  # nothing half-written in the fetcher's caches
        assert await conn.fetchval("SELECT count(*) FROM snapshots") == 0
        assert await conn.fetchval("SELECT count(*) FROM emails") == 0
    await eventually(lambda: _failures_recorded(http, klass["class_id"]))

    emu.clear_faults()  # Meet answers well again
    clock.now = END + timedelta(seconds=RETRY_INTERVAL_S + 1)
    [retry] = await tap.wait("class.fetch_requested", reason="retry")
    [fetched] = await tap.wait("meet.participants.fetched", request_id=retry.id)
    [record] = fetched.data["conference_records"]
    assert (record["name"], record["start_time"], record["end_time"]) == ("conferenceRecords/c1", at(-5), at(62))
    assert [(p["display_name"], p["kind"], p["email"], [(s["start_time"], s["end_time"]) for s in p["sessions"]])
            for p in record["participants"]] == [
        ("Ada", "signedin", klass["teacher"]["email"], [(at(-3), at(61))]),
        ("Guest", "anonymous", None, [(at(10), at(20))]),
    ]
    assert fetched.data["all_ended"] is True
    assert len(tap.of("meet.fetch_failed")) == 1


async def _fetch_requests_all_handled(connection, name: str) -> bool:
    return all([await queue_depth(connection, q) == 0 for q in (name, f"{name}.retry", f"{name}.dlq")])


async def _failures_recorded(http: aiohttp.ClientSession, class_id: int) -> bool:
    view = await (await http.get(f"/api/schedule/classes/{class_id}", headers=VIEWER)).json()
    return view["fetch"]["failures"] == 1 and view["fetch"]["last_error"]["kind"] == "malformed"
