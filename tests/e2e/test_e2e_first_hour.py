"""The first hour of a newcomer, through the real scripts (`scripts.run_system` for `make
run` / `make demo`, `make reset`) as subprocesses on a database, a vhost and ports of their
own: whatever an earlier session left behind, the system starts, the demo academy is repaired
and `make demo` prints the same bills; a taken port or an unreachable PostgreSQL is one line
and an exit code with nothing left running; Ctrl-C stops every process, even while seeding.

The runs share one development state, in order: a Ctrl-C while seeding leaves a half-seeded
academy, the demo plays it, a `make run` session tampers with it, the demo plays again.
"""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import uuid

import aiohttp
import asyncpg
import pytest
import pytest_asyncio

from scripts.preflight import DEFAULT_PORTS, port_variable
from scripts.system import free_port
from tests.support.launch import Launch, alive, children, command_line

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(420)]

ADMIN_TOKEN = "first-hour-admin-0001"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
RUN = ("scripts.run_system", "--start-in", "3", "--minutes", "1")


def _server_url(base: str, path: str) -> str:
    scheme, rest = base.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}/{path}"


def _rabbitmqctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["rabbitmqctl", "-q", *args], check=False, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def dev(database_url, amqp_url):
    """The environment of a developer's shell: their own database, vhost and ports."""
    name = "firsthour_" + uuid.uuid4().hex[:8]
    ports = {service: free_port() for service in DEFAULT_PORTS}
    env = {**os.environ, "DATABASE_URL": _server_url(database_url, name),
           "AMQP_URL": _server_url(amqp_url, name.replace("_", "-")), "API_TOKENS": f"admin={ADMIN_TOKEN}",
           "RETRY_INTERVAL_S": "3", "LOG_FORMAT": "json",
           **{port_variable(service): str(port) for service, port in ports.items()}}
    env.pop("GOOGLE_CREDENTIALS_FILE", None)
    yield env
    _rabbitmqctl("delete_vhost", name.replace("_", "-"))
    asyncio.run(_drop(database_url, name))


