"""The Meet spaces a class needs, through the shared client (academy_common.meet_api).

The space is created (or an existing meeting code resolved) as the teacher, its organizer, so
the fetcher can later list the space's conferences by impersonating the same user.
"""
from __future__ import annotations

from typing import Protocol

import structlog

from academy_common.http import Problem
from academy_common.meet_api import MeetApiError
from academy_common.meet_api import Space as MeetSpace
from scheduler.classes import Space
from scheduler.errors import Invalid

log = structlog.get_logger(__name__)


class Spaces(Protocol):
    """The part of MeetClient the scheduler uses (tests may pass a fake)."""

    async def create_space(self, *, subject: str | None = None) -> MeetSpace: ...

    async def get_space(self, name_or_code: str, *, subject: str | None = None) -> MeetSpace: ...


async def obtain_space(meet: Spaces, meeting_code: str | None, organizer_email: str) -> Space:
    """A new space, or the one behind `meeting_code`; stored as `spaces/{id}`, never by code."""
    try:
        if meeting_code is None:
            space = await meet.create_space(subject=organizer_email)
        else:
            space = await meet.get_space(meeting_code, subject=organizer_email)
    except MeetApiError as exc:
        raise _refusal(exc, meeting_code) from None
    return Space(space.name, space.meeting_code, space.meeting_uri)


def _refusal(exc: MeetApiError, meeting_code: str | None) -> Exception:
    if meeting_code is not None and exc.kind in ("not_found", "client"):
        return Invalid(f"meeting code {meeting_code} is not a Meet space the teacher can use ({exc.message})")
    log.warning("meet space call failed", meeting_code=meeting_code, kind=exc.kind, status=exc.status,
                error=exc.message)
    if exc.kind in ("quota", "server"):
        return Problem(503, "Service Unavailable", f"the Meet API is unavailable, try again later ({exc.kind})")
    return Problem(502, "Bad Gateway", f"the Meet API refused the request ({exc.kind}: {exc.message})")
