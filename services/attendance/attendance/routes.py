"""HTTP API: attendance logs, corrections, unmatched participants and their mappings."""
from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from academy_common.http import (
    ACTOR,
    JsonBody,
    JsonInt,
    Problem,
    StartRange,
    json_response,
    path_int,
    read_json,
    read_query,
    requires,
)
from academy_common.pagination import DEFAULT_LIMIT, BadCursor, Cursor, Limit
from academy_common.service import SERVICE_KEY
from attendance import usecases, views
from attendance.corrections import Correction, CorrectionRejected
from attendance.views import LogFilter

routes = web.RouteTableDef()

Id = Annotated[int, Field(gt=0, lt=2**63)]


class LogQuery(StartRange):
    session_id: UUID | None = None
    class_id: Id | None = None
    user_email: Annotated[str, Field(min_length=1, max_length=320)] | None = None
    limit: Limit = DEFAULT_LIMIT
    cursor: Cursor | None = None


class UnmatchedQuery(BaseModel):
    class_id: Id | None = None
    limit: Limit = DEFAULT_LIMIT
    cursor: Cursor | None = None


class CorrectionBody(JsonBody):
    billable_seconds: Annotated[JsonInt, Field(ge=0, lt=2**31)] | None = None
    status: Literal["present", "late", "absent", "excused"] | None = None
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    allow_above_attended: Annotated[bool, Field(strict=True)] = False

    @model_validator(mode="after")
    def _changes_something(self):
        if self.billable_seconds is None and self.status is None:
            raise ValueError("set billable_seconds, status or both")
        return self


class PersonRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["teacher", "student"]
    id: Annotated[JsonInt, Field(gt=0, lt=2**63)]

    @property
    def person_key(self) -> str:
        return f"{self.role}:{self.id}"


class MappingBody(JsonBody):
    """An account or email for every class, or one guest log for its class alone."""

    meet_user: Annotated[str, Field(pattern=r"^users/[^/\s]+$", max_length=200)] | None = None
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)] | None = None
    log_id: Annotated[JsonInt, Field(gt=0, lt=2**63)] | None = None
    person: PersonRef

    @model_validator(mode="after")
    def _names_someone(self):
        if self.log_id is not None and (self.meet_user or self.email):
            raise ValueError("set log_id alone, or meet_user and/or email")
        if self.log_id is None and not self.meet_user and not self.email:
            raise ValueError("set meet_user, email or both (or log_id)")
        return self


def _pool(request: web.Request) -> asyncpg.Pool:
    return request.app[SERVICE_KEY].pool


async def _page(request: web.Request, log_filter: LogFilter, limit: int, cursor: str | None) -> web.Response:
    try:
        page = await views.page_of_logs(_pool(request), log_filter, limit=limit, cursor=cursor)
    except BadCursor as exc:
        raise Problem(422, "Unprocessable Content", f"cursor: {exc}") from None
    return json_response(page.as_json())


@routes.get("/monitoring/attendance-logs")
@requires("viewer", "billing")
async def list_logs(request: web.Request) -> web.Response:
    q = read_query(request, LogQuery)
    log_filter = LogFilter(session_id=str(q.session_id) if q.session_id else None, class_id=q.class_id,
                           user_email=q.user_email, start_from=q.start_from, start_to=q.start_to)
    return await _page(request, log_filter, q.limit, q.cursor)


@routes.get("/monitoring/attendance-logs/{log_id}")
@requires("viewer", "billing")
async def get_log(request: web.Request) -> web.Response:
    log_id = path_int(request, "log_id")
    detail = await views.log_detail(_pool(request), log_id)
    if detail is None:
        raise Problem(404, "Not Found", f"attendance log {log_id} does not exist")
    return json_response(detail)


@routes.post("/monitoring/attendance-logs/{log_id}/corrections")
@requires("admin")
async def correct_log(request: web.Request) -> web.Response:
    log_id = path_int(request, "log_id")
    body = await read_json(request, CorrectionBody)
    correction = Correction(reason=body.reason, billable_seconds=body.billable_seconds, status=body.status,
                            allow_above_attended=body.allow_above_attended)
    try:
        async with _pool(request).acquire() as conn, conn.transaction():
            await usecases.correct_log(conn, log_id, correction, requested_by=request[ACTOR])
    except usecases.LogNotFound:
        raise Problem(404, "Not Found", f"attendance log {log_id} does not exist") from None
    except CorrectionRejected as exc:
        raise Problem(422, "Unprocessable Content", str(exc)) from None
    return json_response(await views.log_detail(_pool(request), log_id), status=201,
                         location=f"/monitoring/attendance-logs/{log_id}")


@routes.get("/monitoring/unmatched")
@requires("viewer", "billing")
async def list_unmatched(request: web.Request) -> web.Response:
    q = read_query(request, UnmatchedQuery)
    return await _page(request, LogFilter(class_id=q.class_id, guests_only=True), q.limit, q.cursor)


@routes.post("/monitoring/unmatched/mappings")
@requires("admin")
async def map_unmatched(request: web.Request) -> web.Response:
    body = await read_json(request, MappingBody)
    service = request.app[SERVICE_KEY]
    policy, now, person_key = service.settings.policy(), usecases.utcnow(), body.person.person_key
    try:
        async with service.pool.acquire() as conn, conn.transaction():
            if body.log_id is not None:
                class_ids = await usecases.map_guest(conn, log_id=body.log_id, person_key=person_key,
                                                     policy=policy, now=now)
            else:
                class_ids = await usecases.map_identity(conn, meet_user=body.meet_user, email=body.email,
                                                        person_key=person_key, policy=policy, now=now)
    except usecases.LogNotFound:
        raise Problem(404, "Not Found", f"attendance log {body.log_id} does not exist") from None
    except usecases.NotAGuest as exc:
        raise Problem(422, "Unprocessable Content", str(exc)) from None
    except usecases.UnknownPerson:
        where = f"not on the roster of log {body.log_id}'s class" if body.log_id else "on no known class roster"
        raise Problem(422, "Unprocessable Content", f"{person_key} is {where}") from None
    return json_response({"meet_user": body.meet_user, "email": body.email, "log_id": body.log_id,
                          "person_key": person_key, "recomputed_class_ids": class_ids}, status=201)
