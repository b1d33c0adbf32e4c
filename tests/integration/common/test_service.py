"""The bootstrap as users meet it: HTTP auth and errors, health, migrations, SIGTERM drain."""
from __future__ import annotations

import asyncio
import os
import signal
import sys

import aiohttp
import pytest

from academy_common.bus import Bus
from academy_common.db import COMMON_MIGRATIONS, migrate
from academy_common.events import new_event
from tests.support import sample_service
from tests.support.services import delete_queues
from tests.support.waiting import eventually, queue_depth

TOKENS = "admin=test-admin-token-0001,viewer=test-viewer-token-001,billing=test-billing-token-01"


@pytest.fixture
async def service(database_url, amqp_url, unique, monkeypatch):
    monkeypatch.setenv("API_TOKENS", TOKENS)
    settings = sample_service.Settings(database_url=database_url, amqp_url=amqp_url, http_port=0,
                                       sample_schema=unique, sample_prefix=unique, queue_prefix=f"{unique}.",
                                       http_host="127.0.0.1",
                                       outbox_poll_s=0.1)
    service = sample_service.build(settings)
    await service.start()
    yield service
    await service.stop()
    await delete_queues(settings)


@pytest.fixture
async def http(service):
    async with aiohttp.ClientSession(f"http://127.0.0.1:{service.port}") as session:
        yield session


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_health_ready_and_metrics_need_no_token(http):
    assert (await http.get("/healthz")).status == 200
    ready = await http.get("/readyz")
    assert ready.status == 200 and (await ready.json())["checks"] == {"broker": True, "database": True}
    metrics = await http.get("/metrics")
    assert metrics.status == 200 and "http_requests_total" in await metrics.text()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "test-admin-token-0001"}])
async def test_missing_or_wrong_token_is_401_problem(http, headers):
    response = await http.get("/things", headers=headers)
    assert response.status == 401
    assert response.content_type == "application/problem+json"
    assert (await response.json())["status"] == 401


async def test_wrong_role_is_403(http):
    response = await http.post("/things", json={"name": "x"}, headers=auth("test-viewer-token-001"))
    assert response.status == 403 and response.content_type == "application/problem+json"
    assert (await http.get("/things", headers=auth("test-viewer-token-001"))).status == 200
    assert (await http.get("/things", headers=auth("test-billing-token-01"))).status == 403


@pytest.mark.parametrize("body,status", [
    (b"{not json", 400), (b'{"name": ""}', 422), (b'{"name": 5}', 422), (b"[]", 422), (b"\xff\xfe", 400),
])
async def test_bad_input_is_a_problem_and_stores_nothing(http, service, body, status):
    response = await http.post("/things", data=body, headers={**auth("test-admin-token-0001"), "Content-Type": "application/json"})
    assert response.status == status
    problem = await response.json()
    assert response.content_type == "application/problem+json"
    assert problem["status"] == status and problem["title"] and "Traceback" not in problem.get("detail", "")
    assert await service.pool.fetchval("SELECT count(*) FROM things") == 0


@pytest.mark.parametrize("body", [b'{"name": "a\\u0000b"}', b'{"name\\u0000": "x", "name": "y"}', b"[" * 100_000])
async def test_nul_characters_and_deep_nesting_are_refused_not_500(http, service, body):
    response = await http.post("/things", data=body, headers={**auth("test-admin-token-0001"), "Content-Type": "application/json"})
    assert response.status in (400, 422) and response.content_type == "application/problem+json"
    assert await service.pool.fetchval("SELECT count(*) FROM things") == 0


async def test_unknown_route_and_method_are_problems(http):
    assert (await http.get("/nowhere", headers=auth("test-admin-token-0001"))).status == 404
    response = await http.delete("/things", headers=auth("test-admin-token-0001"))
    assert response.status == 405 and response.content_type == "application/problem+json"


async def test_state_change_and_its_event_leave_together(http, service, unique):
    channel = await service.bus.connection.channel()
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(service.settings.bus_exchange, f"{unique}.thing.created")
    response = await http.post("/things", json={"name": "Chalk"}, headers=auth("test-admin-token-0001"))
    assert response.status == 201
    message = await queue.get(timeout=5, fail=False) or await _wait_get(queue)
    assert b'"Chalk"' in message.body
    await channel.close()


async def _wait_get(queue):
    for _ in range(100):
        message = await queue.get(fail=False)
        if message:
            return message
        await asyncio.sleep(0.05)
    raise AssertionError("no event")


async def test_concurrent_migrations_apply_each_file_once(database_url, unique, tmp_path):
    (tmp_path / "001_a.sql").write_text("CREATE TABLE a (id int);")
    (tmp_path / "002_b.sql").write_text("CREATE TABLE b (id int);")
    results = await asyncio.gather(*(migrate(database_url, unique, tmp_path) for _ in range(4)))
    applied = sorted(name for result in results for name in result)
    common = [f"common/{path.name}" for path in sorted(COMMON_MIGRATIONS.glob("*.sql"))]
    assert "common/001_outbox.sql" in common
    assert applied == [*common, "service/001_a.sql", "service/002_b.sql"]
    assert await migrate(database_url, unique, tmp_path) == []


async def test_sigterm_during_a_handler_loses_nothing(database_url, amqp_url, unique):
    env = {**os.environ, "DATABASE_URL": database_url, "AMQP_URL": amqp_url, "HTTP_PORT": "0",
           "SAMPLE_SCHEMA": unique, "SAMPLE_PREFIX": unique, "QUEUE_PREFIX": f"{unique}.", "SLOW_S": "1.5", "LOG_FORMAT": "json"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.sample_service", env=env,
        stderr=asyncio.subprocess.PIPE, cwd=os.getcwd())
    lines: list[str] = []

    async def read_logs():
        async for line in process.stderr:
            lines.append(line.decode())

    reader = asyncio.create_task(read_logs())
    try:
        await eventually(lambda: any("service started" in l for l in lines), timeout=20)
        bus = await Bus.connect(amqp_url)
        event = new_event(f"{unique}.slow", {}, source="/test")
        await bus.publish(event)
        await eventually(lambda: any("slow handler started" in l for l in lines), timeout=20)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
        assert any("draining in-flight messages" in l for l in lines), "".join(lines)
        assert await queue_depth(bus.connection, f"{unique}.{unique}.slow") == 0
        await bus.close()
    finally:
        if process.returncode is None:
            process.kill()
        await reader
    import asyncpg
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetchval(f'SELECT count(*) FROM "{unique}".things WHERE name = $1', f"slow:{event.id}")
    finally:
        await conn.close()
    assert rows == 1
