"""/api/schedule/classes: schedule, list, show, update (before start) and cancel classes.

Creating a class talks to the Meet API first, outside any transaction: a failed call stores
nothing. The checks then run again under the teacher's lock, with the class and its
class.scheduled event written in one transaction.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import asyncpg
import structlog
from aiohttp import web
from pydantic import BaseModel, Field

from academy_common import outbox, pagination
from academy_common.events import Instant
from academy_common.http import JsonBody, json_response, path_int, read_json, read_query, requires
from academy_common.pagination import DEFAULT_LIMIT, Cursor, Limit
from scheduler import classes_repo, messages
from scheduler.classes import (
    ClassChanges,
    Plan,
    StudentRef,
    TeacherRef,
    cancel,
    check_editable,
    check_no_overlap,
    check_roster,
    check_timing,
    realize,
    revise,
)
from scheduler.errors import NotFound
from scheduler.fields import Count, Id, MeetingCode, Name, QueryId
from scheduler.meet import obtain_space
from scheduler.web import decode_cursor, refusals_as_problems, scheduler

if TYPE_CHECKING:
    from scheduler.app import Scheduler

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


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


class ClassQuery(BaseModel):
    upcoming_only: bool = True
    teacher_id: QueryId | None = None
    limit: Limit = DEFAULT_LIMIT
    cursor: Cursor | None = None


async def _check(conn: asyncpg.Connection, plan: Plan, service: Scheduler, *,
                 exclude: int | None = None) -> tuple[TeacherRef, dict[int, StudentRef]]:
    """Every rule a plan must pass; returns the roster it names."""
    check_timing(plan, service.clock(), service.settings.start_tolerance_s)
    teacher, students = await classes_repo.load_refs(conn, plan)
    check_roster(plan, teacher, students)
    check_no_overlap(plan, await classes_repo.clashes(conn, plan, exclude=exclude))
    return teacher, students


@routes.post("/api/schedule/classes")
@requires("admin")
@refusals_as_problems
async def create_class(request: web.Request) -> web.Response:
    body = await read_json(request, NewClass)
    plan = body.plan()
    service = scheduler(request)
    async with service.pool.acquire() as conn:
        teacher, _ = await _check(conn, plan, service)
    space = await obtain_space(service.meet, body.meeting_code, teacher.email)
    async with service.pool.acquire() as conn, conn.transaction():
        await classes_repo.lock_teacher(conn, plan.teacher_id)
        teacher, students = await _check(conn, plan, service)
        class_id = await classes_repo.add(conn, plan, space)
        cls = realize(plan, class_id=class_id, version=1, space=space, teacher=teacher, students=students)
        await outbox.enqueue(conn, messages.class_changed("class.scheduled", cls, service.clock()))
    log.info("class scheduled", class_id=class_id, space_name=space.name, start=plan.start.isoformat())
    return json_response(await _view(request, class_id), status=201, location=f"/api/schedule/classes/{class_id}")


@routes.get("/api/schedule/classes")
@requires("viewer", "billing")
async def list_classes(request: web.Request) -> web.Response:
    query = read_query(request, ClassQuery)
    after = decode_cursor(query.cursor, datetime, int) if query.cursor else None
    service = scheduler(request)
    async with service.pool.acquire() as conn:
        views = await classes_repo.views(conn, service.clock(), _retry_window(request),
                                         upcoming_only=query.upcoming_only, teacher_id=query.teacher_id,
                                         after=after, limit=query.limit + 1)
    return json_response(pagination.page(views, query.limit, lambda v: v,
                                         lambda v: (datetime.fromisoformat(v["scheduled_start"]), v["id"])).as_json())


@routes.get("/api/schedule/classes/{id}")
@requires("viewer", "billing")
@refusals_as_problems
async def show_class(request: web.Request) -> web.Response:
    return json_response(await _view(request, path_int(request, "id")))


@routes.patch("/api/schedule/classes/{id}")
@requires("admin")
@refusals_as_problems
async def update_class(request: web.Request) -> web.Response:
    body = await read_json(request, ClassPatch)
    class_id = path_int(request, "id")
    service = scheduler(request)
    async with service.pool.acquire() as conn, conn.transaction():
        current, started = await classes_repo.get(conn, class_id, for_update=True)
        now = service.clock()
        check_editable(current, started, now)
        plan = revise(current, body.changes())
        if plan != current.plan:
            await classes_repo.lock_teacher(conn, plan.teacher_id)
            teacher, students = await _check(conn, plan, service, exclude=class_id)
            cls = realize(plan, class_id=class_id, version=current.version + 1, space=current.space,
                          teacher=teacher, students=students)
            await classes_repo.save(conn, cls)
            await outbox.enqueue(conn, messages.class_changed("class.updated", cls, now))
            log.info("class updated", class_id=class_id, version=cls.version)
    return json_response(await _view(request, class_id))


@routes.post("/api/schedule/classes/{id}/cancel")
@requires("admin")
@refusals_as_problems
async def cancel_class(request: web.Request) -> web.Response:
    class_id = path_int(request, "id")
    service = scheduler(request)
    async with service.pool.acquire() as conn, conn.transaction():
        current, started = await classes_repo.get(conn, class_id, for_update=True)
        now = service.clock()
        cancelled = cancel(current, started, now)
        if cancelled is not None:
            await classes_repo.save(conn, cancelled)
            await outbox.enqueue(conn, messages.class_changed("class.cancelled", cancelled, now))
            log.info("class cancelled", class_id=class_id, version=cancelled.version)
    return json_response(await _view(request, class_id))


def _retry_window(request: web.Request) -> timedelta:
    return timedelta(seconds=scheduler(request).settings.policy.retry_window_s)


async def _view(request: web.Request, class_id: int) -> dict:
    service = scheduler(request)
    async with service.pool.acquire() as conn:
        views = await classes_repo.views(conn, service.clock(), _retry_window(request), class_id=class_id)
    if not views:
        raise NotFound(f"class {class_id} does not exist")
    return views[0]
