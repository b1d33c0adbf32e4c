"""Sessions merged into per-person logs: the scenarios of issue 5, then properties."""
from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attendance.intervals import Interval
from attendance.merge import compute_logs, considered, finality
from attendance.model import FetchState, Policy, Roster, student
from tests.unit.attendance.factories import ADA, BO, CY, ROSTER, WINDOW, at, participant, record

POLICY = Policy()


def logs_of(*records, roster=ROSTER, mappings=None, fetched_at=None, final=True, policy=POLICY, space="spaces/AbC"):
    logs = compute_logs(WINDOW, roster, records, mappings or {}, policy,
                        fetched_at=fetched_at or at(70), final=final, space_name=space)
    return {log.person.person_key: log for log in logs}


def bo(*sessions, pid="p1", **kw):
    return participant(pid, list(sessions), user="users/3", email="bo@school.org", name="Bo", **kw)


def test_rejoin_counts_both_sessions_and_the_gap_is_not_attended():
    log = logs_of(record("c1", -5, 65, bo((0, 20), (25, 60))))["student:3"]
    assert (log.joins, log.attended_seconds, log.billable_seconds) == (2, 55 * 60, 55 * 60)
    assert (log.first_join, log.last_leave, log.status) == (at(0), at(60), "present")


def test_two_devices_at_once_count_once():
    phone = participant("p2", [(30, 60)], user="users/3", email="bo@school.org", name="Bo's phone")
    log = logs_of(record("c1", -5, 65, bo((0, 40)), phone))["student:3"]
    assert (log.joins, log.attended_seconds, log.billable_seconds) == (2, 3600, 3600)


def test_join_before_start_and_leave_after_end_bill_only_the_window():
    log = logs_of(record("c1", -15, 75, bo((-10, 70))))["student:3"]
    assert (log.attended_seconds, log.billable_seconds) == (80 * 60, 3600)
    assert not log.late and not log.left_early and log.status == "present"


def test_roster_members_who_never_joined_are_absent_logs_not_missing_rows():
    logs = logs_of(record("c1", -5, 65, bo((0, 60))))
    assert set(logs) == {"teacher:1", "student:3", "student:4"}
    cy = logs["student:4"]
    assert (cy.status, cy.joins, cy.attended_seconds, cy.billable_seconds) == ("absent", 0, 0, 0)
    assert cy.first_join is None and cy.last_leave is None and cy.person == CY


def test_a_class_nobody_attended_still_has_a_log_per_roster_member():
    logs = logs_of()
    assert {k: log.status for k, log in logs.items()} == {"teacher:1": "absent", "student:3": "absent",
                                                        "student:4": "absent"}


def test_guests_are_kept_with_their_display_names_and_never_matched_by_name():
    stranger = participant("p7", [(0, 30)], user="users/77", email="x@gmail.com", name="Xavier")
    anonymous = participant("p8", [(5, 10)], kind="anonymous", name="Bo")  # says "Bo", is not Bo
    phone = participant("p9", [(5, 15)], kind="phone", name="+1 555")
    logs = logs_of(record("c1", -5, 65, stranger, anonymous, phone))
    assert logs["student:3"].status == "absent"
    guest = logs["guest:users/77"]
    assert (guest.person.role, guest.person.email, guest.person.display_name) == ("guest", "x@gmail.com", "Xavier")
    assert guest.attended_seconds == 1800
    anon = logs["guest:anonymous:conferenceRecords/c1/participants/p8"]
    assert (anon.person.display_name, anon.person.participant_kind) == ("Bo", "anonymous")
    assert logs["guest:phone:conferenceRecords/c1/participants/p9"].person.display_name == "+1 555"


def test_roster_email_matches_case_insensitively():
    shouting = participant("p1", [(0, 60)], user="users/3", email="BO@School.ORG", name="BO")
    log = logs_of(record("c1", -5, 65, shouting))["student:3"]
    assert log.person == BO and log.attended_seconds == 3600


def test_second_conference_record_is_merged_into_the_same_log():
    logs = logs_of(record("c1", -5, 21, bo((0, 20))), record("c2", 29, 65, bo((30, 60), record="c2")))
    log = logs["student:3"]
    assert (log.joins, log.attended_seconds, log.first_join, log.last_leave) == (2, 50 * 60, at(0), at(60))
    assert {s.conference_record for s in log.sessions} == {"conferenceRecords/c1", "conferenceRecords/c2"}


# -- which calls and sessions belong to the class: overlap with [start − 30 min, end + 30 min] -------

