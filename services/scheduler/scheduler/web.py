"""What every scheduler route needs: its service, domain refusals answered as problems, cursors."""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from aiohttp import web

from academy_common import pagination
from academy_common.http import Handler, Problem
from academy_common.service import SERVICE_KEY
from scheduler.errors import Conflict, Invalid, NotFound, Rejected

if TYPE_CHECKING:
    from scheduler.app import Scheduler

_STATUS = {NotFound: 404, Invalid: 422, Conflict: 409}


def scheduler(request: web.Request) -> Scheduler:
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