async def _drop(database_url: str, name: str) -> None:
    admin = await asyncpg.connect(_server_url(database_url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest_asyncio.fixture(loop_scope="module", scope="module", autouse=True)
async def nothing_left_running():
    yield
    await Launch.tidy()


def url(env: dict[str, str], service: str) -> str:
    return f"http://127.0.0.1:{env[port_variable(service)]}"


def bills(launch: Launch) -> str:
    """What `make demo` prints from the family bills on."""
    text = launch.stdout
    assert "Family bills" in text, str(launch)
    return text[text.index("Family bills"):]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def one_line_failure(env: dict[str, str]) -> str:
    launch = await Launch.script(env, *RUN)
    assert await launch.done(60) == 1, str(launch)
    assert launch.stdout == "" and "Traceback" not in launch.stderr, str(launch)
    assert len(launch.err) == 1, str(launch)
    return launch.err[0]


async def test_a_taken_port_is_one_line_and_starts_nothing(dev):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", int(dev["ATTENDANCE_PORT"])))
        holder.listen()
        line = await one_line_failure(dev)
    port = dev["ATTENDANCE_PORT"]
    assert line.startswith(f"make run: port {port} (attendance) is taken by pid {os.getpid()} "), line
    assert line.endswith("set ATTENDANCE_PORT to a free port"), line
    assert not any(listening(int(dev[port_variable(s)])) for s in DEFAULT_PORTS), "something was started"


async def test_an_unreachable_postgresql_is_one_line(dev):
    closed = free_port()
    line = await one_line_failure({**dev, "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{closed}/academy"})
    assert line == (f"make run: PostgreSQL at 127.0.0.1:{closed} does not answer (connection refused): "
                    "start it (make infra starts a local one) or point DATABASE_URL at one")


async def test_a_bad_variable_is_one_line_naming_it(dev):
    line = await one_line_failure({**dev, "TICK_INTERVAL_S": "soon"})
    assert line.startswith("make run: TICK_INTERVAL_S: "), line


async def test_ctrl_c_while_seeding_stops_every_process(dev):
    launch = await Launch.script(dev, *RUN)
    await launch.until("seeding the demo academy")
    started = children(launch.proc.pid)
    assert len(started) == len(DEFAULT_PORTS), f"{started}\n{launch}"  # the emulator, four services, the console
    launch.interrupt()
    assert await launch.done(60) == 130, str(launch)
    assert not [pid for pid in started if alive(pid)], str(launch)
    assert "Traceback" not in launch.stderr, str(launch)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def first_demo(dev):
    launch = await Launch.script(dev, *RUN, "--demo")
    assert await launch.done() == 0, str(launch)
    return launch


async def test_the_demo_plays_to_bills(first_demo):
    text = bills(first_demo)
    for who in ("Byron family", "Somerville family", "Ada Lovelace", "total EUR"):
        assert who in text, text
    assert "provisional" not in text, text


async def tamper(env: dict[str, str]) -> None:
    """What an admin might do between two sessions, through the public API."""
    scheduler, billing = url(env, "scheduler"), url(env, "billing")
    async with aiohttp.ClientSession(headers=ADMIN) as http:
        async def call(method: str, path: str, body: dict | None = None, base: str = scheduler) -> dict:
            async with http.request(method, base + path, json=body) as response:
                assert response.status < 300, f"{method} {path}: {response.status} {await response.text()}"
                return await response.json()
        teacher = (await call("GET", "/api/teachers"))["items"][0]
        await call("PATCH", f"/api/teachers/{teacher['id']}", {"active": False, "name": "Someone Else"})
        families = (await call("GET", "/api/families"))["items"]
        students = (await call("GET", "/api/students"))["items"]
        await call("PATCH", f"/api/students/{students[0]['id']}", {"family_id": families[1]['id']})
        await call("POST", f"/api/students/{students[2]['id']}/deactivate")
        await call("POST", f"/api/families/{families[1]['id']}/deactivate")
        await call("PATCH", f"/api/families/{families[0]['id']}", {"name": "Renamed family"})
        upcoming = (await call("GET", "/api/schedule/classes"))["items"]
        for lesson in upcoming:
            if lesson["phase"] == "scheduled":
                await call("POST", f"/api/schedule/classes/{lesson['id']}/cancel")
        await call("PUT", f"/billing/rates/families/{families[0]['id']}",
                   {"hourly_rate_cents": 99999, "currency": "EUR", "effective_from": "2000-01-01T00:00:00Z"},
                   base=billing)


async def test_a_tampered_demo_is_repaired_and_prints_the_same_bills(dev, first_demo):
    session = await Launch.script(dev, "scripts.run_system", "--start-in", "60")
    await session.until("logs follow")
    await tamper(dev)
    fetcher = next(pid for pid in children(session.proc.pid) if b"meet_fetcher" in command_line(pid))
    os.kill(fetcher, signal.SIGKILL)
    await session.until("meet-fetcher stopped on its own (exit code -9); its last lines:")
    async with aiohttp.ClientSession() as http, http.get(url(dev, "scheduler") + "/readyz") as response:
        assert response.status == 200, "the other services keep running"
    session.interrupt()
    assert await session.done(60) == 130, str(session)

    again = await Launch.script(dev, *RUN, "--demo")
    assert await again.done() == 0, str(again)
    assert "warning: demo:" not in again.stderr, str(again)
    assert bills(again) == bills(first_demo)


async def test_reset_then_run_is_a_fresh_demo(dev, first_demo):
    refused = await Launch.start(dev, "make", "-s", "reset", stdin=b"no\n")
    assert await refused.done(60) != 0 and "nothing deleted" in refused.stdout, str(refused)
    database, vhost = dev["DATABASE_URL"].rsplit("/", 1)[1], dev["AMQP_URL"].rsplit("/", 1)[1]
    reset = await Launch.start(dev, "make", "-s", "reset", "YES=1")
    assert await reset.done(120) == 0, str(reset)
    assert f"deletes the PostgreSQL database '{database}'" in reset.stdout, str(reset)
    assert f"RabbitMQ vhost '{vhost}'" in reset.stdout, str(reset)
    assert vhost not in _rabbitmqctl("list_vhosts").stdout.split()

    fresh = await Launch.script(dev, *RUN)
    await fresh.until("demo class 1 runs")
    fresh.interrupt()
    assert await fresh.done(60) == 130, str(fresh)
