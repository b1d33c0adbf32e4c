"""Ingest: participant sessions per second from `meet.participants.fetched` to committed logs.

    .venv/bin/python -m bench.ingest [--classes 200] [--participants 10] [--rounds 3]

M classes (a teacher and K-1 students each) are declared with `class.scheduled`; then R polls
of every class (each a complete snapshot: K participants with two sessions each, the second
one closing in the last poll) wait in the service's queue, M·R messages of 2·K sessions. The
real attendance service (in this process, default prefetch and pool) is started and timed
until its consumer has committed and acked every snapshot; the logs are checked afterwards.

The floor, measured in the same run over the same messages and rows:
  (a) bare aio-pika: consume + ack every message from a quorum queue, same prefetch;
  (b) bare asyncpg: per message, one transaction upserting its session rows (executemany,
      the same ON CONFLICT rule) into a plain table, as many connections as the service's pool.
floor = min(a, b): neither bare stage alone can go faster, so no consumer doing both can.
Target: ingest >= 50% of the floor. Needs RabbitMQ (AMQP_URL) and PostgreSQL (DATABASE_URL);
its schema, exchange and queues are unique to the run and removed at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aio_pika
import asyncpg
from prometheus_client import REGISTRY

from academy_common.bus import CONSUMED, Bus
from academy_common.contracts import CLASS_SCHEDULED, PARTICIPANTS_FETCHED
from academy_common.db import create_pool
from academy_common.events import CloudEvent, rfc3339
from academy_common.logging import configure_logging
from academy_common.service import Service
from attendance.app import build
from attendance.handlers import QUEUE
from attendance.settings import Settings

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
POOL_SIZE = 10  # academy_common.db.create_pool's default max_size, what the service runs with


def at(minutes: float) -> str:
    return rfc3339(START + timedelta(minutes=minutes))


# -- the load -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Load:
    classes: int
    participants: int
    rounds: int

    @property
    def snapshots(self) -> int:
        return self.classes * self.rounds

    @property
    def sessions(self) -> int:
        return self.snapshots * self.participants * 2

    def class_scheduled(self, class_id: int) -> CloudEvent:
        base = class_id * 1000
        return CLASS_SCHEDULED.build({
            "class_id": class_id, "version": 1, "status": "scheduled", "title": f"Bench {class_id}",
            "scheduled_start": at(0), "scheduled_end": at(60), "duration_minutes": 60,
            "space_name": f"spaces/bench{class_id}", "meeting_code": None, "meeting_uri": None,
            "teacher": {"teacher_id": base, "name": f"T{class_id}", "email": f"t{base}@school.org"},
            "students": [{"student_id": base + i, "family_id": base + i, "name": f"S{base + i}",
                          "email": f"s{base + i}@school.org"} for i in range(1, self.participants)],
        })

    def snapshot(self, class_id: int, round_: int) -> CloudEvent:
        """Poll `round_` of the class: everyone left once at minute 20 and rejoined at 25; the
        last poll sees the class ended."""
        last = round_ == self.rounds - 1
        record = f"conferenceRecords/bench{class_id}"
        base = class_id * 1000

        def participant(i: int) -> dict:
            name, person = f"{record}/participants/p{i}", base + i
            return {"name": name, "kind": "signedin", "user": f"users/{person}",
                    "email": f"{'t' if i == 0 else 's'}{person}@school.org", "display_name": f"P{person}",
                    "earliest_start_time": at(i * 0.1), "latest_end_time": at(61) if last else None,
                    "sessions": [
                        {"name": f"{name}/participantSessions/a", "start_time": at(i * 0.1), "end_time": at(20)},
                        {"name": f"{name}/participantSessions/b", "start_time": at(25),
                         "end_time": at(61) if last else None}]}

        return PARTICIPANTS_FETCHED.build({
            "class_id": class_id, "session_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{class_id}")),
            "request_id": f"bench-{class_id}-{round_}", "reason": "final" if last else "active",
            "fetched_at": at(62 if last else 30 + round_), "space_name": f"spaces/bench{class_id}",
            "scheduled_start": at(0), "scheduled_end": at(60),
            "conference_records": [{"name": record, "start_time": at(-1), "end_time": at(61) if last else None,
                                    "participants": [participant(i) for i in range(self.participants)]}],
            "all_ended": last,
        })

    def snapshots_in_poll_order(self) -> list[CloudEvent]:
        return [self.snapshot(c, r) for r in range(self.rounds) for c in range(1, self.classes + 1)]


def session_rows(event: CloudEvent) -> list[tuple]:
    """The rows a snapshot upserts into participant_sessions, as the service stores them."""
    def moment(text: str | None) -> datetime | None:
        return datetime.fromisoformat(text) if text else None

    data = event.data
    return [(data["class_id"], s["name"], p["name"], moment(s["start_time"]), moment(s["end_time"]))
            for r in data["conference_records"] for p in r["participants"] for s in p["sessions"]]


# -- the service ----------------------------------------------------------------------------

def consumed(queue: str) -> float:
    """Messages the queue's consumer has settled. Read from the counter itself: the registry's
    lookup runs every collector (the process collector reads /proc), which polled every 20 ms
    took ~6% of the CPU the timed service needs."""
    return sum(sample.value for metric in CONSUMED.collect() for sample in metric.samples
               if sample.name.endswith("_total") and sample.labels["queue"] == queue
               and sample.labels["outcome"] in ("ok", "dead_lettered", "retried"))


async def wait_for(check, timeout: float = 170.0, interval: float = 0.02) -> None:
    deadline = time.perf_counter() + timeout
    while not await check():
        if time.perf_counter() > deadline:
            raise SystemExit("the bench did not finish in time")
        await asyncio.sleep(interval)


async def publish_all(bus: Bus, events: list[CloudEvent], chunk: int = 200) -> None:
    for i in range(0, len(events), chunk):
        await asyncio.gather(*(bus.publish(e) for e in events[i:i + chunk]))


async def declare_classes(settings: Settings, bus: Bus, load: Load) -> None:
    """Classes known before the timed run; the service stops with its queue left in place."""
    service = build(settings)
    await service.start()
    queue = settings.queue_prefix + QUEUE
    before = consumed(queue)
    await publish_all(bus, [load.class_scheduled(c) for c in range(1, load.classes + 1)])

    async def done() -> bool:
        return consumed(queue) - before >= load.classes

    await wait_for(done)
    await service.stop()


async def run_service(settings: Settings, load: Load, relay: bool) -> tuple[float, Service]:
    """Seconds from the consumer's start to the last snapshot committed and acked."""
    service = build(settings)
    await service.connect()  # migrations, pool and broker before the clock starts
    service.uses_outbox = relay
    queue = settings.queue_prefix + QUEUE
    before = consumed(queue)

    async def done() -> bool:
        return consumed(queue) - before >= load.snapshots

    started, cpu = time.perf_counter(), time.process_time()
    await service.start()
    await wait_for(done)
    elapsed = time.perf_counter() - started
    print(f"  (this process used {time.process_time() - cpu:.2f} s of CPU in those {elapsed:.2f} s)")
    return elapsed, service


