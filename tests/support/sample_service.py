"""A minimal service on academy_common, used to test the bootstrap as a real process.

POST /things {"name": ...} (admin) stores a row and emits `<prefix>.thing.created` through
the outbox; it consumes `<prefix>.slow` with a handler that sleeps SLOW_S before committing.
Every service declares the whole topology when it starts, so each start takes a QUEUE_PREFIX of
its own: another run's queues in the same vhost may carry other arguments (retry TTL).
"""
from __future__ import annotations

import asyncio
from pathlib import Path

import structlog
from aiohttp import web
from pydantic import BaseModel, Field

from academy_common import outbox
from academy_common.events import new_event
from academy_common.http import json_response, read_json, requires
from academy_common.service import SERVICE_KEY, Service, run
from academy_common.settings import ServiceSettings, load_settings

MIGRATIONS = Path(__file__).with_name("sample_migrations")
routes = web.RouteTableDef()
log = structlog.get_logger(__name__)


class Settings(ServiceSettings):
    sample_schema: str = "sample"
    sample_prefix: str = "sample"
    slow_s: float = 1.0


class NewThing(BaseModel):
    name: str = Field(min_length=1, max_length=100)


@routes.post("/things")
@requires("admin")
async def create_thing(request: web.Request) -> web.Response:
    body = await read_json(request, NewThing)
    service: Service = request.app[SERVICE_KEY]
    async with service.pool.acquire() as conn, conn.transaction():
        thing_id = await conn.fetchval("INSERT INTO things (name) VALUES ($1) RETURNING id", body.name)
        await outbox.enqueue(conn, new_event(f"{service.settings.sample_prefix}.thing.created",
                                             {"id": thing_id, "name": body.name}, source="/sample"))
    return json_response({"id": thing_id, "name": body.name}, status=201)


@routes.get("/things")
@requires("viewer")
async def list_things(request: web.Request) -> web.Response:
    rows = await request.app[SERVICE_KEY].pool.fetch("SELECT id, name FROM things ORDER BY id")
    return json_response([dict(r) for r in rows])


def build(settings: Settings | None = None) -> Service:
    settings = settings or load_settings(Settings)
    service = Service(settings, name="sample", schema=settings.sample_schema, migrations=MIGRATIONS,
                      routes=routes)

    async def slow(conn, event) -> None:
        log.info("slow handler started")  # tests stop the service once this is printed
        await asyncio.sleep(settings.slow_s)
        await conn.execute("INSERT INTO things (name) VALUES ($1)", f"slow:{event.id}")

    service.subscribe(f"{settings.sample_prefix}.slow", [f"{settings.sample_prefix}.slow"], slow)
    return service


if __name__ == "__main__":
    run(build)
