"""Each service in-process, isolated, with what bad-input tests need around it.

`started(name, ...)` runs one of the four services against the real PostgreSQL and RabbitMQ
(scheduler and fetcher against the Meet emulator) with its background churn slowed down, so a
snapshot of its schema changes only when a request or an event changes it.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import yaml

import attendance.app
import billing.app
import meet_fetcher.app
import scheduler.app
from academy_common.service import Service
from attendance.settings import Settings as AttendanceSettings
from billing.settings import Settings as BillingSettings
from meet_fetcher.settings import Settings as FetcherSettings
from scheduler.settings import Settings as SchedulerSettings
from tests.support.services import isolated_settings, running
from tests.support.waiting import eventually

SERVICES = ("scheduler", "attendance", "billing", "meet-fetcher")
_BUILD = {"scheduler": (scheduler.app.build, SchedulerSettings),
          "attendance": (attendance.app.build, AttendanceSettings),
          "billing": (billing.app.build, BillingSettings),
          "meet-fetcher": (meet_fetcher.app.build, FetcherSettings)}
_PACKAGE_DIR = {"scheduler": scheduler.app, "attendance": attendance.app, "billing": billing.app,
                "meet-fetcher": meet_fetcher.app}
# Tables whose rows change without any input: the ticker's bookkeeping, the fetcher's rate limiter,
# the processed-event marks (checked where events are the input) and the outbox (rows leave it
# once relayed; every insert is recorded in OUTBOX_LOG instead).
VOLATILE = {"job_runs", "rate_limits", "processed_events", "outbox"}
OUTBOX_LOG = "badinput_outbox_log"


def openapi_path(name: str) -> Path:
    return Path(_PACKAGE_DIR[name].__file__).with_name("openapi.yaml")


def openapi(name: str) -> dict:
    return yaml.safe_load(openapi_path(name).read_text())


@asynccontextmanager
async def started(name: str, *, database_url: str, amqp_url: str, unique: str, meet_url: str | None = None,
                  **overrides) -> AsyncIterator[Service]:
    build, settings_cls = _BUILD[name]
    if name in ("scheduler", "meet-fetcher"):
        overrides = {"meet_api_endpoint": meet_url, "people_api_endpoint": meet_url,
                     "meet_api_retry_attempts": 2, "meet_api_retry_initial_s": 0.01,
                     "meet_api_retry_budget_s": 1, **overrides}
    if name == "scheduler":
        overrides.setdefault("tick_interval_s", 3600)  # one tick at start, none during the test
    settings = isolated_settings(settings_cls, database_url=database_url, amqp_url=amqp_url, unique=unique,
                                 **overrides)
    async with running(build, settings) as service:
        async with service.pool.acquire() as conn:
            await _record_outbox_inserts(conn)
        await eventually(Snapshots(service).settled, timeout=10, interval=0.2)
        yield service


async def _record_outbox_inserts(conn: asyncpg.Connection) -> None:
    if await conn.fetchval("SELECT to_regclass('outbox') IS NULL"):
        return
    await conn.execute(f"""
        CREATE TABLE {OUTBOX_LOG} (event_id text, routing_key text);
        CREATE FUNCTION {OUTBOX_LOG}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO {OUTBOX_LOG} VALUES (NEW.event_id, NEW.routing_key); RETURN NEW; END $$;
        CREATE TRIGGER {OUTBOX_LOG} AFTER INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION {OUTBOX_LOG}();
    """)


class Snapshots:
    """A fingerprint of every stable table of the service's schema (row count and content hash)."""

    def __init__(self, service: Service, *, volatile: set[str] = VOLATILE):
        self.service, self.volatile = service, volatile
        self._last: dict | None = None

    async def take(self) -> dict[str, tuple[int, str]]:
        async with self.service.pool.acquire() as conn:
            tables = [t for t in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1")
                if t["tablename"] not in self.volatile]
            query = " UNION ALL ".join(
                f"SELECT '{t['tablename']}', count(*), md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), ''))"
                f" FROM \"{t['tablename']}\" x" for t in tables)
            return {row[0]: (row[1], row[2]) for row in await conn.fetch(query)} if tables else {}

    async def settled(self) -> bool:
        """True once two consecutive snapshots agree (start-up jobs are done)."""
        now = await self.take()
        same, self._last = now == self._last, now
        return same
