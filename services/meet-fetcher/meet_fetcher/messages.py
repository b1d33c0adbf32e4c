"""What the fetcher reads and writes on the bus (docs/events.md): the request, the two answers."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from academy_common.events import CloudEvent, deterministic_id, new_event, refuse_nul, rfc3339
from academy_common.meet_api import MeetApiError
from meet_fetcher.snapshot import Snapshot, records_json

SOURCE = "/academy/meet-fetcher"
REQUESTED = "class.fetch_requested"
FETCHED = "meet.participants.fetched"
FAILED = "meet.fetch_failed"


class FetchRequest(BaseModel):
    """`class.fetch_requested` data; anything invalid goes to the dead-letter queue."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    class_id: int = Field(gt=0)
    session_id: str = Field(min_length=1, max_length=100)
    reason: Literal["active", "final", "retry", "manual"]
    attempt: int = Field(default=1, ge=1)
    space_name: str | None = Field(default=None, pattern=r"^spaces/[A-Za-z0-9_-]+$")
    meeting_code: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]+$")
    organizer_email: str | None = Field(default=None, max_length=320)
    scheduled_start: AwareDatetime
    scheduled_end: AwareDatetime
    window_start: AwareDatetime
    window_end: AwareDatetime
    requested_at: AwareDatetime | None = None
    last_attempt: bool = False  # the scheduler's last retry within its retry window

    _no_nul = field_validator("*")(refuse_nul)  # nor should Google see one: poison before any call

    @model_validator(mode="after")
    def _coherent(self) -> FetchRequest:
        if not (self.space_name or self.meeting_code):
            raise ValueError("space_name or meeting_code is required")
        if self.window_end < self.window_start:
            raise ValueError("window_end is before window_start")
        return self


def fetched_event(request: FetchRequest, request_id: str, snapshot: Snapshot, fetched_at: datetime) -> CloudEvent:
    """Its id derives from the request's: a redelivered request publishes the same event id."""
    return new_event(FETCHED, {
        "class_id": request.class_id,
        "session_id": request.session_id,
        "request_id": request_id,
        "reason": request.reason,
        "fetched_at": rfc3339(fetched_at),
        "space_name": snapshot.space_name,
        "scheduled_start": rfc3339(request.scheduled_start),
        "scheduled_end": rfc3339(request.scheduled_end),
        "conference_records": records_json(snapshot),
        "all_ended": snapshot.all_ended,
        "last_attempt": request.last_attempt,
    }, source=SOURCE, id=deterministic_id("participants", request_id), subject=f"classes/{request.class_id}",
        time=fetched_at)


def failed_event(request: FetchRequest, request_id: str, error: MeetApiError, failed_at: datetime) -> CloudEvent:
    return new_event(FAILED, {
        "class_id": request.class_id,
        "session_id": request.session_id,
        "request_id": request_id,
        "reason": request.reason,
        "error": error.as_dict(),
        "retryable": error.retryable,
        "failed_at": rfc3339(failed_at),
    }, source=SOURCE, id=deterministic_id("fetch_failed", request_id), subject=f"classes/{request.class_id}",
        time=failed_at)
