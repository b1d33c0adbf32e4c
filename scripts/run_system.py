"""`make run` / `make demo`: the whole system on this machine.

Without GOOGLE_CREDENTIALS_FILE it also starts the Meet API emulator and makes the demo
academy exist as designed (repairing what an earlier session changed), with a class that
starts in a few seconds (a short class with scaled intervals, so a whole lesson plays in a
few minutes). `--demo` plays it to the end, prints attendance, bills and payroll, and exits.

Before starting anything, scripts/preflight.py checks ports, servers and settings; each
problem is one line and a non-zero exit. Ctrl-C stops everything, at any moment.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp

from scripts import demo as demo_academy
from scripts import preflight
from scripts.report import for_class, print_logs, print_statements
from scripts.system import StartError, System, print_sink, readable

DEMO_INTERVALS = {"TICK_INTERVAL_S": "1", "FETCH_INTERVAL_S": "15", "RETRY_INTERVAL_S": "10",
                  "FINALIZE_GRACE_S": "60", "CONSUMER_RETRY_DELAY_S": "2",
                  "LATE_THRESHOLD_S": "20", "EARLY_LEAVE_THRESHOLD_S": "20"}
RESET_HINT = "if the local state looks damaged, `make reset` deletes it and the next `make run` starts afresh"


def tokens(env: Mapping[str, str]) -> tuple[str, str]:
    """API_TOKENS from the environment, or fresh ones for this run; returns (setting, admin token)."""
    configured = env.get("API_TOKENS")
    if configured:
        admin = next((t.split("=", 1)[1].strip() for t in configured.split(",")
                      if t.strip().startswith(("admin=", "admin:")) and "=" in t), "")
        return configured, admin
    admin, billing, viewer = (secrets.token_urlsafe(18) for _ in range(3))
    return f"admin={admin},billing={billing},viewer={viewer}", admin


@dataclass
class Plan:
    """What this run will start, read from the environment."""
    database_url: str
    amqp_url: str
    api_tokens: str
    admin: str
    env: dict[str, str]
    ports: dict[str, int]
    use_emulator: bool


def plan(environ: Mapping[str, str]) -> tuple[Plan, list[str]]:
    """The run's settings and the problems found in them (no I/O)."""
    api_tokens, admin = tokens(environ)
    use_emulator = not environ.get("GOOGLE_CREDENTIALS_FILE")
    # Demo pacing, unless the user set a variable themselves.
    env = {k: v for k, v in DEMO_INTERVALS.items() if k not in environ} if use_emulator else {}
    ports, problems = preflight.port_settings(environ)
    if not use_emulator:
        ports.pop("meet-emulator")
    problems += preflight.settings_problems({**environ, **env, "API_TOKENS": api_tokens})
    if use_emulator and not admin:
        problems.append("API_TOKENS has no admin token, which the demo academy needs: add admin=<token>")
    return Plan(environ.get("DATABASE_URL", preflight.DEFAULT_DATABASE_URL),
                environ.get("AMQP_URL", preflight.DEFAULT_AMQP_URL), api_tokens, admin, env, ports,
                use_emulator), problems


async def check(run: Plan, environ: Mapping[str, str]) -> list[str]:
    """Everything that would stop the start, each as one line."""
    problems = [p for p in [preflight.python_problem()] if p]
    problems += preflight.port_problems(environ.get("HTTP_HOST") or "127.0.0.1", run.ports)
    # A missing vhost of our own is created (after `make reset`, say); the default one never is.
    own_vhost = preflight.vhost_of(run.amqp_url) != "/"
    return problems + await preflight.servers_problems(run.database_url, run.amqp_url, create_vhost=own_vhost)


def quiet_sink(verbose: bool):
    def sink(name: str, line: str) -> None:
        text = readable(line)
        if verbose or text.startswith(("warning", "error", "critical")) or "Traceback" in text:
            print_sink(name, text)
    return sink


def report_exit(name: str, code: int, lines: list[str]) -> None:
    """A process that died on its own: which one, why, and that the rest still run."""
    print(f"\n{name} stopped on its own (exit code {code}); its last lines:", file=sys.stderr)
    for line in lines:
        print(f"  {readable(line)}", file=sys.stderr)
    print("the other services keep running; Ctrl-C stops them\n", file=sys.stderr, flush=True)


def print_urls(system: System, run: Plan) -> None:
    today = datetime.now(UTC)
    print(f"\n  console     {system.url('console')}/  (sign in with a token below; the demo class is on Today)")
    print(f"  scheduler   {system.url('scheduler')}/api/schedule/classes?upcoming_only=false")
    print(f"  attendance  {system.url('attendance')}/monitoring/attendance-logs")
    print(f"  billing     {system.url('billing')}/monitoring/billing/families?year={today.year}&month={today.month}")
    print(f"  fetcher     {system.url('meet-fetcher')}/metrics")
    print(f"  API docs    {system.url('scheduler')}/docs  (every service serves its own at /docs)")
    print(f"  tokens      API_TOKENS={run.api_tokens}")
    print(f"  try         curl -H 'Authorization: Bearer {run.admin}' {system.url('scheduler')}/monitoring/status\n",
          flush=True)


