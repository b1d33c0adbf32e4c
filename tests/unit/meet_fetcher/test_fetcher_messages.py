"""The request the fetcher accepts and the two answers it publishes."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from pydantic import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from academy_common.contracts import FetchRequested
from academy_common.events import deterministic_id
from academy_common.meet_api import MeetApiError
from meet_fetcher.messages import failed_event, fetched_event
from meet_fetcher.snapshot import ParticipantEntry, RecordEntry, SessionEntry, Snapshot

NOW = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
VALID = {"class_id": 7, "session_id": "4b0c5d1e-0000-4000-8000-000000000007", "reason": "active", "attempt": 1,
         "space_name": "spaces/AbC", "meeting_code": "abc-defg-hij", "organizer_email": "ada@school.org",
         "scheduled_start": "2026-03-02T10:00:00Z", "scheduled_end": "2026-03-02T11:00:00Z",
         "window_start": "2026-03-02T09:30:00Z", "window_end": "2026-03-02T11:30:00Z",
         "requested_at": "2026-03-02T10:30:00Z", "something_new": "ignored"}


def test_the_documented_request_is_accepted():
    request = FetchRequested.model_validate(VALID)
    assert request.class_id == 7 and request.window_start.tzinfo is not None


@pytest.mark.parametrize("change", [
    {"class_id": 0}, {"class_id": "seven"}, {"reason": "sometimes"}, {"session_id": ""},
    {"space_name": None, "meeting_code": None}, {"space_name": "rooms/x"},
    {"window_start": "2026-03-02T09:30:00"},                       # naive time
    {"window_start": "2026-03-02T12:00:00Z"},                      # window ends before it starts
    {"scheduled_start": None},
])
def test_a_request_the_fetcher_cannot_serve_is_rejected(change):
    with pytest.raises(ValidationError):
        FetchRequested.model_validate({**VALID, **change})


def snapshot() -> Snapshot:
    session = SessionEntry("conferenceRecords/c/participants/p/participantSessions/s", NOW, None)
    person = ParticipantEntry("conferenceRecords/c/participants/p", "signedin", "users/1", "bo@school.org", "Bo",
                              NOW, None, (session,))
    return Snapshot("spaces/AbC", (RecordEntry("conferenceRecords/c", NOW, None, (person,)),))


def test_the_snapshot_event_has_the_documented_fields_and_a_derived_id():
    request = FetchRequested.model_validate(VALID)
    event = fetched_event(request, "req-1", snapshot(), NOW)
    assert event.type == "meet.participants.fetched" and event.source == "/academy/meet-fetcher"
    assert event.id == deterministic_id("participants", "req-1") == fetched_event(request, "req-1", snapshot(), NOW).id
    assert set(event.data) == {"class_id", "session_id", "request_id", "reason", "fetched_at", "space_name",
                               "scheduled_start", "scheduled_end", "conference_records", "all_ended",
                               "last_attempt"}
    [record] = event.data["conference_records"]
    assert record == {"name": "conferenceRecords/c", "start_time": "2026-03-02T11:00:00Z", "end_time": None,
                      "participants": [{
                          "name": "conferenceRecords/c/participants/p", "kind": "signedin", "user": "users/1",
                          "email": "bo@school.org", "display_name": "Bo",
                          "earliest_start_time": "2026-03-02T11:00:00Z", "latest_end_time": None,
                          "sessions": [{"name": "conferenceRecords/c/participants/p/participantSessions/s",
                                        "start_time": "2026-03-02T11:00:00Z", "end_time": None}]}]}
    assert event.data["all_ended"] is False and event.data["fetched_at"] == "2026-03-02T11:00:00Z"
    assert event.data["last_attempt"] is False


def test_the_last_attempt_of_the_retry_window_is_passed_on():
    request = FetchRequested.model_validate({**VALID, "reason": "retry", "last_attempt": True})
    event = fetched_event(request, "req-9", Snapshot("spaces/AbC", ()), NOW)
    assert event.data["last_attempt"] is True
    assert event.data["all_ended"] is False  # no call found is not "every call ended"


def test_the_failure_event_says_what_failed_and_whether_to_retry():
    request = FetchRequested.model_validate({**VALID, "reason": "final"})
    event = failed_event(request, "req-2", MeetApiError("quota", 429, "Quota exceeded"), NOW)
    assert event.type == "meet.fetch_failed" and event.id == deterministic_id("fetch_failed", "req-2")
    assert event.data == {"class_id": 7, "session_id": VALID["session_id"], "request_id": "req-2", "reason": "final",
                          "error": {"kind": "quota", "status": 429, "message": "Quota exceeded"},
                          "retryable": True, "failed_at": "2026-03-02T11:00:00Z"}
    assert failed_event(request, "req-2", MeetApiError("malformed", None, "x"), NOW).data["retryable"] is False


def asyncapi_validator(schema_name: str):
    """A JSON Schema validator for one payload schema of docs/asyncapi.yaml (the published contract)."""
    document = yaml.safe_load((Path(__file__).parents[3] / "docs" / "asyncapi.yaml").read_text())
    registry = Registry().with_resource("asyncapi", Resource.from_contents(document, DRAFT202012))
    return Draft202012Validator({"$ref": f"asyncapi#/components/schemas/{schema_name}"}, registry=registry)


def test_both_answers_match_the_published_asyncapi_schemas():
    request = FetchRequested.model_validate(VALID)
    asyncapi_validator("ParticipantsFetched").validate(fetched_event(request, "r", snapshot(), NOW).data)
    failure = failed_event(request, "r", MeetApiError("server", None, "network: timeout"), NOW)
    asyncapi_validator("FetchFailed").validate(failure.data)
