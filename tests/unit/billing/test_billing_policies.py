"""Billing policies: each rule, their order, the boundaries, field-by-field fallback, input checks."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from billing.policies import (
    BUILT_IN,
    Entry,
    Facts,
    InvalidPolicy,
    LateCancel,
    Policy,
    Rounding,
    clock,
    in_force,
    parse_fields,
    price,
    resolve,
)

HOUR = 3600
LESSON = 60 * 60


def family(measured: int, scheduled: int | None = LESSON, **facts) -> Facts:
    return Facts(party="family", measured_seconds=measured, scheduled_seconds=scheduled,
                 **{"teacher_attended": True} | facts)


def teacher(measured: int, scheduled: int | None = LESSON, **facts) -> Facts:
    return Facts(party="teacher", measured_seconds=measured, scheduled_seconds=scheduled,
                 **{"teacher_attended": measured > 0, "students_came": True} | facts)


def policy(**fields) -> Policy:
    return Policy(**fields)


UP15 = Rounding(15 * 60, "up")

# (facts, policy, billed_seconds, rule)
CASES = [
    # the built-in policy bills what was measured, whatever the facts
    (family(3300), BUILT_IN, 3300, "measured"),
    (family(0), BUILT_IN, 0, "measured"),
    (family(1), BUILT_IN, 1, "measured"),
    (family(LESSON), BUILT_IN, LESSON, "measured"),
    (family(3300, scheduled=None), BUILT_IN, 3300, "measured"),
    (family(4000, scheduled=1800), BUILT_IN, 4000, "measured"),  # class shortened later: never below measured
    (teacher(3599), BUILT_IN, 3599, "measured"),
    (teacher(1200, students_came=False), BUILT_IN, 1200, "measured"),
    # full lesson: at or above the share → the whole scheduled length
    (family(2880), policy(full_lesson_percent=80), LESSON, "full_lesson"),  # exactly 80%
    (family(2879), policy(full_lesson_percent=80), 2879, "measured"),  # one second below
    (family(1), policy(full_lesson_percent=1), 1, "measured"),  # 1 s of 3600 is below 1%
    (family(36), policy(full_lesson_percent=1), LESSON, "full_lesson"),
    (family(LESSON), policy(full_lesson_percent=100), LESSON, "measured"),  # already whole
    (family(0), policy(full_lesson_percent=1), 0, "measured"),  # nothing attended is never a lesson
    (family(3000, scheduled=None), policy(full_lesson_percent=50), 3000, "measured"),  # length unknown
    (teacher(2880), policy(full_lesson_percent=80), LESSON, "full_lesson"),
    # minimum: billable > 0 → at least this, never above the lesson
    (family(600), policy(minimum_seconds=1800), 1800, "minimum"),
    (family(1), policy(minimum_seconds=1800), 1800, "minimum"),
    (family(1800), policy(minimum_seconds=1800), 1800, "measured"),  # exactly the minimum
    (family(0), policy(minimum_seconds=1800), 0, "measured"),
    (family(600), policy(minimum_seconds=2 * HOUR), LESSON, "minimum"),  # capped at the lesson
    (family(600, scheduled=None), policy(minimum_seconds=2 * HOUR), 2 * HOUR, "minimum"),
    (teacher(300), policy(minimum_seconds=900), 900, "minimum"),
    # order: full lesson before minimum, minimum before rounding
    (family(2880), policy(full_lesson_percent=80, minimum_seconds=2 * HOUR), LESSON, "full_lesson"),
    (family(100), policy(minimum_seconds=1000, rounding=UP15), 900 * 2, "minimum"),
    (family(100), policy(full_lesson_percent=50, minimum_seconds=1000, rounding=Rounding(60, "down")), 960, "minimum"),
    # rounding: each mode, exact multiples, one second, a unit larger than the lesson
    (family(3125), policy(rounding=UP15), 3600, "measured"),
    (family(2700), policy(rounding=UP15), 2700, "measured"),  # a multiple stays
    (family(2701), policy(rounding=UP15), 3600, "measured"),
    (family(1), policy(rounding=UP15), 900, "measured"),
    (family(0), policy(rounding=UP15), 0, "measured"),
    (family(3125), policy(rounding=Rounding(900, "down")), 2700, "measured"),
    (family(899), policy(rounding=Rounding(900, "down")), 0, "measured"),
    (family(3149), policy(rounding=Rounding(900, "nearest")), 2700, "measured"),
    (family(3150), policy(rounding=Rounding(900, "nearest")), 3600, "measured"),  # a half rounds up
    (family(1, scheduled=1800), policy(rounding=Rounding(3600, "up")), 1800, "measured"),  # capped
    (family(1800, scheduled=1800), policy(rounding=Rounding(3600, "nearest")), 1800, "measured"),  # half, capped
    (family(1700, scheduled=1800), policy(rounding=Rounding(3600, "nearest")), 0, "measured"),
    (family(1700, scheduled=1800), policy(rounding=Rounding(3600, "down")), 0, "measured"),
    (family(59), policy(rounding=Rounding(60, "nearest")), 60, "measured"),
    (family(29), policy(rounding=Rounding(60, "nearest")), 0, "measured"),
    (family(3125), policy(rounding=Rounding(1, "up")), 3125, "measured"),
    # no-show: absent from a class the teacher attended
    (family(0), policy(no_show_percent=50), 1800, "no_show"),
    (family(0), policy(no_show_percent=100), LESSON, "no_show"),
    (family(0), policy(no_show_percent=0), 0, "measured"),
    (family(1), policy(no_show_percent=50), 1, "measured"),  # one second is attendance
    (family(0, teacher_attended=False), policy(no_show_percent=50), 0, "measured"),
    (family(0, no_meeting_found=True), policy(no_show_percent=50), 0, "measured"),
    (family(0, scheduled=None), policy(no_show_percent=50), 0, "measured"),
    (family(0), policy(no_show_percent=33), 1188, "no_show"),  # 33% of 3600 s
    (family(0, scheduled=2700), policy(no_show_percent=33, rounding=UP15), 900, "no_show"),  # 891 s, rounded up
    (family(0), policy(no_show_percent=50, minimum_seconds=2700), 1800, "no_show"),  # minimum is for attendance
    (family(0), policy(no_show_percent=90, rounding=Rounding(3600, "up"), full_lesson_percent=50), LESSON, "no_show"),
    # a teacher is never a no-show, but may be paid a minimum when nobody came
    (teacher(0), policy(no_show_percent=50), 0, "measured"),
    (teacher(1200, students_came=False), policy(no_students_minimum_seconds=2700), 2700, "no_students_minimum"),
    (teacher(2700, students_came=False), policy(no_students_minimum_seconds=2700), 2700, "measured"),
    (teacher(1200, students_came=True), policy(no_students_minimum_seconds=2700), 1200, "measured"),
    (teacher(0, students_came=False), policy(no_students_minimum_seconds=2700), 0, "measured"),
    (teacher(1200, students_came=False), policy(no_students_minimum_seconds=2 * HOUR), LESSON, "no_students_minimum"),
    (teacher(600, students_came=False), policy(minimum_seconds=1800, no_students_minimum_seconds=2700), 2700,
     "no_students_minimum"),
    (teacher(600, students_came=False), policy(minimum_seconds=2700, no_students_minimum_seconds=1800), 2700,
     "minimum"),
    (teacher(1000, students_came=False), policy(no_students_minimum_seconds=1000, rounding=UP15), 1800, "measured"),
    # cancelled: nothing, unless cancelled late (less than h hours before the start)
    (family(0, cancelled=True, cancel_lead_seconds=3 * HOUR), BUILT_IN, 0, "measured"),
    (family(0, cancelled=True, cancel_lead_seconds=3 * HOUR), policy(late_cancel=LateCancel(24, 50)), 1800,
     "late_cancel"),
    (family(0, cancelled=True, cancel_lead_seconds=24 * HOUR), policy(late_cancel=LateCancel(24, 50)), 0,
     "measured"),  # exactly h hours before is in time
    (family(0, cancelled=True, cancel_lead_seconds=24 * HOUR - 1), policy(late_cancel=LateCancel(24, 50)), 1800,
     "late_cancel"),
    (family(0, cancelled=True, cancel_lead_seconds=0), policy(late_cancel=LateCancel(1, 100)), LESSON, "late_cancel"),
    (family(0, cancelled=True, cancel_lead_seconds=None), policy(late_cancel=LateCancel(24, 50)), 0, "measured"),
    (family(0, cancelled=True, cancel_lead_seconds=HOUR, rostered=False), policy(late_cancel=LateCancel(24, 50)), 0,
     "measured"),
    (family(0, cancelled=True, cancel_lead_seconds=HOUR), policy(late_cancel=LateCancel(24, 0)), 0, "late_cancel"),
    (family(0, cancelled=True, cancel_lead_seconds=HOUR), policy(late_cancel=LateCancel(24, 30), rounding=UP15),
     1800, "late_cancel"),  # 1080 s rounded up
    (family(3600, cancelled=True, cancel_lead_seconds=HOUR, removed=True), policy(late_cancel=LateCancel(24, 50)),
     1800, "late_cancel"),  # a log emptied by the cancellation is still on the roster
    (teacher(0, cancelled=True, cancel_lead_seconds=HOUR), policy(late_cancel=LateCancel(12, 25)), 900,
     "late_cancel"),
    # corrected by an admin: billed as given, no rule applies
    (family(1234, corrected=True), policy(rounding=UP15, minimum_seconds=3000, full_lesson_percent=10), 1234,
     "corrected"),
    (family(0, corrected=True), policy(no_show_percent=100), 0, "corrected"),
    (family(4000, corrected=True), policy(rounding=UP15), 4000, "corrected"),
    # a removed log bills nothing
    (family(3000, removed=True), policy(minimum_seconds=3600), 0, "measured"),
]


@pytest.mark.parametrize("facts,policy_,billed,rule", CASES)
def test_price(facts, policy_, billed, rule):
    priced = price(facts, policy_)
    assert (priced.billed_seconds, priced.rule) == (billed, rule)
    assert priced.rule_detail.endswith(f"→ billed {clock(billed)}" + (" as given" if rule == "corrected" else ""))


@pytest.mark.parametrize("facts,policy_,detail", [
    (family(3300), BUILT_IN, "attended 55:00 → billed 55:00"),
    (family(3130), policy(full_lesson_percent=80), "attended 52:10 of 60:00 ≥ 80% → billed 60:00"),
    (family(600), policy(minimum_seconds=1800), "attended 10:00, minimum 30:00 → billed 30:00"),
    (family(3125), policy(rounding=UP15), "attended 52:05, rounded up to 15:00 → billed 60:00"),
    (family(3125), policy(rounding=Rounding(900, "nearest")), "attended 52:05, rounded to 15:00 → billed 45:00"),
    (family(600), policy(minimum_seconds=7200),
     "attended 10:00, minimum 120:00, at most the lesson's 60:00 → billed 60:00"),
    (family(0), policy(no_show_percent=50), "absent, the teacher attended: 50% of 60:00 → billed 30:00"),
    (family(0, cancelled=True, cancel_lead_seconds=3 * HOUR + 300), policy(late_cancel=LateCancel(24, 50)),
     "cancelled 3 h 05 min before the start (less than 24 h): 50% of 60:00 → billed 30:00"),
    (family(0, cancelled=True, cancel_lead_seconds=HOUR), BUILT_IN, "class cancelled → billed 0:00"),
    (teacher(1200, students_came=False), policy(no_students_minimum_seconds=2700),
     "attended 20:00, no student came, minimum 45:00 → billed 45:00"),
    (family(2700, corrected=True), BUILT_IN, "corrected by an admin → billed 45:00 as given"),
    (family(3000, removed=True), BUILT_IN, "no longer in the class → billed 0:00"),
])
def test_rule_detail(facts, policy_, detail):
    assert price(facts, policy_).rule_detail == detail


def test_clock():
    assert [clock(s) for s in (0, 1, 59, 60, 3130, 3600, 5400)] == ["0:00", "0:01", "0:59", "1:00", "52:10",
                                                                     "60:00", "90:00"]


# -- resolution -------------------------------------------------------------------------------

def at(day: int) -> datetime:
    return datetime(2025, 3, day, tzinfo=UTC)


def entry(day: int, **fields) -> Entry:
    return Entry(at(day), fields)


def test_no_entry_is_the_built_in_policy():
    assert resolve([], [], at(10)) == BUILT_IN


def test_each_field_falls_back_to_the_default_scope_then_to_built_in():
    own = [entry(1, minimum_seconds=900)]
    default = [entry(1, minimum_seconds=1800, no_show_percent=50)]
    assert resolve(own, default, at(10)) == Policy(minimum_seconds=900, no_show_percent=50)


def test_a_null_is_set_not_left_out():
    own = [entry(1, late_cancel=None, full_lesson_percent=None)]
    default = [entry(1, late_cancel={"within_hours": 24, "percent": 50}, full_lesson_percent=80)]
    assert resolve(own, default, at(10)) == BUILT_IN


def test_the_entry_in_force_at_the_class_start():
    own = [entry(20, rounding={"unit_seconds": 900, "mode": "up"}), entry(1, minimum_seconds=600)]
    assert resolve(own, [], at(19)) == Policy(minimum_seconds=600)
    assert resolve(own, [], at(20)) == Policy(rounding=UP15)  # the newer entry alone: its fields, then fallbacks
    assert in_force(own, datetime(2025, 2, 28, tzinfo=UTC)) is None


def test_an_own_entry_not_yet_in_force_leaves_the_default():
    assert resolve([entry(20, minimum_seconds=60)], [entry(1, minimum_seconds=120)], at(10)) == \
        Policy(minimum_seconds=120)


# -- input --------------------------------------------------------------------------------------

def test_parse_fields_keeps_what_was_given():
    body = {"effective_from": "2025-03-01", "rounding": {"unit_seconds": 900, "mode": "nearest"},
            "full_lesson_percent": None, "minimum_seconds": 600, "no_show_percent": 0,
            "late_cancel": {"within_hours": 24, "percent": 50}}
    assert parse_fields("family", body) == {k: v for k, v in body.items() if k != "effective_from"}
    assert parse_fields("teacher", {"no_students_minimum_seconds": 1800.0}) == {"no_students_minimum_seconds": 1800}
    assert parse_fields("family", {"effective_from": "2025-03-01"}) == {}


@pytest.mark.parametrize("party,body", [
    ("family", {"no_students_minimum_seconds": 60}),  # a teacher field
    ("teacher", {"no_show_percent": 50}),  # a family field
    ("family", {"surprise": 1}),
    ("family", {"rounding": {"unit_seconds": 0, "mode": "up"}}),
    ("family", {"rounding": {"unit_seconds": 3601, "mode": "up"}}),
    ("family", {"rounding": {"unit_seconds": 60, "mode": "sideways"}}),
    ("family", {"rounding": {"unit_seconds": 60}}),
    ("family", {"rounding": {"unit_seconds": 60, "mode": "up", "extra": 1}}),
    ("family", {"rounding": None}),
    ("family", {"rounding": {"unit_seconds": 1.5, "mode": "up"}}),
    ("family", {"full_lesson_percent": 0}),
    ("family", {"full_lesson_percent": 101}),
    ("family", {"full_lesson_percent": True}),
    ("family", {"minimum_seconds": -1}),
    ("family", {"minimum_seconds": None}),
    ("family", {"minimum_seconds": "600"}),
    ("family", {"no_show_percent": 101}),
    ("family", {"late_cancel": {"within_hours": 0, "percent": 50}}),
    ("family", {"late_cancel": {"within_hours": 24, "percent": -1}}),
    ("family", {"late_cancel": {"within_hours": 24}}),
    ("family", {"late_cancel": 24}),
    ("teacher", {"no_students_minimum_seconds": 86401}),
    ("family", {"minimum_seconds": float("inf")}),
    ("family", {"minimum_seconds": float("nan")}),
    ("family", {"minimum_seconds": 10**30}),
    ("family", {"late_cancel": {"within_hours": float("-inf"), "percent": 50}}),
])
def test_parse_fields_refuses(party, body):
    with pytest.raises(InvalidPolicy):
        parse_fields(party, body)
