"""A run of the whole system in a database and exchange of its own (fault runs, and e2e
modules that must not see another module's directory or events): a fresh database, and in the
test session's vhost an exchange and queue names of the run's own."""
from __future__ import annotations

import urllib.parse
import uuid
from dataclasses import dataclass

import asyncpg
import pytest_asyncio

from tests.support.story import WORK_QUEUES


def _with_path(url: str, path: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(path, safe="")))


@dataclass
class Isolation:
    """A fresh database, and an exchange and queue names of its own in the run's vhost."""
    database_url: str
    amqp_url: str
    name: str

    @property
    def exchange(self) -> str:
        return f"{self.name}.events"

    @property
    def env(self) -> dict[str, str]:
        return {"BUS_EXCHANGE": self.exchange, "QUEUE_PREFIX": f"{self.name}."}

    def queue(self, name: str) -> str:
        return f"{self.name}.{name}"

    @property
    def work_queues(self) -> list[str]:
        """Every work queue of the run and its retry queue."""
        return [self.queue(name) for q in WORK_QUEUES for name in (q, f"{q}.retry")]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def isolation(database_url, amqp_url):
    name = "run_" + uuid.uuid4().hex[:8]
    yield Isolation(_with_path(database_url, name), amqp_url, name)
    admin = await asyncpg.connect(_with_path(database_url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
