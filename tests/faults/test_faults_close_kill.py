"""A billing process SIGKILLed in the middle of closing a month: the month is never half
closed, the restarted process resumes the job, and its checksum is that of a clean close."""
from __future__ import annotations

import json
import os
import signal
from datetime import UTC, datetime

import aiohttp
import asyncpg
import pytest

from academy_common.db import create_pool, migrate
from bench import billing_month as month_data
from billing.app import HERE
from billing.settings import Settings
from billing.usecases import request_close, run_close_job
from tests.support.launch import Launch
from tests.support.services import BILLING, TEST_TOKENS, delete_queues, isolated_settings
from tests.support.waiting import eventually

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]

LINES, FAMILIES, TEACHERS = 100_000, 1_000, 200
PERIOD = str(month_data.MONTH)


async def load_month(database_url: str, schema: str) -> None:
    """The bench's month (same seed: the same lines), every family priced so that it may close."""
    await migrate(database_url, schema, HERE / "migrations")
    pool = await create_pool(database_url, schema, max_size=6)
    try:
        async with pool.acquire() as conn:
            await month_data.load(conn, LINES, FAMILIES, TEACHERS)
            await conn.execute("INSERT INTO rates (party, party_id, effective_from, hourly_rate_cents, currency, "
                               "updated_by) SELECT 'family', f, '2020-01-01', 0, 'EUR', 'test' "
                               "FROM generate_series(100, $1, 100) AS f", FAMILIES)
            await conn.execute("UPDATE attendance_lines SET (rate_cents, currency) = (0, 'EUR') WHERE rate_cents IS NULL")
    finally:
        await pool.close()


async def clean_close(database_url: str, schema: str) -> str:
    """The checksum of the same month closed without faults, in this process."""
    await load_month(database_url, schema)
    settings = Settings(academy_timezone=month_data.TIMEZONE)
    pool = await create_pool(database_url, schema, max_size=6)
    try:
        job = await request_close(pool, month_data.MONTH, settings.timezone, by="billing", now=datetime.now(UTC))
        assert await run_close_job(pool, job["job_id"], chunk=50, progress_every_s=1)
        async with pool.acquire() as conn:
            return await conn.fetchval("SELECT checksum FROM close_jobs WHERE job_id = $1", job["job_id"])
    finally:
        await pool.close()


def billing_env(settings: Settings) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": settings.database_url, "DB_SCHEMA": settings.db_schema,
            "AMQP_URL": settings.amqp_url, "BUS_EXCHANGE": settings.bus_exchange,
            "QUEUE_PREFIX": settings.queue_prefix, "BUS_QUEUE_TYPE": "classic", "HTTP_PORT": "0",
            "HTTP_HOST": "127.0.0.1", "API_TOKENS": ",".join(f"{r}={t}" for t, r in TEST_TOKENS.items()),
            "ACADEMY_TIMEZONE": month_data.TIMEZONE, "EXPORT_CHUNK_SIZE": "50", "CLOSE_JOB_POLL_S": "0.1",
            "CLOSE_JOB_PROGRESS_S": "0.05", "LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}


async def started(launch: Launch) -> str:
    """The base URL of a billing process once it serves (it listens on a port of its own choice)."""
    await launch.until("service started")
    line = next(line for line in launch.out + launch.err if "service started" in line)
    return f"http://127.0.0.1:{json.loads(line)['http_port']}"


async def job_of(http: aiohttp.ClientSession, location: str) -> dict:
    async with http.get(location, headers=BILLING) as response:
        assert response.status == 200
        return await response.json()


async def test_a_close_killed_midway_is_resumed_and_equals_a_clean_close(database_url, amqp_url, unique):
    settings = isolated_settings(Settings, database_url=database_url, amqp_url=amqp_url, unique=unique)
    await load_month(database_url, unique)
    env = billing_env(settings)
    db = await asyncpg.connect(database_url, server_settings={"search_path": unique})
    first = await Launch.script(env, "billing")
    try:
        async with aiohttp.ClientSession() as http:
            base = await started(first)
            async with http.post(f"{base}/billing/periods/{PERIOD}/close", headers=BILLING) as response:
                assert response.status == 202, await response.text()
                path = response.headers["Location"]

            async def midway() -> bool:
                job = await job_of(http, base + path)
                assert job["state"] == "running", job  # the kill must land before the job ends
                return 0 < job["lines_done"] < job["lines_total"]

            await eventually(midway, timeout=60, interval=0.01)
            first.kill()
            assert await first.done() == -signal.SIGKILL

            # Nothing of the close is visible: the month is open, the job still running.
            assert await db.fetchval("SELECT count(*) FROM periods") == 0
            assert await db.fetchval("SELECT count(*) FROM period_statements") == 0
            assert await db.fetchval("SELECT state FROM close_jobs") == "running"

            second = await Launch.script(env, "billing")
            base = await started(second)
            await eventually(lambda: _done(http, base + path), timeout=120, interval=0.1)
            job = await job_of(http, base + path)
            assert "close job resumed" in second.stdout + second.stderr
            async with http.get(f"{base}/billing/periods/{PERIOD}", headers=BILLING) as response:
                period = await response.json()
            assert period["status"] == "closed" and period["checksum"] == job["checksum"]
            assert await db.fetchval("SELECT runs FROM close_jobs") >= 2
            second.interrupt()
            await second.done()
        assert job["checksum"] == await clean_close(database_url, f"{unique}_clean")
    finally:
        await Launch.tidy()
        for schema in (unique, f"{unique}_clean"):
            await db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await db.close()
        await delete_queues(settings)


async def _done(http: aiohttp.ClientSession, location: str) -> bool:
    job = await job_of(http, location)
    assert job["state"] != "failed", job
    return job["state"] == "done"
