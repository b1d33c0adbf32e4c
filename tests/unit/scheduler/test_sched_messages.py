"""The scheduler's events carry exactly the payloads of docs/events.md, with replay-stable ids."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler import messages
from scheduler.classes import Class, Space, StudentRef, TeacherRef
from scheduler.directory import TEACHER, Entry
from scheduler.timetable import Occurrence

NOW = datetime(2026, 11, 25, 10, 0, 5, tzinfo=UTC)
START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
LIVE = messages.LiveClass(7, messages.session_id(7), START, END, "spaces/AbC", "abc-defg-hij", "ada@school.org")


def test_fetch_request_is_the_documented_payload():
    event = messages.occurred(Occurrence(7, "fetch", "retry", 2, END + timedelta(minutes=20)), LIVE, NOW)
    assert event.type == "class.fetch_requested"
    assert event.source == "/academy/scheduler"
    assert event.data == {
        "class_id": 7, "session_id": LIVE.session_id, "reason": "retry", "attempt": 3,
        "space_name": "spaces/AbC", "meeting_code": "abc-defg-hij", "organizer_email": "ada@school.org",
        "scheduled_start": "2026-11-25T10:00:00Z", "scheduled_end": "2026-11-25T11:00:00Z",
        "window_start": "2026-11-25T09:30:00Z", "window_end": "2026-11-25T11:30:00Z",
        "requested_at": "2026-11-25T10:00:05Z", "last_attempt": False,
    }


def test_started_and_ended_payloads():
    started = messages.occurred(Occurrence(7, "started", "", 0, START), LIVE, NOW)
    assert started.type == "class.started"
    assert started.data == {"class_id": 7, "session_id": LIVE.session_id, "scheduled_start": "2026-11-25T10:00:00Z",
                            "scheduled_end": "2026-11-25T11:00:00Z", "started_at": "2026-11-25T10:00:05Z"}
    ended = messages.occurred(Occurrence(7, "ended", "", 0, END), LIVE, END)
    assert ended.type == "class.ended" and ended.data["ended_at"] == "2026-11-25T11:00:00Z"
    assert "started_at" not in ended.data


def test_event_ids_are_the_same_on_every_replica():
    occurrence = Occurrence(7, "fetch", "active", 4, START + timedelta(minutes=12))
    assert messages.occurred(occurrence, LIVE, NOW).id == messages.occurred(occurrence, LIVE, NOW + timedelta(1)).id
    assert messages.session_id(7) == LIVE.session_id != messages.session_id(8)


def test_directory_and_class_events_are_versioned_snapshots():
    ada = Entry(TEACHER, 1, "Ada", "ada@school.org", True, 3)
    event = messages.upserted(ada, NOW)
    assert (event.type, event.data, event.subject) == ("teacher.upserted", ada.payload(), "teacher/1")
    assert event.id != messages.upserted(Entry(TEACHER, 1, "Ada", "ada@school.org", True, 4), NOW).id

    cls = Class(7, 2, "scheduled", "Algebra 1", START, 60, Space("spaces/AbC", "abc-defg-hij", "https://x"),
                TeacherRef(1, "Ada", "ada@school.org"), (StudentRef(3, 2, "Bo", "bo@school.org"),))
    updated = messages.class_changed("class.updated", cls, NOW)
    assert (updated.type, updated.data) == ("class.updated", cls.snapshot())