async def check_logs(service: Service, load: Load) -> str:
    queue = service.settings.queue_prefix + QUEUE
    ok = REGISTRY.get_sample_value("bus_messages_consumed_total", {"queue": queue, "outcome": "ok"}) or 0.0
    async with service.pool.acquire() as conn:
        logs = await conn.fetchval("SELECT count(*) FROM attendance_logs WHERE (content->>'joins')::int = 2"
                                   " AND content->>'last_leave' IS NOT NULL AND NOT removed")
        sessions = await conn.fetchval("SELECT count(*) FROM participant_sessions WHERE end_time IS NOT NULL")
    expected_logs = load.classes * load.participants
    problems = []
    if ok < load.classes + load.snapshots:
        problems.append(f"only {ok:.0f} of {load.classes + load.snapshots} messages handled ok")
    if logs != expected_logs:
        problems.append(f"{logs} of {expected_logs} logs complete")
    if sessions != load.classes * load.participants * 2:
        problems.append(f"{sessions} closed sessions stored")
    return "; ".join(problems)


# -- the floor ------------------------------------------------------------------------------

async def floor_amqp(connection: aio_pika.abc.AbstractConnection, name: str, events: list[CloudEvent],
                     prefetch: int) -> float:
    """(a) seconds to consume + ack the same messages from a quorum queue, nothing else."""
    channel = await connection.channel(publisher_confirms=True)
    queue = await channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
    await asyncio.gather(*(channel.default_exchange.publish(
        aio_pika.Message(e.to_json(), message_id=e.id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
        routing_key=name) for e in events))
    await channel.set_qos(prefetch_count=prefetch)
    finished, acked = asyncio.Event(), 0

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        nonlocal acked
        await message.ack()
        acked += 1
        if acked == len(events):
            finished.set()

    started = time.perf_counter()
    tag = await queue.consume(on_message)
    await asyncio.wait_for(finished.wait(), 170)
    elapsed = time.perf_counter() - started
    await queue.cancel(tag)
    await queue.delete(if_unused=False, if_empty=False)
    await channel.close()
    return elapsed


FLOOR_UPSERT = """
    INSERT INTO floor_sessions (class_id, name, participant, start_time, end_time) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (class_id, name) DO UPDATE SET
        start_time = LEAST(floor_sessions.start_time, EXCLUDED.start_time),
        end_time = GREATEST(floor_sessions.end_time, EXCLUDED.end_time)"""


async def floor_sql(pool: asyncpg.Pool, batches: list[list[tuple]]) -> float:
    """(b) seconds to upsert the same session rows, one transaction per message, POOL_SIZE at once."""
    await pool.execute("""CREATE TABLE floor_sessions (
        class_id bigint NOT NULL, name text NOT NULL, participant text NOT NULL,
        start_time timestamptz NOT NULL, end_time timestamptz, PRIMARY KEY (class_id, name))""")
    pending: asyncio.Queue[list[tuple]] = asyncio.Queue()
    for batch in batches:
        pending.put_nowait(batch)

    async def worker() -> None:
        async with pool.acquire() as conn:
            while not pending.empty():
                rows = pending.get_nowait()
                async with conn.transaction():
                    await conn.executemany(FLOOR_UPSERT, rows)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(POOL_SIZE)))
    return time.perf_counter() - started


