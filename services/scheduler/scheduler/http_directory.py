"""/api/teachers, /api/families, /api/students: admin writes, viewer and billing read.

Every change is stored with its `<kind>.upserted` event in one transaction (outbox).
"""
from __future__ import annotations

import structlog
from aiohttp import web
from pydantic import BaseModel

from academy_common import outbox, pagination
from academy_common.http import JsonBody, json_response, path_int, read_json, read_query, requires
from academy_common.pagination import DEFAULT_LIMIT, Cursor, Limit
from scheduler import directory_repo, messages
from scheduler.directory import KINDS, STUDENT, Changes, Entry, Kind, apply
from scheduler.fields import Email, Flag, Id, Name, QueryId
from scheduler.web import decode_cursor, refusals_as_problems, scheduler

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


class NewEntry(JsonBody):
    name: Name
    email: Email


class NewStudent(NewEntry):
    family_id: Id


class EntryPatch(JsonBody):
    name: Name | None = None
    email: Email | None = None
    active: Flag | None = None


class StudentPatch(EntryPatch):
    family_id: Id | None = None


class EntryQuery(BaseModel):
    active: bool | None = None
    limit: Limit = DEFAULT_LIMIT
    cursor: Cursor | None = None


class StudentQuery(EntryQuery):
    family_id: QueryId | None = None


def _shown(entry: Entry) -> dict:
    """The upserted payload, plus the plain `id` REST clients expect."""
    return {"id": entry.id, **entry.payload()}


async def _create(request: web.Request, kind: Kind) -> web.Response:
    body = await read_json(request, NewStudent if kind is STUDENT else NewEntry)
    service = scheduler(request)
    async with service.pool.acquire() as conn, conn.transaction():
        entry = await directory_repo.add(conn, kind, name=body.name, email=body.email,
                                         family_id=getattr(body, "family_id", None))
        await outbox.enqueue(conn, messages.upserted(entry, service.clock()))
    log.info(f"{kind.name} created", **{kind.id_key: entry.id})
    return json_response(_shown(entry), status=201, location=f"/api/{kind.plural}/{entry.id}")


async def _change(request: web.Request, kind: Kind, changes: Changes) -> web.Response:
    entry_id = path_int(request, "id")
    service = scheduler(request)
    async with service.pool.acquire() as conn, conn.transaction():
        entry = await directory_repo.get(conn, kind, entry_id, for_update=True)
        changed = apply(entry, changes)
        if changed is not None:
            await _store_change(conn, entry, changed)
            await outbox.enqueue(conn, messages.upserted(changed, service.clock()))
            log.info(f"{kind.name} changed", **{kind.id_key: entry_id}, version=changed.version)
    return json_response(_shown(changed or entry))


async def _store_change(conn, before: Entry, after: Entry) -> None:
    if after.kind is STUDENT and after.family_id != before.family_id:
        await directory_repo.check_family(conn, after.family_id)
    await directory_repo.save(conn, after)


def _register(kind: Kind) -> None:
    collection, item = f"/api/{kind.plural}", f"/api/{kind.plural}/{{id}}"
    patch_model = StudentPatch if kind is STUDENT else EntryPatch
    query_model = StudentQuery if kind is STUDENT else EntryQuery

    @routes.post(collection)
    @requires("admin")
    @refusals_as_problems
    async def create(request: web.Request) -> web.Response:
        return await _create(request, kind)

    @routes.get(collection)
    @requires("viewer", "billing")
    async def listing(request: web.Request) -> web.Response:
        query = read_query(request, query_model)
        (after,) = decode_cursor(query.cursor, int) if query.cursor else (0,)
        async with scheduler(request).pool.acquire() as conn:
            entries = await directory_repo.find(conn, kind, active=query.active, after=after, limit=query.limit + 1,
                                                family_id=getattr(query, "family_id", None))
        return json_response(pagination.page(entries, query.limit, _shown, lambda e: (e.id,)).as_json())

    @routes.get(item)
    @requires("viewer", "billing")
    @refusals_as_problems
    async def one(request: web.Request) -> web.Response:
        async with scheduler(request).pool.acquire() as conn:
            entry = await directory_repo.get(conn, kind, path_int(request, "id"))
        return json_response(_shown(entry))

    @routes.patch(item)
    @requires("admin")
    @refusals_as_problems
    async def patch(request: web.Request) -> web.Response:
        body = await read_json(request, patch_model)
        return await _change(request, kind, Changes(**body.model_dump(exclude_none=True)))

    @routes.post(f"{item}/deactivate")
    @requires("admin")
    @refusals_as_problems
    async def deactivate(request: web.Request) -> web.Response:
        return await _change(request, kind, Changes(active=False))


for _kind in KINDS:
    _register(_kind)
