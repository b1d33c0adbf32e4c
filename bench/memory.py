"""Memory: resident set size of every process of the system, idle and under the ingest load.

    .venv/bin/python -m bench.memory [--classes 200] [--participants 10] [--rounds 3]

Starts the whole system as processes (as bench.freshness does: the Meet emulator and the four
services, own database, exchange and queues), reads VmRSS from /proc/<pid>/status once every
process is ready and has sat idle for a few seconds, then publishes the bench.ingest load
(class.scheduled for M classes, then M·R participant snapshots) onto the system's exchange:
attendance ingests it and billing projects the attendance events it publishes. VmRSS is
sampled every 100 ms until attendance has committed every snapshot and billing has caught
up; VmHWM (the kernel's peak RSS of the process) is read at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import time

import asyncpg

from academy_common.bus import Bus
from bench.freshness import AMQP_URL, exchange, isolated_system, scaled_env
from bench.ingest import Load, publish_all
from scripts.system import System


def status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(f"{field} not in /proc/{pid}/status")


def pids(system: System) -> dict[str, int]:
    return {name: process.proc.pid for name, process in system.processes.items()}


async def processed(system: System, schema: str, consumer: str) -> int:
    conn = await asyncpg.connect(system.database_url)
    try:
        return await conn.fetchval(f'SELECT count(*) FROM "{schema}".processed_events WHERE consumer = $1', consumer)
    finally:
        await conn.close()


async def billing_idle(system: System) -> bool:
    """Billing has taken every attendance event out of its queue and its outbox is empty."""
    conn = await asyncpg.connect(system.database_url)
    try:
        return await conn.fetchval("SELECT count(*) FROM billing.outbox") == 0
    finally:
        await conn.close()


async def load_and_sample(system: System, load: Load, timeout: float = 150.0) -> tuple[dict[str, int], float]:
    """Publish the load; the largest VmRSS sampled per process while attendance ingests it."""
    bus = await Bus.connect(AMQP_URL, exchange=exchange(system))
    peaks = {name: 0 for name in system.processes}
    started = time.perf_counter()
    publishing = asyncio.create_task(publish_all(
        bus, [load.class_scheduled(c) for c in range(1, load.classes + 1)] + load.snapshots_in_poll_order()))
    try:
        expected = load.classes + load.snapshots
        settled_since = None
        while True:
            for name, pid in pids(system).items():
                peaks[name] = max(peaks[name], status_kib(pid, "VmRSS"))
            done = publishing.done() and await processed(system, "attendance", "attendance.events") >= expected
            if done and await billing_idle(system):
                settled_since = settled_since or time.perf_counter()
                if time.perf_counter() - settled_since > 1.0:  # billing's last events
                    break
            if time.perf_counter() - started > timeout:
                raise SystemExit("attendance did not ingest the load in time")
            await asyncio.sleep(0.1)
        await publishing
    finally:
        await bus.close(drain_timeout=1)
    return peaks, time.perf_counter() - started


def mib(kib: int) -> str:
    return f"{kib / 1024:7.1f} MiB"


async def main(load: Load) -> None:
    async with isolated_system(scaled_env(100)) as system:
        await asyncio.sleep(5)  # idle: the ticker ticks, nothing to do
        idle = {name: status_kib(pid, "VmRSS") for name, pid in pids(system).items()}
        peaks, seconds = await load_and_sample(system, load)
        hwm = {name: status_kib(pid, "VmHWM") for name, pid in pids(system).items()}
    print(f"ingest load: {load.classes} classes, {load.snapshots} snapshots, {load.sessions:,} participant sessions"
          f" (ingested in {seconds:.1f} s, with billing projecting the resulting events)")
    print(f"{'process':14s} {'idle VmRSS':>12s} {'load VmRSS max':>16s} {'VmHWM':>12s}")
    for name in system.processes:
        print(f"{name:14s} {mib(idle[name]):>12s} {mib(peaks[name]):>16s} {mib(hwm[name]):>12s}")
    total_idle, total_peak = sum(idle.values()), sum(peaks.values())
    print(f"{'all five':14s} {mib(total_idle):>12s} {mib(total_peak):>16s}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=200)
    parser.add_argument("--participants", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(Load(args.classes, args.participants, args.rounds)))
