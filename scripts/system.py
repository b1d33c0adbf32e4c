"""Start the whole system as separate processes: the Meet emulator, the four services and the console.

Used by `make run` / `make demo` (scripts/run_system.py) and by the end-to-end and fault
tests, so what the tests exercise is what a newcomer runs.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import urllib.parse
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
import asyncpg

SERVICES = {  # name → (python module, default HTTP port)
    "meet-emulator": ("meet_emulator", 8090),
    "scheduler": ("scheduler", 8081),
    "attendance": ("attendance", 8082),
    "billing": ("billing", 8083),
    "meet-fetcher": ("meet_fetcher", 8084),
    "console": ("console", 8080),
}
APP_SERVICES = ("scheduler", "attendance", "billing", "meet-fetcher")  # on the bus, each with a schema
FRONTS = ("console",)  # HTTP only: no database, no broker
# What the console calls (its SCHEDULER_URL, ATTENDANCE_URL, BILLING_URL).
CONSOLE_UPSTREAMS = ("scheduler", "attendance", "billing")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def ensure_database(database_url: str) -> None:
    """Create the database named in the URL if it does not exist yet."""
    parts = urllib.parse.urlsplit(database_url)
    name = urllib.parse.unquote(parts.path.lstrip("/"))
    admin = await asyncpg.connect(urllib.parse.urlunsplit(parts._replace(path="/postgres")))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


class StartError(RuntimeError):
    """A process that did not start: its name, what happened, its last output lines."""

    def __init__(self, name: str, what: str, lines: list[str]):
        super().__init__(f"{name} {what}" + "".join(f"\n  {line}" for line in lines[-LAST_LINES:]))
        self.name, self.what, self.lines = name, what, lines


@dataclass
class Process:
    name: str
    module: str
    port: int
    env: dict[str, str]
    args: list[str] = field(default_factory=list)
    service: str = ""  # the service this process is a replica of (= name for the first one)
    proc: asyncio.subprocess.Process | None = None
    pump: asyncio.Task | None = None
    stopping: bool = False
    last_lines: deque[str] = field(default_factory=lambda: deque(maxlen=LAST_LINES))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


LogSink = Callable[[str, str], None]
CrashSink = Callable[[str, int, list[str]], None]  # (process, exit code, its last lines)
LAST_LINES = 12


def print_sink(name: str, line: str) -> None:
    print(f"{name:>13} | {line}", flush=True)


class System:
    """A process group. `await system.start()` returns once every process answers /healthz
    (and the app services /readyz); `await system.stop()` sends SIGTERM and waits.

    `replicas` runs more than one process of a service (named `scheduler`, `scheduler-2`, ...;
    extra replicas take free ports); `overrides` sets environment variables for every process
    of one service (e.g. its AMQP_URL pointing at a proxy); `on_exit` hears of a process that
    exits on its own once started (the others keep running)."""

    def __init__(self, *, database_url: str, amqp_url: str, api_tokens: str, env: dict[str, str] | None = None,
                 with_emulator: bool = True, ports: dict[str, int] | None = None, sink: LogSink = print_sink,
                 emulator_args: list[str] | None = None, replicas: dict[str, int] | None = None,
                 overrides: dict[str, dict[str, str]] | None = None, on_exit: CrashSink | None = None):
        self.database_url, self.amqp_url, self.sink, self.on_exit = database_url, amqp_url, sink, on_exit
        ports = ports or {}
        base_env = {**os.environ, "DATABASE_URL": database_url, "AMQP_URL": amqp_url,
                    "API_TOKENS": api_tokens, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.processes: dict[str, Process] = {}
        if with_emulator:
            port = ports.get("meet-emulator", SERVICES["meet-emulator"][1])
            self.processes["meet-emulator"] = Process(
                "meet-emulator", "meet_emulator", port, base_env,
                ["--port", str(port), *(emulator_args or [])])
            emulator = f"http://127.0.0.1:{port}/"
            base_env = {"MEET_API_ENDPOINT": emulator, "PEOPLE_API_ENDPOINT": emulator, **base_env}
        for service in (*APP_SERVICES, *FRONTS):
            module, default_port = SERVICES[service]
            for replica in range(1, (replicas or {}).get(service, 1) + 1):
                name = service if replica == 1 else f"{service}-{replica}"
                port = ports.get(name, default_port if replica == 1 else free_port())
                process_env = {**base_env, **(overrides or {}).get(service, {}), "HTTP_PORT": str(port)}
                self.processes[name] = Process(name, module, port, process_env, service=service)
        if "meet-emulator" in self.processes:
            self.processes["meet-emulator"].service = "meet-emulator"
        console = self.processes["console"]
        console.env = {**console.env, **{f"{api.upper()}_URL": self.url(api) for api in CONSOLE_UPSTREAMS}}

    def url(self, name: str) -> str:
        return self.processes[name].url

    def replicas(self, service: str) -> list[str]:
        """The names of the processes of one service."""
        return [p.name for p in self.processes.values() if p.service == service]

    async def start(self, timeout: float = 60.0) -> None:
        await ensure_database(self.database_url)
        # Migrate before starting so replicas never race on first boot (they could: it is locked).
        for name in APP_SERVICES:  # once per service, not per replica
            await self._run_once(self.processes[name], "migrate")
        for process in self.processes.values():
            await self.start_process(process.name)
        await asyncio.gather(*(self.wait_ready(name, timeout) for name in self.processes))

    async def _run_once(self, process: Process, *args: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", process.module, *args, env=process.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            output, _ = await proc.communicate()
        except asyncio.CancelledError:  # Ctrl-C while migrating: leave nothing behind
            proc.kill()
            await proc.wait()
            raise
        if proc.returncode != 0:
            raise StartError(process.name, f"{' '.join(args)} failed", output.decode(errors="replace").splitlines())

    async def start_process(self, name: str) -> None:
        process = self.processes[name]
        process.stopping = False
        # A session of its own: Ctrl-C in a terminal reaches only the launcher, which then stops
        # the processes in order (producers first) instead of all of them at once.
        process.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", process.module, *process.args, env=process.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        process.pump = asyncio.create_task(self._pump(process))

    async def _pump(self, process: Process) -> None:
        assert process.proc and process.proc.stdout
        async for raw in process.proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            process.last_lines.append(line)
            self.sink(process.name, line)
        code = await process.proc.wait()
        if not process.stopping and self.on_exit:
            self.on_exit(process.name, code, list(process.last_lines))

    async def wait_ready(self, name: str, timeout: float = 60.0) -> None:
        process = self.processes[name]
        path = "/healthz" if name == "meet-emulator" else "/readyz"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with aiohttp.ClientSession() as http:
            while True:
                if process.proc and process.proc.returncode is not None:
                    raise StartError(name, f"exited with {process.proc.returncode} while starting",
                                     list(process.last_lines))
                try:
                    async with http.get(process.url + path, timeout=aiohttp.ClientTimeout(total=2)) as response:
                        if response.status == 200:
                            return
                except (TimeoutError, aiohttp.ClientError):
                    pass
                if loop.time() > deadline:
                    raise StartError(name, f"was not ready within {timeout}s", list(process.last_lines))
                await asyncio.sleep(0.2)

    async def stop_process(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        process = self.processes[name]
        if process.proc is None or process.proc.returncode is not None:
            return process.proc.returncode if process.proc else None
        process.stopping = True
        process.proc.send_signal(sig)
        try:
            await asyncio.wait_for(process.proc.wait(), timeout)
        except TimeoutError:
            process.proc.kill()
            await process.proc.wait()
        if process.pump:
            await process.pump
        return process.proc.returncode

    async def kill(self, name: str) -> None:
        await self.stop_process(name, signal.SIGKILL)

    async def restart(self, name: str) -> None:
        await self.start_process(name)
        await self.wait_ready(name)

    async def stop(self) -> dict[str, int | None]:
        # The console (what people use) first, then producers, then consumers, the emulator last.
        order = ["console", "scheduler", "meet-fetcher", "attendance", "billing", "meet-emulator"]
        return {name: await self.stop_process(name) for service in order for name in self.replicas(service)}


def readable(line: str) -> str:
    """One JSON log line as `level event key=value ...` for people watching `make run`."""
    try:
        record = json.loads(line)
    except ValueError:
        return line
    if not isinstance(record, dict):
        return line
    level = record.pop("level", "info")
    event = record.pop("event", "")
    for key in ("timestamp", "service", "logger"):
        record.pop(key, None)
    rest = " ".join(f"{k}={v}" for k, v in record.items() if k != "exception")
    text = f"{level:<7} {event} {rest}".rstrip()
    if "exception" in record:
        text += "\n" + record["exception"]
    return text
