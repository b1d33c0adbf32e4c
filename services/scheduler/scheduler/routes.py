"""HTTP API: the directory (/api/teachers, /api/families, /api/students), classes (/api/schedule/classes)
and /monitoring (manual syncs, the jobs' status). Read and validate, call a use case, render."""
from __future__ import annotations

import functools
from datetime import datetime, timedelta

from aiohttp import web
from pydantic import BaseModel, Field

from academy_common import pagination
from academy_common.events import Instant, rfc3339
from academy_common.http import (
    Handler,
    JsonBody,
    Problem,
    StartRange,
    json_response,
    path_int,
    read_json,
    read_query,
    requires,
)
from academy_common.pagination import DEFAULT_LIMIT, Cursor, Limit
from academy_common.service import SERVICE_KEY
from scheduler import usecases
from scheduler.classes import ClassChanges, Plan
from scheduler.directory import KINDS, STUDENT, Changes, Entry, Kind
from scheduler.errors import Conflict, Invalid, NotFound, Rejected
from scheduler.fields import Count, Email, Flag, Id, MeetingCode, Name, QueryId

routes = web.RouteTableDef()

_STATUS = {NotFound: 404, Invalid: 422, Conflict: 409}


def context(request: web.Request) -> usecases.Context:
    return request.app[SERVICE_KEY]  # type: ignore[return-value]


def refusals_as_problems(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Rejected as exc:
            raise Problem(_STATUS[type(exc)], exc.title, exc.detail) from None

    return wrapped


def decode_cursor(cursor: str, *kinds: type) -> tuple:
    """A list's cursor as its key; 422 for one this API did not hand out."""
    try:
        return pagination.decode(cursor, *kinds)
    except pagination.BadCursor as exc:
        raise Problem(422, "Unprocessable Content", f"cursor: {exc}") from None


# -- directory -------------------------------------------------------------------------------

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
    entry = await usecases.add_entry(context(request), kind, name=body.name, email=body.email,
                                     family_id=getattr(body, "family_id", None))
    return json_response(_shown(entry), status=201, location=f"/api/{kind.plural}/{entry.id}")


async def _change(request: web.Request, kind: Kind, changes: Changes) -> web.Response:
    entry = await usecases.change_entry(context(request), kind, path_int(request, "id"), changes)
    return json_response(_shown(entry))


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
        entries = await usecases.find_entries(context(request), kind, active=query.active, after=after,
                                              limit=query.limit + 1, family_id=getattr(query, "family_id", None))
        return json_response(pagination.page(entries, query.limit, _shown, lambda e: (e.id,)).as_json())

    @routes.get(item)
    @requires("viewer", "billing")
    @refusals_as_problems
    async def one(request: web.Request) -> web.Response:
        return json_response(_shown(await usecases.get_entry(context(request), kind, path_int(request, "id"))))

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


# -- classes ---------------------------------------------------------------------------------

class NewClass(JsonBody):
    title: Name
    teacher_id: Id
    student_ids: list[Id] = Field(max_length=500)
    start: Instant
    duration_minutes: Count
    meeting_code: MeetingCode | None = None

    def plan(self) -> Plan:
        return Plan(self.title, self.teacher_id, tuple(self.student_ids), self.start, self.duration_minutes)


class ClassPatch(JsonBody):
    title: Name | None = None
    teacher_id: Id | None = None
    student_ids: list[Id] | None = Field(default=None, max_length=500)
    start: Instant | None = None
    duration_minutes: Count | None = None

    def changes(self) -> ClassChanges:
        given = self.model_dump(exclude_none=True)
        if "student_ids" in given:
            given["student_ids"] = tuple(given["student_ids"])
        return ClassChanges(**given)


class ClassQuery(StartRange):
    upcoming_only: bool = True
    teacher_id: QueryId | None = None
    limit: Limit = DEFAULT_LIMIT
    cursor: Cursor | None = None


@routes.post("/api/schedule/classes")
@requires("admin")
@refusals_as_problems
async def create_class(request: web.Request) -> web.Response:
    body = await read_json(request, NewClass)
    view = await usecases.schedule_class(context(request), body.plan(), body.meeting_code)
    return json_response(view, status=201, location=f"/api/schedule/classes/{view['id']}")


@routes.get("/api/schedule/classes")
@requires("viewer", "billing")
async def list_classes(request: web.Request) -> web.Response:
    query = read_query(request, ClassQuery)
    after = decode_cursor(query.cursor, datetime, int) if query.cursor else None
    views = await usecases.class_views(context(request), upcoming_only=query.upcoming_only,
                                       teacher_id=query.teacher_id, start_from=query.start_from,
                                       start_to=query.start_to, after=after, limit=query.limit + 1)
    return json_response(pagination.page(views, query.limit, lambda v: v,
                                         lambda v: (datetime.fromisoformat(v["scheduled_start"]), v["id"])).as_json())


@routes.get("/api/schedule/classes/{id}")
@requires("viewer", "billing")
@refusals_as_problems
async def show_class(request: web.Request) -> web.Response:
    return json_response(await usecases.class_view(context(request), path_int(request, "id")))


@routes.patch("/api/schedule/classes/{id}")
@requires("admin")
@refusals_as_problems
async def update_class(request: web.Request) -> web.Response:
    body = await read_json(request, ClassPatch)
    return json_response(await usecases.update_class(context(request), path_int(request, "id"), body.changes()))


@routes.post("/api/schedule/classes/{id}/cancel")
@requires("admin")
@refusals_as_problems
async def cancel_class(request: web.Request) -> web.Response:
    return json_response(await usecases.cancel_class(context(request), path_int(request, "id")))


# -- monitoring ------------------------------------------------------------------------------

@routes.post("/monitoring/sync-participants/{class_id}")
@requires("admin")
@refusals_as_problems
async def sync_participants(request: web.Request) -> web.Response:
    emitted = await usecases.sync_participants(context(request), path_int(request, "class_id"))
    return json_response({"requested": [emitted.describe()]}, status=202)


@routes.post("/monitoring/sync-all-active")
@requires("admin")
async def sync_all_active(request: web.Request) -> web.Response:
    requested = await usecases.sync_all_active(context(request))
    return json_response({"requested": [emitted.describe() for emitted in requested]}, status=202)


@routes.get("/monitoring/status")
@requires("viewer", "billing")
async def status(request: web.Request) -> web.Response:
    ctx = context(request)
    settings, state = ctx.settings, await usecases.jobs_status(ctx)
    run = state.last_run
    return json_response({
        "now": rfc3339(state.now),
        "jobs": [{
            "name": "ticker",
            "does": "starts and ends class sessions, requests active, final and retry fetches",
            "tick_interval_s": settings.tick_interval_s,
            "fetch_interval_s": settings.fetch_interval_s,
            "retry_interval_s": settings.retry_interval_s,
            "retry_max_gap_s": settings.retry_max_gap_s,
            "retry_window_days": settings.retry_window_days,
            "last_run_started_at": rfc3339(run["started_at"]) if run else None,
            "last_run_finished_at": rfc3339(run["finished_at"]) if run else None,
            "last_run_classes": run["classes"] if run else None,
            "last_run_emitted": run["emitted"] if run else None,
            "next_run_at": rfc3339(run["started_at"] + timedelta(seconds=settings.tick_interval_s)) if run else None,
            "last_fetch_requested_at": {reason: rfc3339(at) for reason, at in state.last_requests.items()},
        }],
        "classes": state.phase_counts,
        "failed_class_ids": state.failed_class_ids,
    })
