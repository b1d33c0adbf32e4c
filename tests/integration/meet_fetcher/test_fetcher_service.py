"""The fetcher as SREs see it: health, readiness, metrics, `python -m meet_fetcher migrate`."""
from __future__ import annotations

import asyncio
import os
import sys

import aiohttp
import asyncpg

from tests.integration.meet_fetcher.fetcher_support import fetch_request


async def test_health_readiness_and_fetch_metrics(emu, fetcher, publish, observer):
    emu.load({"conferences": [{"space": "spaces/m1", "start": "-5m", "participants": [
        {"kind": "signedin", "user_id": "5001", "email": "mo@school.org", "display_name": "Mo"}]}]})
    await publish(fetch_request("spaces/m1", reason="manual"))
    await observer.next()
    async with aiohttp.ClientSession(f"http://127.0.0.1:{fetcher.port}") as http:
        assert (await http.get("/healthz")).status == 200
        ready = await http.get("/readyz")
        assert ready.status == 200 and (await ready.json())["checks"] == {"broker": True, "database": True}
        metrics = await (await http.get("/metrics")).text()
        openapi = await http.get("/openapi.yaml")
        assert openapi.status == 200 and "/metrics" in await openapi.text()
    assert 'meet_fetches_total{outcome="ok",reason="manual"}' in metrics
    assert "meet_calls_per_fetch_bucket" in metrics
    assert 'meet_api_calls_total{method="conferenceRecords.list",status="200"}' in metrics
    assert 'meet_api_calls_total{method="people.getBatchGet",status="200"}' in metrics
    assert "meet_api_call_seconds_bucket" in metrics and "meet_quota_wait_seconds_count" in metrics


async def test_migrate_command_creates_the_schema(database_url, unique):
    env = {**os.environ, "DATABASE_URL": database_url, "DB_SCHEMA": unique, "LOG_FORMAT": "json"}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "meet_fetcher", "migrate", env=env,
                                                   stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    conn = await asyncpg.connect(database_url)
    try:
        tables = {r["table_name"] for r in await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", unique)}
    finally:
        await conn.close()
    assert {"snapshots", "emails", "rate_limits"} <= tables
