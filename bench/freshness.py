"""Freshness: seconds from a scripted leave in Meet to the updated attendance log.

    .venv/bin/python -m bench.freshness [--students 20] [--scale 100]

The whole system runs as processes (scripts/system.py: the Meet emulator at real speed and
the four services) with the default intervals divided by SCALE (100: TICK_INTERVAL_S 120 →
1.2, FETCH_INTERVAL_S 180 → 1.8, RETRY_INTERVAL_S 600 → 6, FINALIZE_GRACE_S 1800 → 18). An
academy is created through the scheduler API; its class starts a few seconds later and every
student leaves the call at a different moment (the leaves are spread over the fetch cadence
on purpose). A tap queue on the bus sees each `class.fetch_requested` and
`attendance.log.updated`: freshness is from the scripted leave to the first log event that
shows it, split into
  wait = leave → the next fetch request    (fetch slots every FETCH, found by a tick every TICK)
  pipeline = that request → the log event (Meet calls, snapshot, ingest, outbox relay).
The wait scales with the intervals, the pipeline does not, so at the default intervals
  freshness ≈ SCALE · wait + pipeline, with wait uniform-ish in [0, FETCH + TICK) (scaled):
  mean ≈ (FETCH + TICK)/2 + pipeline = 150 s + pipeline, worst ≈ FETCH + TICK + pipeline = 300 s.
Isolated by its own database (dropped at the end) and its own exchange and queue prefix.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import aio_pika
import aiohttp
import asyncpg

from attendance.handlers import QUEUE as ATTENDANCE_QUEUE
from billing.handlers import QUEUE as BILLING_QUEUE
from meet_fetcher.app import QUEUE as FETCHER_QUEUE
from scheduler.handlers import QUEUE as SCHEDULER_QUEUE
from scripts.system import SERVICES, System, free_port

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ADMIN_TOKEN = "bench-admin-token-0001"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
DEFAULTS = {"TICK_INTERVAL_S": 120, "FETCH_INTERVAL_S": 180, "RETRY_INTERVAL_S": 600, "FINALIZE_GRACE_S": 1800}
CLASS_STARTS_IN_S = 6


def scaled_env(scale: float) -> dict[str, str]:
    return {name: f"{value / scale:g}" for name, value in DEFAULTS.items()}


def _with_database(url: str, name: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path=f"/{name}"))


def _quiet(name: str, line: str) -> None:
    if '"error"' in line or "Traceback" in line or line.startswith(("ERROR", "CRITICAL")):
        print(f"{name:>13} | {line}", flush=True)


@asynccontextmanager
async def isolated_system(env: dict[str, str]) -> AsyncIterator[System]:
    """The whole system as processes on free ports, in its own database, exchange and queues;
    all of it removed afterwards."""
    unique = f"bench_{uuid.uuid4().hex[:8]}"
    database_url = _with_database(DATABASE_URL, unique)
    system = System(
        database_url=database_url, amqp_url=AMQP_URL, api_tokens=f"admin={ADMIN_TOKEN}", sink=_quiet,
        env={"BUS_EXCHANGE": f"{unique}.events", "QUEUE_PREFIX": f"{unique}.", "LOG_LEVEL": "WARNING",
             "LOG_FORMAT": "json", "HTTP_HOST": "127.0.0.1", **env},
        ports={name: free_port() for name in SERVICES},
    )
    try:
        await system.start()
        yield system
    finally:
        await system.stop()
        connection = await aio_pika.connect_robust(AMQP_URL)
        channel = await connection.channel()
        for queue in (ATTENDANCE_QUEUE, BILLING_QUEUE, FETCHER_QUEUE, SCHEDULER_QUEUE):
            for suffix in ("", ".retry", ".dlq"):
                await channel.queue_delete(f"{unique}.{queue}{suffix}")
        await channel.exchange_delete(f"{unique}.events")
        await connection.close()
        admin = await asyncpg.connect(DATABASE_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{unique}" WITH (FORCE)')
        await admin.close()


def exchange(system: System) -> str:
    return system.processes["scheduler"].env["BUS_EXCHANGE"]


async def tap(connection: aio_pika.abc.AbstractConnection, system: System, keys: list[str]
              ) -> asyncio.Queue[tuple[float, dict]]:
    """(wall time received, event) for every event with one of these routing keys."""
    seen: asyncio.Queue[tuple[float, dict]] = asyncio.Queue()
    channel = await connection.channel()
    queue = await channel.declare_queue(exclusive=True)
    for key in keys:
        await queue.bind(exchange(system), key)
    await queue.consume(lambda m: seen.put_nowait((time.time(), json.loads(m.body))), no_ack=True)
    return seen


# -- the class ------------------------------------------------------------------------------

async def seed(http: aiohttp.ClientSession, system: System, students: int) -> tuple[int, dict[str, float]]:
    """A teacher, `students` students and a class starting shortly; returns the class id and
    each student's scripted leave (wall time) by person_key."""
    async def post(service: str, path: str, body: dict) -> dict:
        async with http.post(system.url(service) + path, json=body, headers=ADMIN) as response:
            answer = await response.json()
            if response.status >= 300:
                raise RuntimeError(f"POST {path} → {response.status}: {answer}")
            return answer

    teacher = await post("scheduler", "/api/teachers", {"name": "Ada", "email": "ada@bench.example"})
    family = await post("scheduler", "/api/families", {"name": "Bench family", "email": "family@bench.example"})
    people = [await post("scheduler", "/api/students", {"name": f"Student {i}", "email": f"s{i}@bench.example",
                                                         "family_id": family["id"]}) for i in range(students)]
    start = datetime.now(UTC) + timedelta(seconds=CLASS_STARTS_IN_S)
    # Leaves every 4.3 s from 5 s into the class: not a multiple of the 1.8 s cadence, so the
    # leaves fall at every phase of it.
    leaves = [start + timedelta(seconds=5 + 4.3 * i) for i in range(students)]
    minutes = int((leaves[-1] - start).total_seconds() // 60) + 2
    created = await post("scheduler", "/api/schedule/classes", {
        "title": "Freshness", "teacher_id": teacher["id"], "student_ids": [p["id"] for p in people],
        "start": start.isoformat(), "duration_minutes": minutes})
    end = start + timedelta(minutes=minutes)

    def user(uid: str, name: str, join: datetime, leave: datetime) -> dict:
        return {"kind": "signedin", "user_id": uid, "display_name": name,
                "sessions": [{"join": join.isoformat(), "leave": leave.isoformat()}]}

    await post("meet-emulator", "/emulator/scenario", {
        "people": [{"user_id": "1", "email": "ada@bench.example", "display_name": "Ada"}] + [
            {"user_id": str(100 + i), "email": f"s{i}@bench.example", "display_name": f"Student {i}"}
            for i in range(students)],
        "conferences": [{"space": created["space_name"], "start": (start - timedelta(seconds=3)).isoformat(),
                         "end": (end + timedelta(seconds=5)).isoformat(), "participants": [
            user("1", "Ada", start - timedelta(seconds=2), end),
            *(user(str(100 + i), f"Student {i}", start - timedelta(seconds=1), leaves[i]) for i in range(students)),
        ]}],
    })
    return created["id"], {f"student:{p['id']}": leave.timestamp() for p, leave in zip(people, leaves)}


async def observe(seen: asyncio.Queue, class_id: int, leaves: dict[str, float]) -> list[tuple[float, float]]:
    """(wait, pipeline) per leave, from the tap: leave → fetch request → log event."""
    requests: list[float] = []
    found: dict[str, tuple[float, float]] = {}
    deadline = max(leaves.values()) + 60
    while len(found) < len(leaves):
        try:
            received, event = await asyncio.wait_for(seen.get(), max(1.0, deadline - time.time()))
        except TimeoutError:
            raise SystemExit(f"only {len(found)} of {len(leaves)} leaves reached the logs in time") from None
        data = event["data"]
        if data.get("class_id") != class_id:
            continue
        if event["type"] == "class.fetch_requested":
            requests.append(received)
            continue
        key = data["person_key"]
        if key in leaves and key not in found and data["last_leave"] is not None:
            # The request that brought the leave in: the last one before this event (it may
            # precede the leave by a few ms when the fetcher's calls came after it).
            request = max(r for r in requests if r <= received)
            found[key] = (request - leaves[key], received - request)
    return list(found.values())


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):5.2f} s  p95 {p95:5.2f} s  max {ordered[-1]:5.2f} s"


