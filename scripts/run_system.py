"""`make run` / `make demo`: the whole system on this machine.

Without GOOGLE_CREDENTIALS_FILE it also starts the Meet API emulator and creates a demo
academy whose class starts in a few seconds (a short class with scaled intervals, so a whole
lesson plays in a few minutes). `--demo` plays it to the end, prints attendance, bills and
payroll, and exits.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import sys
from datetime import UTC, datetime

import aiohttp

from scripts import demo as demo_academy
from scripts.report import print_logs, print_statements
from scripts.system import System, print_sink, readable

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/academy"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEMO_INTERVALS = {"TICK_INTERVAL_S": "1", "FETCH_INTERVAL_S": "15", "RETRY_INTERVAL_S": "10",
                  "FINALIZE_GRACE_S": "60", "CONSUMER_RETRY_DELAY_S": "2",
                  "LATE_THRESHOLD_S": "20", "EARLY_LEAVE_THRESHOLD_S": "20"}


def tokens() -> tuple[str, str]:
    """API_TOKENS from the environment, or fresh ones for this run; returns (setting, admin token)."""
    configured = os.environ.get("API_TOKENS")
    if configured:
        admin = next((t.split("=", 1)[1] for t in configured.split(",")
                      if t.strip().startswith(("admin=", "admin:"))), "")
        return configured, admin
    admin, billing, viewer = (secrets.token_urlsafe(12) for _ in range(3))
    return f"admin={admin},billing={billing},viewer={viewer}", admin


def quiet_sink(verbose: bool):
    def sink(name: str, line: str) -> None:
        text = readable(line)
        if verbose or text.startswith(("warning", "error", "critical")) or "Traceback" in text:
            print_sink(name, text)
    return sink


async def main(args: argparse.Namespace) -> int:
    api_tokens, admin = tokens()
    use_emulator = not os.environ.get("GOOGLE_CREDENTIALS_FILE")
    env = dict(DEMO_INTERVALS) if use_emulator else {}
    if sys.stderr.isatty():
        env["LOG_FORMAT"] = "json"  # we render it ourselves, prefixed by service
    system = System(
        database_url=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        amqp_url=os.environ.get("AMQP_URL", DEFAULT_AMQP_URL),
        api_tokens=api_tokens, env=env, with_emulator=use_emulator,
        sink=quiet_sink(verbose=not args.demo),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("starting the system…", flush=True)
    try:
        await system.start()
        headers = {"Authorization": f"Bearer {admin}"}
        print(f"\n  scheduler   {system.url('scheduler')}/api/schedule/classes?upcoming_only=false")
        print(f"  attendance  {system.url('attendance')}/monitoring/attendance-logs")
        today = datetime.now(UTC)
        print(f"  billing     {system.url('billing')}/monitoring/billing/families?year={today.year}&month={today.month}")
        print(f"  fetcher     {system.url('meet-fetcher')}/metrics")
        print(f"  tokens      API_TOKENS={api_tokens}")
        print(f"  try         curl -H 'Authorization: Bearer {admin}' {system.url('scheduler')}/monitoring/status\n")
        if use_emulator:
            async with aiohttp.ClientSession() as http:
                demo = await demo_academy.seed(
                    http, system.url("scheduler"), system.url("billing"), system.url("meet-emulator"), headers)
            print(f"demo class {demo.class_id} runs {demo.start:%H:%M:%S}–{demo.end:%H:%M:%S} UTC "
                  f"in {demo.space_name}; the Meet emulator plays its scenario\n", flush=True)
            if args.demo:
                return await play_to_the_end(system, demo, headers, stop)
        print("logs follow; Ctrl-C stops everything\n", flush=True)
        await stop.wait()
        return 0
    finally:
        print("\nstopping…", flush=True)
        codes = await system.stop()
        print("stopped: " + ", ".join(f"{name} ({code})" for name, code in codes.items()), flush=True)


async def play_to_the_end(system: System, demo, headers: dict[str, str], stop: asyncio.Event) -> int:
    attendance = system.url("attendance")
    timeout = (demo.end - demo.start).total_seconds() + 240
    print(f"playing the class to the end (about {int(timeout - 200)} s)…", flush=True)
    async with aiohttp.ClientSession(headers=headers) as http:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        logs: list[dict] = []
        while not stop.is_set():
            async with http.get(f"{attendance}/monitoring/attendance-logs", params={"class_id": demo.class_id}) as r:
                logs = (await r.json()).get("items", []) if r.status == 200 else []
            if logs and all(log.get("final") for log in logs):
                break
            if loop.time() > deadline:
                print("the class did not become final in time", file=sys.stderr)
                return 1
            await asyncio.sleep(2)
        await asyncio.sleep(2)  # let billing take the final events
        print_logs(logs)
        start = demo.start
        for path, title, key in (("/monitoring/billing/families", "Family bills", "families"),
                                 ("/monitoring/payroll/teachers", "Teacher payroll", "teachers")):
            async with http.get(system.url("billing") + path, params={"year": start.year, "month": start.month}) as r:
                print_statements(title, await r.json(), key)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", action="store_true", help="play the demo class to the end and exit")
    sys.exit(asyncio.run(main(parser.parse_args())))
