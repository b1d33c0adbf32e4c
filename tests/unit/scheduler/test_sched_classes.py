"""Class rules: timing, roster, overlaps, what may change and when, and the published snapshot."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from scheduler.classes import (
    MAX_AHEAD,
    Class,
    ClassChanges,
    Plan,
    Space,
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
from scheduler.errors import Conflict, Invalid

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ADA = TeacherRef(1, "Ada", "ada@school.org")
BO = StudentRef(3, 2, "Bo", "bo@school.org")
CY = StudentRef(4, 2, "Cy", "cy@school.org")
ROSTER = {3: BO, 4: CY}
SPACE = Space("spaces/AbC", "abc-defg-hij", "https://meet.google.com/abc-defg-hij")


def plan(**changes) -> Plan:
    return dataclasses.replace(Plan("Algebra 1", 1, (3, 4), NOW + timedelta(hours=1), 60), **changes)


def stored(**changes) -> Class:
    return dataclasses.replace(realize(plan(), class_id=7, version=1, space=SPACE, teacher=ADA, students=ROSTER),
                               **changes)


# -- timing ------------------------------------------------------------------------------------

def test_a_start_within_the_tolerance_is_accepted():
    check_timing(plan(start=NOW - timedelta(seconds=300)), NOW, 300)


def test_a_start_in_the_past_beyond_the_tolerance_is_refused():
    with pytest.raises(Invalid, match="in the past"):
        check_timing(plan(start=NOW - timedelta(seconds=301)), NOW, 300)


def test_a_naive_start_is_refused():
    with pytest.raises(Invalid, match="offset"):
        check_timing(plan(start=datetime(2026, 12, 1, 10, 0)), NOW, 300)


@pytest.mark.parametrize("minutes", [0, -30, 24 * 60 + 1])
def test_durations_outside_one_minute_to_a_day_are_refused(minutes):
    with pytest.raises(Invalid, match="duration"):
        check_timing(plan(duration_minutes=minutes), NOW, 300)


def test_a_day_long_class_is_fine():
    check_timing(plan(duration_minutes=24 * 60), NOW, 300)


def test_a_start_years_ahead_is_refused_before_its_end_could_overflow():
    with pytest.raises(Invalid, match="ahead"):
        check_timing(plan(start=datetime(9999, 12, 31, 23, 30, tzinfo=UTC)), NOW, 300)
    check_timing(plan(start=NOW + MAX_AHEAD), NOW, 300)


def test_the_end_is_start_plus_duration_whatever_the_offset():
    start = datetime(2026, 11, 25, 11, 0, tzinfo=timezone(timedelta(hours=2)))
    assert plan(start=start, duration_minutes=90).end == datetime(2026, 11, 25, 10, 30, tzinfo=UTC)


# -- roster ------------------------------------------------------------------------------------

def test_a_valid_roster_passes():
    check_roster(plan(), ADA, ROSTER)


@pytest.mark.parametrize("teacher,students,ids,message", [
    (None, ROSTER, (3,), "teacher 1 does not exist"),
    (dataclasses.replace(ADA, active=False), ROSTER, (3,), "teacher 1 is inactive"),
    (ADA, ROSTER, (), "at least one student"),
    (ADA, ROSTER, (3, 4, 3), "more than once: 3"),
    (ADA, ROSTER, (3, 9, 8), "unknown student ids: 9, 8"),
    (ADA, {3: BO, 4: dataclasses.replace(CY, active=False)}, (3, 4), "inactive student ids: 4"),
    (ADA, {3: dataclasses.replace(BO, email="ada@school.org")}, (3,), "also a student"),
])
def test_roster_problems_are_refused_with_a_reason(teacher, students, ids, message):
    with pytest.raises(Invalid, match=message):
        check_roster(plan(student_ids=ids), teacher, students)


def test_an_overlapping_class_of_the_same_teacher_is_a_conflict():
    check_no_overlap(plan(), [])
    with pytest.raises(Conflict, match="class 5, 6"):
        check_no_overlap(plan(), [5, 6])


# -- changes -----------------------------------------------------------------------------------

def test_revise_changes_only_what_is_given():
    later = NOW + timedelta(hours=3)
    revised = revise(stored(), ClassChanges(start=later, student_ids=(4,)))
    assert revised == plan(start=later, student_ids=(4,))
    assert revise(stored(), ClassChanges()) == stored().plan
    assert revise(stored(), ClassChanges(teacher_id=1)) == stored().plan


def test_a_class_keeps_its_teacher():
    with pytest.raises(Invalid, match="keeps its teacher"):
        revise(stored(), ClassChanges(teacher_id=2))


def test_a_class_can_change_until_it_starts():
    check_editable(stored(), started=False, now=NOW)
    with pytest.raises(Conflict, match="started"):
        check_editable(stored(), started=False, now=stored().start)
    with pytest.raises(Conflict, match="started"):
        check_editable(stored(), started=True, now=NOW)
    with pytest.raises(Conflict, match="cancelled"):
        check_editable(stored(status="cancelled"), started=False, now=NOW)


def test_cancel_bumps_the_version_once():
    cancelled = cancel(stored(), started=False, now=NOW)
    assert (cancelled.status, cancelled.version) == ("cancelled", 2)
    assert cancel(cancelled, started=False, now=NOW) is None


def test_a_started_class_cannot_be_cancelled():
    with pytest.raises(Conflict):
        cancel(stored(), started=False, now=stored().start + timedelta(minutes=1))


# -- snapshot ----------------------------------------------------------------------------------

def test_the_snapshot_is_the_documented_payload():
    assert stored().snapshot() == {
        "class_id": 7, "version": 1, "status": "scheduled", "title": "Algebra 1",
        "scheduled_start": "2026-11-25T10:00:00Z", "scheduled_end": "2026-11-25T11:00:00Z",
        "duration_minutes": 60, "space_name": "spaces/AbC", "meeting_code": "abc-defg-hij",
        "meeting_uri": "https://meet.google.com/abc-defg-hij",
        "teacher": {"teacher_id": 1, "name": "Ada", "email": "ada@school.org"},
        "students": [{"student_id": 3, "family_id": 2, "name": "Bo", "email": "bo@school.org"},
                     {"student_id": 4, "family_id": 2, "name": "Cy", "email": "cy@school.org"}],
    }


def test_the_roster_keeps_the_order_of_the_plan():
    cls = realize(plan(student_ids=(4, 3)), class_id=7, version=1, space=SPACE, teacher=ADA, students=ROSTER)
    assert [s.student_id for s in cls.students] == [4, 3]