async def main(students: int, scale: float) -> None:
    env = scaled_env(scale)
    tick, fetch = float(env["TICK_INTERVAL_S"]), float(env["FETCH_INTERVAL_S"])
    print(f"whole system, intervals / {scale:g}: " + ", ".join(f"{k}={v}" for k, v in env.items()))
    async with isolated_system(env) as system:
        connection = await aio_pika.connect_robust(AMQP_URL)
        try:
            seen = await tap(connection, system, ["class.fetch_requested", "attendance.log.updated"])
            async with aiohttp.ClientSession() as http:
                class_id, leaves = await seed(http, system, students)
            print(f"class {class_id}: {students} students leave one by one over"
                  f" {max(leaves.values()) - min(leaves.values()):.0f} s")
            results = await observe(seen, class_id, leaves)
        finally:
            await connection.close()
    waits, pipelines = [w for w, _ in results], [p for _, p in results]
    totals = [w + p for w, p in results]
    print(f"freshness (leave → updated log)  {summary(totals)}   n={len(totals)}")
    print(f"  wait for the next fetch request  {summary(waits)}   expected in [0, FETCH + TICK)"
          f" = [0, {fetch + tick:g})")
    print(f"  pipeline: request → log event    {summary(pipelines)}")
    pipeline = statistics.median(pipelines)
    print("formula: freshness ≈ wait + pipeline; wait ∈ [0, FETCH_INTERVAL_S + TICK_INTERVAL_S),"
          " mean ≈ (FETCH + TICK)/2")
    print(f"at the default intervals (×{scale:g}): median ≈ {scale:g} × {statistics.median(waits):.2f} s +"
          f" {pipeline:.2f} s = {scale * statistics.median(waits) + pipeline:.0f} s;"
          f" worst ≈ 180 + 120 + pipeline ≈ {300 + max(pipelines):.0f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--scale", type=float, default=100.0)
    args = parser.parse_args()
    asyncio.run(main(args.students, args.scale))