# -- the run --------------------------------------------------------------------------------

async def cleanup(settings: Settings, schema: str) -> None:
    connection = await aio_pika.connect_robust(AMQP_URL)
    channel = await connection.channel()
    name = settings.queue_prefix + QUEUE
    for queue_name in (name, f"{name}.retry", f"{name}.dlq", f"{settings.queue_prefix}floor"):
        await channel.queue_delete(queue_name)
    await channel.exchange_delete(settings.bus_exchange)
    await connection.close()
    conn = await asyncpg.connect(DATABASE_URL)
    await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    await conn.close()


async def main(load: Load, relay: bool = True) -> None:
    unique = f"benchingest{uuid.uuid4().hex[:8]}"
    settings = Settings(amqp_url=AMQP_URL, database_url=DATABASE_URL, db_schema=unique,
                        queue_prefix=f"{unique}.", bus_exchange=f"{unique}.events", http_host="127.0.0.1",
                        http_port=0, log_level="WARNING", outbox_poll_s=0.1)
    configure_logging("attendance", settings.log_level, "console")
    events = load.snapshots_in_poll_order()
    print(f"{load.classes} classes x {load.rounds} polls = {load.snapshots} snapshots of {load.participants}"
          f" participants (2 sessions each): {load.sessions:,} participant sessions,"
          f" {sum(len(e.to_json()) for e in events) / load.snapshots / 1024:.1f} KiB per message")
    try:
        bus = await asyncio.wait_for(Bus.connect(AMQP_URL, exchange=settings.bus_exchange), 30)
    except (TimeoutError, OSError) as exc:
        raise SystemExit(f"RabbitMQ at {AMQP_URL} does not answer: {exc!r}") from None
    service = None
    try:
        # Where the service's events go (the outbox relay publishes with `mandatory`): a queue
        # nobody consumes, so counting them costs this process nothing while it is timed.
        tap_channel = await bus.connection.channel()
        tap = await tap_channel.declare_queue(exclusive=True)
        await tap.bind(settings.bus_exchange, "attendance.#")
        await declare_classes(settings, bus, load)
        await publish_all(bus, events)
        service_s, service = await run_service(settings, load, relay)

        async def outbox_empty() -> bool:
            return await service.pool.fetchval("SELECT count(*) FROM outbox") == 0

        if relay:
            await wait_for(outbox_empty)
        relayed = (await tap.declare()).message_count
        problems = await check_logs(service, load)
        await service.stop()
        service = None

        amqp_s = await floor_amqp(bus.connection, f"{settings.queue_prefix}floor", events, settings.consumer_prefetch)
        pool = await create_pool(DATABASE_URL, unique, max_size=POOL_SIZE)
        try:
            sql_s = await floor_sql(pool, [session_rows(e) for e in events])
        finally:
            await pool.close()
    finally:
        if service is not None:
            await service.stop()
        await bus.close(drain_timeout=1)
        await cleanup(settings, unique)

    rate = {"ingest": load.sessions / service_s, "amqp": load.sessions / amqp_s, "sql": load.sessions / sql_s}
    floor = min(rate["amqp"], rate["sql"])
    serial = 1 / (1 / rate["amqp"] + 1 / rate["sql"])
    print(f"attendance service         {rate['ingest']:9,.0f} sessions/s  ({load.snapshots / service_s:6.1f}"
          f" snapshots/s, {service_s:.2f} s; {relayed:,} events relayed)")
    print(f"floor (a) aio-pika consume+ack {rate['amqp']:7,.0f} sessions/s  ({load.snapshots / amqp_s:6.1f}"
          f" messages/s, {amqp_s:.2f} s, prefetch {settings.consumer_prefetch})")
    print(f"floor (b) asyncpg upsert   {rate['sql']:9,.0f} sessions/s  ({load.snapshots / sql_s:6.1f}"
          f" transactions/s, {sql_s:.2f} s, {POOL_SIZE} connections)")
    print(f"floor = min(a, b)          {floor:9,.0f} sessions/s   (a then b in series: {serial:,.0f}/s)")
    print(f"ingest / floor: {rate['ingest'] / floor:.0%} (target >= 50%):"
          f" {'OK' if rate['ingest'] >= floor / 2 else 'MISSED'}; ingest / serial floor: {rate['ingest'] / serial:.0%}")
    if problems:
        raise SystemExit(f"the logs are wrong: {problems}")
    print("checked: every message handled ok, every log has both sessions and the last leave")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=200)
    parser.add_argument("--participants", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--without-relay", action="store_true",
                        help="time the consumer alone: the outbox relay does not run (its events stay in the outbox)")
    args = parser.parse_args()
    asyncio.run(main(Load(args.classes, args.participants, args.rounds), relay=not args.without_relay))