async def session(system: System, run: Plan, args: argparse.Namespace) -> int:
    """Start, seed, then wait for Ctrl-C (or, with --demo, play the class to the end)."""
    await system.start()
    print_urls(system, run)
    headers = {"Authorization": f"Bearer {run.admin}"}
    if run.use_emulator:
        print("seeding the demo academy…", flush=True)
        async with aiohttp.ClientSession() as http:
            demo = await demo_academy.seed(
                http, system.url("scheduler"), system.url("billing"), system.url("meet-emulator"), headers,
                start_in_s=args.start_in, minutes=args.minutes, warn=warn)
        if demo is None:
            print("the services run without a demo class: the APIs above work", flush=True)
            warn(RESET_HINT)
            if args.demo:
                return 1
        else:
            print(f"demo class {demo.class_id} runs {demo.start:%H:%M:%S}–{demo.end:%H:%M:%S} UTC "
                  f"in {demo.space_name}; the Meet emulator plays its scenario\n", flush=True)
            if args.demo:
                return await play_to_the_end(system, demo, headers)
    print("logs follow; Ctrl-C stops everything\n", flush=True)
    await asyncio.Event().wait()  # until Ctrl-C cancels the session
    return 0


def warn(line: str) -> None:
    print(f"warning: {line}", file=sys.stderr, flush=True)


async def main(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> int:
    command = "make demo" if args.demo else "make run"
    run, problems = plan(environ)
    if problems or (problems := await check(run, environ)):
        return preflight.report(command, problems)
    system = System(database_url=run.database_url, amqp_url=run.amqp_url, api_tokens=run.api_tokens,
                    env=run.env, with_emulator=run.use_emulator, ports=run.ports,
                    sink=quiet_sink(verbose=not args.demo), on_exit=report_exit)
    print(f"starting the system ({preflight.describe(run.database_url, run.amqp_url)})…", flush=True)
    work = asyncio.create_task(session(system, run, args))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, work.cancel)
    try:
        return await work
    except asyncio.CancelledError:
        return 130
    except StartError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        warn(RESET_HINT)
        return 1
    except Exception as exc:  # a launcher ends in one line, never a traceback
        print(f"{command}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        warn(RESET_HINT)
        return 1
    finally:
        say("\nstopping…")
        codes = await system.stop()
        say("stopped: " + ", ".join(f"{name} ({code})" for name, code in codes.items()))


def say(line: str) -> None:
    """Print, unless the terminal or pipe is gone: stopping the services must not depend on it."""
    try:
        print(line, flush=True)
    except OSError:
        pass


async def demo_statements(http: aiohttp.ClientSession, billing: str, path: str, key: str, demo) -> dict:
    """The demo month's report with every statement (walking the pages) cut down to the demo class."""
    statements, after, report = [], 0, {}
    while after is not None:
        params = {"year": demo.start.year, "month": demo.start.month, "after": after}
        async with http.get(billing + path, params=params) as response:
            report = await response.json()
        statements += report.get(key, [])
        after = report.get("next_after")
    return {**report, key: for_class(statements, demo.class_id)}


async def play_to_the_end(system: System, demo, headers: dict[str, str]) -> int:
    attendance, billing = system.url("attendance"), system.url("billing")
    timeout = (demo.end - demo.start).total_seconds() + 240
    print(f"playing the class to the end (about {int(timeout - 200)} s)…", flush=True)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with aiohttp.ClientSession(headers=headers) as http:
        while True:
            async with http.get(f"{attendance}/monitoring/attendance-logs", params={"class_id": demo.class_id}) as r:
                logs = (await r.json()).get("items", []) if r.status == 200 else []
            families = await demo_statements(http, billing, "/monitoring/billing/families", "families", demo)
            lines = [line for statement in families["families"] for line in statement["lines"]]
            if logs and all(log.get("final") for log in logs) and lines and not any(
                    line.get("provisional") for line in lines):
                break  # attendance final, and billing has taken it
            if loop.time() > deadline:
                print("the class did not become final in time", file=sys.stderr)
                return 1
            await asyncio.sleep(1)
        print_logs(logs)
        print_statements("Family bills", families, "families")
        payroll = await demo_statements(http, billing, "/monitoring/payroll/teachers", "teachers", demo)
        print_statements("Teacher payroll", payroll, "teachers")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", action="store_true", help="play the demo class to the end and exit")
    parser.add_argument("--start-in", type=float, default=15, help="seconds until the demo class starts (15)")
    parser.add_argument("--minutes", type=int, default=2, help="the demo class's length in minutes (2)")
    try:
        sys.exit(asyncio.run(main(parser.parse_args())))
    except KeyboardInterrupt:  # Ctrl-C during the pre-flight, before anything started
        sys.exit(130)
