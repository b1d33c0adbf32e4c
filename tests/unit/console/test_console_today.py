"""The Today board's rules: the academy's day, states, who is in the call, the teacher-missing flag."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from console import today

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
AFTER = timedelta(minutes=5)


def lesson(phase: str = "active", start: datetime = START, class_id: int = 1, error: dict | None = None) -> dict:
    return {"id": class_id, "title": f"Class {class_id}", "phase": phase, "scheduled_start": start.isoformat(),
            "scheduled_end": (start + timedelta(hours=1)).isoformat(), "teacher": {"name": "Ada"},
            "fetch": {"last_error": error}}


def log(role: str = "student", joined: bool = True, left: bool = False, final: bool = False, name: str = "Ann"):
    return {"role": role, "display_name": name, "final": final,
            "first_join": START.isoformat() if joined else None, "last_leave": START.isoformat() if left else None}


@pytest.mark.parametrize(("minutes", "teacher_logs", "phase", "missing"), [
    (4.99, [], "active", False),                       # not 5 minutes yet
    (5, [], "active", True),                           # exactly the threshold
    (30, [log("teacher", joined=False)], "active", True),
    (30, [log("teacher")], "active", False),
    (30, [], "awaiting_data", True),                   # ended, and the teacher never came
    (30, [], "complete", False),                       # final: the logs tell the rest
    (30, [], "cancelled", False),
    (30, [], "scheduled", False),
])
def test_teacher_missing(minutes, teacher_logs, phase, missing):
    now = START + timedelta(minutes=minutes)
    assert today.teacher_missing(lesson(phase), teacher_logs, now, AFTER) is missing


def test_a_students_join_does_not_count_for_the_teacher():
    assert today.teacher_missing(lesson(), [log("student")], START + timedelta(minutes=6), AFTER)


def test_in_call_lists_provisional_logs_joined_and_not_left():
    logs = [log(name="Bo"), log(name="Ann"), log(name="Left", left=True), log(name="Never", joined=False),
            log(name="Final", final=True)]
    assert today.in_call(logs) == ("Ann", "Bo")


@pytest.mark.parametrize(("phase", "state"), [("scheduled", "scheduled"), ("active", "in_progress"),
                                              ("awaiting_data", "ended"), ("failed", "ended"),
                                              ("complete", "final"), ("cancelled", "cancelled")])
def test_states(phase, state):
    assert today.row(lesson(phase), [], START, AFTER).state == state


def test_the_day_is_the_academys_calendar_day():
    zone = ZoneInfo("America/New_York")
    start, end = today.day_of(datetime(2026, 3, 3, 3, 0, tzinfo=UTC), zone)  # 22:00 on the 2nd in New York
    assert start == datetime(2026, 3, 2, tzinfo=zone) and end == datetime(2026, 3, 3, tzinfo=zone)


def test_board_keeps_todays_classes_in_start_order():
    day = today.day_of(START, ZoneInfo("UTC"))
    lessons = [lesson(class_id=3, start=START + timedelta(hours=2)), lesson(class_id=2),
               lesson(class_id=9, start=START + timedelta(days=1)), lesson(class_id=1)]
    assert [r.class_id for r in today.board(lessons, {}, day, START, AFTER)] == [1, 2, 3]


def test_fetch_problems_are_named():
    error = {"message": "quota exceeded", "kind": "quota"}
    assert "quota exceeded" in today.fetch_problem(lesson(error=error))
    assert "window passed" in today.fetch_problem(lesson("failed"))
    assert today.fetch_problem(lesson()) is None
