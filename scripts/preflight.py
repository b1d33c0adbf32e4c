"""Pre-flight for `make run`, `make demo` and `make test`: before anything starts, every
problem as one line naming the cause and the fix (a port taken, PostgreSQL or RabbitMQ not
answering, a bad environment variable, a Python too old), and a non-zero exit.

`python -m scripts.preflight` checks what `make test` needs (Python, the servers);
`run_system` also checks its ports and the services' settings.
"""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

import aiormq
import asyncpg
from pydantic import ValidationError

MIN_PYTHON = (3, 11)
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/academy"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/academy"  # a vhost of its own: `make reset` drops it
DEFAULT_PORTS = {"meet-emulator": 8090, "scheduler": 8081, "attendance": 8082, "billing": 8083,
                 "meet-fetcher": 8084, "console": 8080}
CONNECT_TIMEOUT_S = 5.0


def port_variable(service: str) -> str:
    """The variable that moves a service's port: SCHEDULER_PORT, MEET_EMULATOR_PORT, ..."""
    return service.upper().replace("-", "_") + "_PORT"


def python_problem(version: tuple[int, ...] = tuple(sys.version_info)) -> str | None:
    if tuple(version[:2]) >= MIN_PYTHON:
        return None
    need = ".".join(map(str, MIN_PYTHON))
    return (f"Python {'.'.join(map(str, version[:3]))} is too old: {need} or newer is needed "
            f"(make PYTHON=python{need} ..., then make clean)")


def port_settings(env: Mapping[str, str]) -> tuple[dict[str, int], list[str]]:
    """The port of every process ({service: port}) from the *_PORT variables, and the problems."""
    ports, problems = {}, []
    for service, default in DEFAULT_PORTS.items():
        variable = port_variable(service)
        raw = env.get(variable, "").strip()
        if not raw:
            ports[service] = default
        elif raw.isdigit() and 1 <= int(raw) <= 65535:
            ports[service] = int(raw)
        else:
            problems.append(f"{variable} is not a port number (1-65535)")
    taken: dict[int, str] = {}
    for service, port in ports.items():
        if port in taken:
            problems.append(f"{port_variable(taken[port])} and {port_variable(service)} are both {port}: "
                            "give each its own port")
        taken.setdefault(port, service)
    return ports, problems


def settings_problems(env: Mapping[str, str]) -> list[str]:
    """What the services would refuse at start, one line per variable (values never repeated)."""
    from console.settings import Settings as Console

    from attendance.settings import Settings as Attendance
    from billing.settings import Settings as Billing
    from meet_fetcher.settings import Settings as Fetcher
    from scheduler.settings import Settings as Scheduler

    problems: list[str] = []
    for cls in (Scheduler, Attendance, Billing, Fetcher, Console):
        values = {name: env[name.upper()] for name in cls.model_fields
                  if name.upper() in env and name != "http_port"}
        try:
            cls(**values)
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(p) for p in error["loc"]).upper() or "settings"
                line = f"{where}: {error['msg'].removeprefix('Value error, ')}"
                if line not in problems:
                    problems.append(line)
    return problems


def port_message(service: str, port: int, owner: str | None) -> str:
    by = f" by {owner}" if owner else ""
    return f"port {port} ({service}) is taken{by}: stop it, or set {port_variable(service)} to a free port"


def port_taken(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def port_owner(port: int) -> str | None:
    """`pid 123 (python3)` for a process of this user listening on the port, if Linux tells."""
    sockets = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not sockets:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in sockets for fd in (proc / "fd").iterdir()):
                return f"pid {proc.name} ({(proc / 'comm').read_text().strip()})"
        except OSError:
            continue
    return None


def port_problems(host: str, ports: Mapping[str, int]) -> list[str]:
    return [port_message(service, port, port_owner(port))
            for service, port in ports.items() if port_taken(host, port)]


def _where(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.hostname or '?'}:{parts.port or '?'}"


def database_of(database_url: str) -> str:
    return urllib.parse.unquote(urllib.parse.urlsplit(database_url).path.lstrip("/"))