@pytest.mark.parametrize(("case", "call", "sessions", "expected"), [
    # (joins, attended minutes, billable minutes) of Bo; None: no log (he is absent)
    ("early-opened call still running", (-40, None), [(-40, None)], (1, 100, 60)),
    ("call opened 31+ min early, Bo in the class", (-31, 65), [(-31, 60)], (1, 91, 60)),
    ("call opened 2 h early, Bo joins on time", (-120, 65), [(0, 60)], (1, 60, 60)),
    ("call ending exactly at the window start", (-90, -30), [(-90, -30)], (1, 60, 0)),
    ("call ending just before the window start", (-90, -30.01), [(-90, -30.01)], None),
    ("call starting exactly at the window end", (90, 100), [(90, 95)], (1, 5, 0)),
    ("call starting just after the window end", (90.01, 100), [(91, 95)], None),
    ("Bo left the early call before the window", (-120, None), [(-120, -40)], None),
    ("Bo joined the call after the window", (-10, None), [(95, 100)], None),
    ("only the overlapping session counts", (-120, None), [(-120, -40), (-5, 60)], (1, 65, 60)),
])
def test_a_call_and_a_session_count_when_they_overlap_the_join_window(case, call, sessions, expected):
    log = logs_of(record("c1", call[0], call[1], bo(*sessions)), fetched_at=at(100), final=True)["student:3"]
    got = (log.joins, log.attended_seconds // 60, log.billable_seconds // 60) if log.joins else None
    assert got == expected, case


def test_back_to_back_classes_in_one_space_split_one_continuous_call():
    """Ada opens the room 40 min early and keeps one call going for class A (0..60) and B (60..120)."""
    b_window_start = 60
    call = record("c1", -40, None,
                  participant("p0", [(-40, 125)], user="users/1", email="ada@school.org", name="Ada"),
                  bo((0, 29.99)),  # A only: left before B's join window (30..150)
                  participant("p2", [(20, 70)], user="users/4", email="cy@school.org", name="Cy"),  # both
                  participant("p3", [(62, 118)], user="users/9", email="di@school.org", name="Di"))  # B only
    a = logs_of(call, fetched_at=at(130))
    b = {log.person.person_key: log for log in compute_logs(
        Interval(at(b_window_start), at(b_window_start + 60)), ROSTER, [call], {}, POLICY,
        fetched_at=at(130), final=True, space_name="spaces/AbC")}
    assert (a["student:3"].joins, a["student:3"].billable_seconds) == (1, 29 * 60 + 59)
    assert (b["student:3"].joins, b["student:3"].status) == (0, "absent")  # on B's roster, never in B
    assert "guest:users/9" in a and a["guest:users/9"].billable_seconds == 0  # Di was in A's join window only
    assert b["guest:users/9"].billable_seconds == 56 * 60
    assert (a["student:4"].billable_seconds, b["student:4"].billable_seconds) == (40 * 60, 10 * 60)
    assert (a["teacher:1"].billable_seconds, b["teacher:1"].billable_seconds) == (3600, 3600)


def test_a_student_of_the_earlier_class_who_left_before_the_later_join_window_is_not_in_it():
    b_window = Interval(at(100), at(160))  # join window 70..190
    call = record("c1", -40, None, bo((0, 69.99)), participant("p9", [(0, 60)], kind="anonymous", name="Guest"))
    b = compute_logs(b_window, ROSTER, [call], {}, POLICY, fetched_at=at(170), final=True, space_name="spaces/AbC")
    assert {log.person.person_key for log in b} == {"teacher:1", "student:3", "student:4"}
    assert all(log.joins == 0 for log in b)


def test_calls_of_another_space_do_not_count():
    logs = logs_of(record("c1", -5, 65, bo((0, 60)), space="spaces/Other"))
    assert logs["student:3"].status == "absent"


def test_open_session_counts_to_the_fetch_while_provisional_and_to_the_end_once_final():
    call = record("c1", -5, None, bo((0, None)))
    provisional = logs_of(call, fetched_at=at(30), final=False)["student:3"]
    assert (provisional.attended_seconds, provisional.last_leave, provisional.left_early) == (1800, None, False)
    final = logs_of(call, fetched_at=at(95), final=True)["student:3"]
    assert (final.attended_seconds, final.billable_seconds, final.last_leave) == (3600, 3600, at(60))


def test_open_session_that_began_after_the_end_counts_nothing_at_final():
    log = logs_of(record("c1", 62, None, bo((62, None))), final=True)["student:3"]
    assert (log.joins, log.attended_seconds, log.billable_seconds, log.last_leave) == (1, 0, 0, at(62))


def test_late_and_left_early_use_strict_thresholds():
    on_edge = logs_of(record("c1", -5, 65, bo((5, 55))))["student:3"]
    assert (on_edge.late, on_edge.left_early, on_edge.status) == (False, False, "present")
    past = logs_of(record("c1", -5, 65, bo((5.01, 54.99))))["student:3"]
    assert (past.late, past.left_early, past.status) == (True, True, "late")


def test_thresholds_come_from_the_policy():
    strict = Policy(late_threshold=timedelta(0), early_leave_threshold=timedelta(0))
    log = logs_of(record("c1", -5, 65, bo((1, 59))), policy=strict)["student:3"]
    assert log.late and log.left_early


def test_partial_seconds_are_rounded_down():
    log = logs_of(record("c1", -5, 65, bo((0, 59.9999 / 60))))["student:3"]
    assert log.attended_seconds == 59 and log.billable_seconds == 59


def test_remembered_mapping_resolves_a_personal_account_when_the_person_is_on_the_roster():
    personal = participant("p5", [(0, 60)], user="users/55", email="cy.home@gmail.com", name="Cy")
    mapped = logs_of(record("c1", -5, 65, personal), mappings={"user:users/55": "student:4"})
    assert mapped["student:4"].attended_seconds == 3600 and "guest:users/55" not in mapped
    by_email = logs_of(record("c1", -5, 65, personal), mappings={"email:cy.home@gmail.com": "student:4"})
    assert by_email["student:4"].joins == 1
    elsewhere = logs_of(record("c1", -5, 65, personal), mappings={"user:users/55": "student:99"})
    assert "guest:users/55" in elsewhere


def test_an_email_two_roster_members_share_decides_nothing():
    twin = student(5, 2, "Di", "bo@school.org")
    roster = Roster((ADA, BO, twin))
    logs = logs_of(record("c1", -5, 65, bo((0, 60))), roster=roster)
    assert logs["student:3"].status == logs["student:5"].status == "absent"
    assert logs["guest:users/3"].attended_seconds == 3600
    mapped = logs_of(record("c1", -5, 65, bo((0, 60))), roster=roster, mappings={"user:users/3": "student:5"})
    assert mapped["student:5"].attended_seconds == 3600 and mapped["student:3"].status == "absent"


def test_logs_come_teacher_first_then_students_then_guests():
    guest = participant("p9", [(0, 5)], kind="anonymous", name="?")
    keys = list(logs_of(record("c1", -5, 65, guest, bo((0, 60)))))
    assert keys == ["teacher:1", "student:3", "student:4", "guest:anonymous:conferenceRecords/c1/participants/p9"]


def test_considered_keeps_the_window_bounds_inclusive():
    inside = [record("a", -90, -30), record("b", 90, 95), record("c", -300, None)]
    outside = [record("d", -90, -30.01), record("e", 90.01, 95)]
    assert considered(inside + outside, WINDOW, timedelta(minutes=30)) == inside


# -- finality ----------------------------------------------------------------------------------

GRACE = timedelta(minutes=30)


@pytest.mark.parametrize(("case", "fetch", "call_found", "expected"), [
    ("never fetched", FetchState(), True, None),
    ("every call ended, but before the end", FetchState(at(59), at(59)), True, None),
    ("every call ended after the end", FetchState(at(61), at(61)), True, "calls_ended"),
    ("a call still running, inside the grace", FetchState(at(89), None), True, None),
    ("a call still running, grace over", FetchState(at(90), None), True, "grace_expired"),
    ("ended before the end, running later", FetchState(at(70), at(50)), True, None),
    ("no call found after the end", FetchState(at(61)), False, None),
    ("no call found, grace long over", FetchState(at(60 * 24 * 3)), False, None),
    ("no call found, even if a fetch said all ended", FetchState(at(61), at(61)), False, None),
    ("no call found on the last attempt", FetchState(at(60 * 24 * 7), None, at(60 * 24 * 7)), False,
     "no_meeting_found"),
    ("a last attempt before the end decides nothing", FetchState(at(61), None, at(59)), False, None),
    ("a call found, then the last attempt", FetchState(at(60 * 24 * 7), None, at(60 * 24 * 7)), True,
     "grace_expired"),
])
def test_finality_and_its_reason(case, fetch, call_found, expected):
    assert finality(WINDOW, fetch, GRACE, call_found=call_found) == expected, case


# -- properties ----------------------------------------------------------------------------------

spans = st.tuples(st.integers(-40, 100), st.integers(0, 60)).map(lambda t: (t[0], t[0] + t[1]))


@given(st.lists(spans, min_size=1, max_size=8), st.randoms())
def test_one_persons_numbers_do_not_depend_on_how_sessions_are_split_or_ordered(sessions, random):
    devices = [bo(s, pid=f"p{i}") for i, s in enumerate(sessions)]
    shuffled = list(devices)
    random.shuffle(shuffled)
    one = logs_of(record("c1", -30, 100, *devices))["student:3"]
    other = logs_of(record("c1", -30, 100, *shuffled))["student:3"]
    assert (one.attended_seconds, one.billable_seconds, one.first_join, one.last_leave, one.joins) == \
           (other.attended_seconds, other.billable_seconds, other.first_join, other.last_leave, other.joins)
    assert one.billable_seconds <= one.attended_seconds <= sum(b - a for a, b in sessions) * 60
    assert one.billable_seconds <= 3600
    assert one.joins == sum(1 for a, b in sessions if a <= 90 and b >= -30)  # those overlapping the join window
