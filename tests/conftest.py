"""Fixtures shared by every test: a fresh PostgreSQL database and RabbitMQ vhost per run.

`DATABASE_URL` / `AMQP_URL` name the servers (defaults: the local services). Each test run
creates its own database and vhost and removes them afterwards, so runs never see each
other's data; within a run each test uses its own schema and queue names.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import urllib.parse
import uuid
import warnings
from collections.abc import Iterator

import asyncpg
import pytest

BASE_DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BASE_AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
RUN_ID = uuid.uuid4().hex[:10]


def _with_path(url: str, path: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(path, safe="")))


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_with_path(BASE_DATABASE_URL, "postgres"), timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    name = f"test_{RUN_ID}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL at {BASE_DATABASE_URL} is not usable ({exc}); start it (see README)")
    yield _with_path(BASE_DATABASE_URL, name)
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _descendants(pid: int) -> list[int]:
    children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True,
                              check=False).stdout
    return [grandchild for child in map(int, children.split()) for grandchild in (child, *_descendants(child))]


def _rabbitmqctl(*args: str, timeout: float = 120) -> None:
    """Run rabbitmqctl; on timeout kill it with everything it started.

    rabbitmqctl is `su` → `sh` (a session of its own) → an Erlang VM: killing `su` alone leaves
    the VM holding one of the ten distribution ports CLI tools share, and once all ten are held
    every later call fails with `nodistribution`."""
    with subprocess.Popen(["rabbitmqctl", "-q", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for pid in [*_descendants(process.pid), process.pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            process.communicate()
            raise
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, ["rabbitmqctl", *args], stderr=stderr)


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    vhost = f"test-{RUN_ID}"
    if shutil.which("rabbitmqctl") is None:
        pytest.fail("rabbitmqctl is needed to create a test vhost (or run the tests where RabbitMQ runs)")
    user = urllib.parse.urlsplit(BASE_AMQP_URL).username or "guest"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    yield _with_path(BASE_AMQP_URL, vhost)
    try:
        _rabbitmqctl("delete_vhost", vhost)
    except subprocess.TimeoutExpired:  # the broker is slow to drop many queues; it finishes alone
        warnings.warn(f"RabbitMQ is still deleting vhost {vhost}")


@pytest.fixture
def unique() -> str:
    """A short name unique to this test, for schemas and queues."""
    return "t" + uuid.uuid4().hex[:8]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI (`CI` set) a skipped test is a failure: a skip there means a tool the suite needs
    (kubectl, kustomize) is missing or hung, and the run would pass without testing it."""
    if not os.environ.get("CI"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter.write_line(f"CI is set and {len(skipped)} test(s) skipped: failing the run (see the skip reasons)",
                            red=True)
