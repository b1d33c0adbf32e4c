"""Console pages bench: p50/p95 render time of every console page against the demo academy.

    .venv/bin/python -m bench.console_pages [--rounds 40]

Starts the whole system (scripts/system.py, a database and exchange of its own), seeds the demo
academy, waits until its class is final, signs in as admin and fetches each page `--rounds`
times, one request at a time, timing each to the last byte. Target: p95 < 200 ms per page.
"""
from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import time
import uuid

import aiohttp
import asyncpg

from scripts import demo as demo_academy
from scripts.system import SERVICES, System, free_port

TOKEN = "bench-console-admin-token"
FAST = {"TICK_INTERVAL_S": "0.5", "FETCH_INTERVAL_S": "4", "RETRY_INTERVAL_S": "2", "FINALIZE_GRACE_S": "20",
        "LATE_THRESHOLD_S": "5", "EARLY_LEAVE_THRESHOLD_S": "5", "OUTBOX_POLL_S": "0.2", "LOG_FORMAT": "json"}
TARGET_MS = 200.0


def pages(class_id: int, period: str) -> list[str]:
    return ["/today", "/today/board", f"/classes/{class_id}", "/unmatched", f"/month?period={period}",
            f"/month/{period}/families/1", "/rates/families/1", "/directory", "/directory?show=students"]


async def signed_in(http: aiohttp.ClientSession, console: str) -> None:
    async with http.get(f"{console}/sign-in") as response:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', await response.text())[1]
    async with http.post(f"{console}/sign-in", data={"csrf_token": csrf, "token": TOKEN}) as response:
        assert response.status == 200, response.status


async def final(http: aiohttp.ClientSession, attendance: str, class_id: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    headers = {"Authorization": f"Bearer {TOKEN}"}
    while time.monotonic() < deadline:
        async with http.get(f"{attendance}/monitoring/attendance-logs", params={"class_id": class_id},
                            headers=headers) as response:
            items = (await response.json())["items"]
        if items and all(log["final"] for log in items):
            return
        await asyncio.sleep(1)
    raise SystemExit("the demo class did not become final")


async def measure(console: str, paths: list[str], rounds: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {path: [] for path in paths}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await signed_in(http, console)
        for path in paths:  # a warm-up round
            async with http.get(console + path) as response:
                assert response.status == 200, (path, response.status)
        for _ in range(rounds):
            for path in paths:
                started = time.perf_counter()
                async with http.get(console + path) as response:
                    await response.read()
                timings[path].append((time.perf_counter() - started) * 1000)
    return timings


async def main(rounds: int) -> int:
    name = "bench_console_" + uuid.uuid4().hex[:8]
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    database_url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    system = System(database_url=database_url, amqp_url="amqp://guest:guest@127.0.0.1:5672/",
                    api_tokens=f"admin={TOKEN}", env={**FAST, "BUS_EXCHANGE": f"{name}.events",
                                                      "QUEUE_PREFIX": f"{name}."},
                    ports={service: free_port() for service in SERVICES}, sink=lambda *_: None)
    try:
        await system.start()
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession() as http:
            demo = await demo_academy.seed(http, system.url("scheduler"), system.url("billing"),
                                           system.url("meet-emulator"), headers, start_in_s=3, minutes=1)
            await final(http, system.url("attendance"), demo.class_id)
        timings = await measure(system.url("console"), pages(demo.class_id, f"{demo.start:%Y-%m}"), rounds)
    finally:
        await system.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print(f"console pages, demo academy, {rounds} sequential requests each (ms to the last byte):")
    print(f"{'page':<32} {'p50':>7} {'p95':>7} {'max':>7}")
    worst = 0.0
    for path, values in timings.items():
        p95 = statistics.quantiles(values, n=20)[-1]
        worst = max(worst, p95)
        print(f"{path:<32} {statistics.median(values):7.1f} {p95:7.1f} {max(values):7.1f}")
    print(f"worst p95 {worst:.1f} ms; target < {TARGET_MS:.0f} ms: {'met' if worst < TARGET_MS else 'NOT met'}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    raise SystemExit(asyncio.run(main(parser.parse_args().rounds)))
