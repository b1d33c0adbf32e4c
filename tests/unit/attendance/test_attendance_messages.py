"""Typed payloads of the events attendance consumes; cursors; settings; the OpenAPI document."""
from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from pydantic import ValidationError

from academy_common.contracts import ClassSnapshot, ParticipantsFetched
from attendance.app import OPENAPI
from attendance.messages import roster, window
from attendance.routes import routes
from attendance.settings import Settings

CLASS = {
    "class_id": 7, "version": 1, "status": "scheduled", "title": "Algebra 1",
    "scheduled_start": "2026-11-25T10:00:00Z", "scheduled_end": "2026-11-25T11:00:00Z",
    "duration_minutes": 60, "space_name": "spaces/AbC", "meeting_code": "abc-defg-hij",
    "meeting_uri": "https://meet.google.com/abc-defg-hij",
    "teacher": {"teacher_id": 1, "name": "Ada", "email": "ada@school.org"},
    "students": [{"student_id": 3, "family_id": 2, "name": "Bo", "email": "bo@school.org"}],
}
P = "conferenceRecords/c1/participants/p1"
SNAPSHOT = {
    "class_id": 7, "session_id": "0b7f3c1e-2d4a-4b6c-9d8e-7f6a5b4c3d2e", "request_id": "r1", "reason": "final",
    "fetched_at": "2026-11-25T11:05:00Z", "space_name": "spaces/AbC",
    "scheduled_start": "2026-11-25T10:00:00Z", "scheduled_end": "2026-11-25T11:00:00Z",
    "conference_records": [{
        "name": "conferenceRecords/c1", "start_time": "2026-11-25T09:58:00Z", "end_time": None,
        "participants": [{
            "name": P, "kind": "signedin", "user": "users/123", "email": "bo@school.org", "display_name": "Bo",
            "earliest_start_time": "2026-11-25T10:00:00.123456789Z", "latest_end_time": None,
            "sessions": [{"name": f"{P}/participantSessions/s1",
                          "start_time": "2026-11-25T10:00:00.123456789+00:00", "end_time": None}],
        }],
    }],
    "all_ended": False,
}


def test_the_documented_class_snapshot_parses_into_a_roster():
    snapshot = ClassSnapshot.model_validate(CLASS)
    assert [m.person_key for m in roster(snapshot).members] == ["teacher:1", "student:3"]
    assert window(snapshot).length == timedelta(hours=1)


def test_a_roster_lists_a_student_given_twice_once():
    twice = {**CLASS, "students": CLASS["students"] * 2}
    assert len(roster(ClassSnapshot.model_validate(twice)).members) == 2


def test_the_documented_participant_snapshot_parses_with_nanoseconds_cut_to_microseconds():
    snapshot = ParticipantsFetched.model_validate(SNAPSHOT)
    [record] = snapshot.conference_records
    session = record.participants[0].sessions[0]
    assert session.start_time == datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=UTC)
    assert session.start_time.tzinfo is UTC and session.end_time is None
    assert record.participants[0].user == "users/123"


def test_a_snapshot_of_a_class_without_a_session_yet_is_accepted():
    for data in ({**SNAPSHOT, "session_id": None}, {k: v for k, v in SNAPSHOT.items() if k != "session_id"}):
        assert ParticipantsFetched.model_validate(data).session_id is None


def _broken(path: list, value) -> dict:
    data = copy.deepcopy(SNAPSHOT)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


REC, PART, SESS = ["conference_records", 0], ["conference_records", 0, "participants", 0], \
    ["conference_records", 0, "participants", 0, "sessions", 0]


@pytest.mark.parametrize("data", [
    _broken(["fetched_at"], "2026-11-25T11:05:00"),  # naive time
    _broken(["class_id"], "seven"),
    _broken(["class_id"], 0),
    _broken(["session_id"], "not-a-uuid"),
    _broken(["scheduled_end"], "2026-11-25T09:00:00Z"),
    _broken(["all_ended"], None),
    _broken(REC + ["name"], "spaces/AbC"),
    _broken(PART + ["kind"], "robot"),
    _broken(PART + ["name"], "conferenceRecords/c2/participants/p1"),
    _broken(SESS + ["name"], "conferenceRecords/c1/participants/p2/participantSessions/s1"),
    _broken(SESS + ["end_time"], "2026-11-25T09:00:00Z"),
    _broken(["conference_records"], {"name": "x"}),
    {k: v for k, v in SNAPSHOT.items() if k != "fetched_at"},
])
def test_malformed_snapshots_are_rejected(data):
    with pytest.raises(ValidationError):
        ParticipantsFetched.model_validate(data)


@pytest.mark.parametrize("data", [
    {**CLASS, "version": 0}, {**CLASS, "status": "done"}, {k: v for k, v in CLASS.items() if k != "teacher"},
    {**CLASS, "students": [{"student_id": 3}]}, {**CLASS, "scheduled_start": "2026-11-25T11:00:00Z"},
])
def test_malformed_class_snapshots_are_rejected(data):
    with pytest.raises(ValidationError):
        ClassSnapshot.model_validate(data)


# -- settings ---------------------------------------------------------------------------------

def test_settings_defaults_follow_the_architecture(monkeypatch):
    for name in ("HTTP_PORT", "LATE_THRESHOLD_S", "EARLY_LEAVE_THRESHOLD_S", "FINALIZE_GRACE_S", "JOIN_WINDOW_S"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    policy = settings.policy()
    assert settings.http_port == 8082
    assert (policy.late_threshold, policy.early_leave_threshold) == (timedelta(seconds=300), timedelta(seconds=300))
    assert (policy.finalize_grace, policy.join_window) == (timedelta(seconds=1800), timedelta(seconds=1800))


def test_settings_read_the_environment(monkeypatch):
    monkeypatch.setenv("LATE_THRESHOLD_S", "60")
    monkeypatch.setenv("FINALIZE_GRACE_S", "0.5")
    policy = Settings().policy()
    assert policy.late_threshold == timedelta(seconds=60) and policy.finalize_grace == timedelta(seconds=0.5)
    monkeypatch.setenv("JOIN_WINDOW_S", "-1")
    with pytest.raises(ValidationError):
        Settings()


# -- OpenAPI ----------------------------------------------------------------------------------

def test_openapi_documents_every_route_with_bearer_auth_and_problems():
    document = yaml.safe_load(OPENAPI.read_text())
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert document["security"] == [{"bearerAuth": []}]
    served = {(route.path, route.method.lower()) for route in routes}
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert served <= documented
    for path, method in served:
        responses = document["paths"][path][method]["responses"]
        assert {"401", "403"} <= set(responses), (path, method)
    assert "Problem" in document["components"]["schemas"]