def describe(database_url: str, amqp_url: str) -> str:
    return (f"PostgreSQL database {database_of(database_url)!r} at {_where(database_url)}, "
            f"RabbitMQ vhost {vhost_of(amqp_url)!r} at {_where(amqp_url)}")


def vhost_of(amqp_url: str) -> str:
    path = urllib.parse.urlsplit(amqp_url).path
    return urllib.parse.unquote(path[1:]) if len(path) > 1 else "/"


async def postgres_problem(database_url: str) -> str | None:
    """None when the server answers (the database itself is created at start if missing)."""
    parts = urllib.parse.urlsplit(database_url)
    if parts.scheme not in ("postgresql", "postgres"):
        return "DATABASE_URL is not a postgresql:// URL"
    try:
        conn = await asyncpg.connect(urllib.parse.urlunsplit(parts._replace(path="/postgres")),
                                     timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        return (f"PostgreSQL at {_where(database_url)} does not answer ({_reason(exc)}): start it "
                "(make infra starts a local one) or point DATABASE_URL at one")
    await conn.close()
    return None


async def _amqp_answers(amqp_url: str) -> None:
    connection = await asyncio.wait_for(aiormq.connect(amqp_url), CONNECT_TIMEOUT_S)
    await connection.close()


async def rabbitmq_problem(amqp_url: str, *, create_vhost: bool = False) -> str | None:
    """None when the broker lets us in; a missing vhost is created when asked (the dev one)."""
    if urllib.parse.urlsplit(amqp_url).scheme not in ("amqp", "amqps"):
        return "AMQP_URL is not an amqp:// URL"
    try:
        await _amqp_answers(amqp_url)
        return None
    except aiormq.exceptions.ProbableAuthenticationError:
        return f"RabbitMQ at {_where(amqp_url)} refused the user and password in AMQP_URL: fix AMQP_URL"
    except aiormq.exceptions.InvalidFrameError:  # the broker closes the connection: no such vhost
        vhost = vhost_of(amqp_url)
        if create_vhost and add_vhost(vhost, urllib.parse.urlsplit(amqp_url).username or "guest"):
            return await rabbitmq_problem(amqp_url)
        return (f"RabbitMQ at {_where(amqp_url)} has no vhost {vhost!r} for this user: "
                f"rabbitmqctl add_vhost {vhost}, or fix AMQP_URL")
    except (OSError, TimeoutError, aiormq.exceptions.AMQPError) as exc:
        return (f"RabbitMQ at {_where(amqp_url)} does not answer ({_reason(exc)}): start it "
                "(make infra starts a local one) or point AMQP_URL at one")


def add_vhost(vhost: str, user: str) -> bool:
    """Create a vhost with rabbitmqctl (present where the broker runs locally)."""
    try:
        for args in (["add_vhost", vhost], ["set_permissions", "-p", vhost, user, ".*", ".*", ".*"]):
            subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer in {CONNECT_TIMEOUT_S:.0f} s"
    if isinstance(exc, ConnectionRefusedError) or "111" in str(exc) or "refused" in str(exc).lower():
        return "connection refused"
    return type(exc).__name__


async def servers_problems(database_url: str, amqp_url: str, *, create_vhost: bool = False) -> list[str]:
    found = await asyncio.gather(postgres_problem(database_url),
                                 rabbitmq_problem(amqp_url, create_vhost=create_vhost))
    return [problem for problem in found if problem]


def report(command: str, problems: list[str]) -> int:
    """Print each problem as one line; the exit code."""
    for problem in problems:
        print(f"{command}: {problem}", file=sys.stderr)
    return 1 if problems else 0


def main() -> int:
    """What `make test` needs: a recent Python and the two servers its fixtures use."""
    problems = [p for p in [python_problem()] if p]
    database = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    amqp = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    problems += asyncio.run(servers_problems(database, amqp))
    return report("make test", problems)


if __name__ == "__main__":
    sys.exit(main())
