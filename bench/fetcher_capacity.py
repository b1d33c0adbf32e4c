"""Classes one meet-fetcher replica keeps up with at a 180 s cadence, 50 ms per API call.

    .venv/bin/python -m bench.fetcher_capacity [--classes 1000] [--latency-ms 50]

The Meet emulator runs as its own process (as Google would be) with 50 ms added to every
call, holding N classes in progress with 10 signed-in participants each. One replica (the
real service: bus consumer, PostgreSQL limiter and caches, thread pool) runs in this process
with its default FETCH_CONCURRENCY and MEET_API_THREADS. Round 1 fetches every class cold
(a full fetch: 13 calls); round 2 is the steady state of polling (incremental). The
replica keeps up when it completes N fetches in well under 180 s.

The Meet read quota (6000/min per project) is lifted for the measurement: it is a project
limit, not a replica's, and would make the cold round alone take over two minutes. What the
quota itself allows is printed from the measured calls per fetch. Needs RabbitMQ (AMQP_URL)
and PostgreSQL (DATABASE_URL); everything it creates is removed at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC

import aio_pika
import aiohttp
from prometheus_client import REGISTRY

from academy_common.contracts import FETCH_REQUESTED
from academy_common.events import CloudEvent, rfc3339
from academy_common.logging import configure_logging
from meet_fetcher.app import QUEUE, build
from meet_fetcher.settings import Settings

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CADENCE_S = 180
PARTICIPANTS = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scenario(first: int, last: int) -> dict:
    return {"conferences": [
        {"space": f"spaces/cap{n}", "id": f"cap{n}", "start": "-10m", "participants": [
            {"kind": "signedin", "user_id": f"{n * 100 + i}", "email": f"s{n}-{i}@school.org",
             "display_name": f"S{n}-{i}", "join": f"-{10 - i * 0.5}m", "leave": None}
            for i in range(PARTICIPANTS)]}
        for n in range(first, last)]}


def fetch_request(n: int) -> CloudEvent:
    from datetime import datetime, timedelta

    start = datetime.now(UTC) - timedelta(minutes=10)
    return FETCH_REQUESTED.build({
        "class_id": n + 1, "session_id": str(uuid.uuid4()), "reason": "active", "attempt": 1,
        "space_name": f"spaces/cap{n}", "meeting_code": None, "organizer_email": f"teacher{n}@school.org",
        "scheduled_start": rfc3339(start), "scheduled_end": rfc3339(start + timedelta(minutes=60)),
        "window_start": rfc3339(start - timedelta(minutes=30)), "window_end": rfc3339(start + timedelta(minutes=90)),
        "requested_at": rfc3339(datetime.now(UTC)),
    })


def start_emulator(port: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "meet_emulator", "--port", str(port), "--seed", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def load_emulator(port: int, classes: int, latency_ms: float) -> None:
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            try:
                async with http.get(f"{url}/healthz") as answer:
                    if answer.status == 200:
                        break
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
        loads = [("/emulator/scenario", scenario(n, min(classes, n + 100))) for n in range(0, classes, 100)]
        for path, body in loads + [("/emulator/faults", {"latency_ms": latency_ms})]:  # bodies under 1 MB
            async with http.post(url + path, json=body) as answer:
                answer.raise_for_status()


async def emulator_calls(port: int) -> int:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/emulator/stats") as answer:
        return (await answer.json())["total"]


def fetch_seconds() -> tuple[float, float]:
    return (REGISTRY.get_sample_value("meet_fetch_seconds_sum") or 0.0,
            REGISTRY.get_sample_value("meet_fetch_seconds_count") or 0.0)


async def run_round(service, answers: asyncio.Queue, classes: int, port: int) -> dict:
    calls_before, (seconds_before, count_before) = await emulator_calls(port), fetch_seconds()
    started = time.perf_counter()
    for chunk in range(0, classes, 100):
        await asyncio.gather(*(service.bus.publish(fetch_request(n)) for n in range(chunk, min(classes, chunk + 100))))
    failed = 0
    for _ in range(classes):
        event = await asyncio.wait_for(answers.get(), timeout=300)
        failed += event.type != "meet.participants.fetched"
    elapsed = time.perf_counter() - started
    seconds_after, count_after = fetch_seconds()
    return {"elapsed": elapsed, "rate": classes / elapsed, "failed": failed,
            "calls": (await emulator_calls(port) - calls_before) / classes,
            "latency": (seconds_after - seconds_before) / max(1.0, count_after - count_before)}


async def main(classes: int, latency_ms: float) -> None:
    port, unique = free_port(), f"benchcap{uuid.uuid4().hex[:8]}"
    settings = Settings(
        amqp_url=AMQP_URL, database_url=DATABASE_URL, db_schema=unique, queue_prefix=f"{unique}.",
        bus_exchange=f"{unique}.events", http_host="127.0.0.1", http_port=0, log_level="WARNING",
        meet_api_endpoint=f"http://127.0.0.1:{port}/", people_api_endpoint=f"http://127.0.0.1:{port}/",
        meet_reads_per_minute=10_000_000, meet_reads_per_user_per_minute=10_000_000)
    configure_logging("meet-fetcher", settings.log_level, "console")
    service = build(settings)
    emulator = start_emulator(port)
    connection = await aio_pika.connect_robust(AMQP_URL)
    try:
        await load_emulator(port, classes, latency_ms)
        await service.start()
        answers: asyncio.Queue[CloudEvent] = asyncio.Queue()
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(await channel.get_exchange(settings.bus_exchange), routing_key="meet.#")
        await queue.consume(lambda m: answers.put_nowait(CloudEvent.from_json(m.body)), no_ack=True)

        print(f"one replica: FETCH_CONCURRENCY={settings.fetch_concurrency}, MEET_API_THREADS={settings.meet_api_threads};"
              f" {classes} classes in progress, {PARTICIPANTS} participants each, +{latency_ms:.0f} ms per API call")
        rounds = []
        for label in ("cold: full fetch", "steady: incremental"):
            result = await run_round(service, answers, classes, port)
            rounds.append(result)
            print(f"  {label:20s} {classes} fetches in {result['elapsed']:5.1f} s = {result['rate']:6.1f} fetches/s"
                  f" ({result['calls']:.1f} calls/fetch, {result['latency'] * 1000:.0f} ms/fetch, {result['failed']} failed)"
                  f" -> {result['rate'] * CADENCE_S:,.0f} classes per replica at {CADENCE_S} s")
        steady, cold = rounds[-1], rounds[0]
        print(f"keeps up with {classes} classes at {CADENCE_S} s: needs {classes / CADENCE_S:.1f} fetches/s;"
              f" steady {steady['rate']:.1f}/s, even all-full fetches {cold['rate']:.1f}/s:"
              f" {'YES' if min(steady['rate'], cold['rate']) * CADENCE_S >= classes else 'NO'}")
        print(f"the project read quota (6000/min) allows {6000 * CADENCE_S / 60 / steady['calls']:,.0f} classes at"
              f" {steady['calls']:.1f} calls/fetch (steady, nobody joining or leaving) and"
              f" {6000 * CADENCE_S / 60 / cold['calls']:,.0f} at {cold['calls']:.0f} (full fetches), across all replicas")
    finally:
        await service.stop()
        channel = await connection.channel()
        name = settings.queue_prefix + QUEUE
        for queue_name in (name, f"{name}.retry", f"{name}.dlq"):
            await channel.queue_delete(queue_name)
        await channel.exchange_delete(settings.bus_exchange)
        await connection.close()
        emulator.terminate()
        emulator.wait(10)
        import asyncpg

        conn = await asyncpg.connect(DATABASE_URL)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{unique}" CASCADE')
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    asyncio.run(main(args.classes, args.latency_ms))
