"""What the fetcher reads and writes on the bus (docs/events.md): the request, the two answers."""
from __future__ import annotations

from datetime import datetime

from academy_common.contracts import FETCH_FAILED, PARTICIPANTS_FETCHED, FetchRequested
from academy_common.events import CloudEvent, deterministic_id, rfc3339
from academy_common.meet_api import MeetApiError
from meet_fetcher.snapshot import Snapshot, records_json


def fetched_event(request: FetchRequested, request_id: str, snapshot: Snapshot, fetched_at: datetime) -> CloudEvent:
    """Its id derives from the request's: a redelivered request publishes the same event id."""
    return PARTICIPANTS_FETCHED.build({
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
    }, id=deterministic_id("participants", request_id), subject=f"classes/{request.class_id}",
        time=fetched_at)


def failed_event(request: FetchRequested, request_id: str, error: MeetApiError, failed_at: datetime) -> CloudEvent:
    return FETCH_FAILED.build({
        "class_id": request.class_id,
        "session_id": request.session_id,
        "request_id": request_id,
        "reason": request.reason,
        "error": error.as_dict(),
        "retryable": error.retryable,
        "failed_at": rfc3339(failed_at),
    }, id=deterministic_id("fetch_failed", request_id), subject=f"classes/{request.class_id}",
        time=failed_at)
