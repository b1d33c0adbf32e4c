"""The policy form ↔ billing's policy document: blank falls back, "off" is null, numbers are typed
in minutes (or mm:ss) and percents, bad numbers are named per input; and what applies after fallback."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from console import policies
from console.policies import PolicyFormError, policy_from_form

DAY = {"effective_from": "2026-03-01"}


def test_a_blank_form_sets_nothing_so_every_field_falls_back():
    blank = {**DAY, "rounding_mode": "", "rounding_unit": "", "full_lesson_percent": "", "minimum": "",
             "no_show_percent": "", "late_cancel_hours": "", "late_cancel_percent": "", "csrf_token": "x"}
    assert policy_from_form("families", blank) == DAY


def test_every_family_field_from_its_inputs():
    form = {**DAY, "rounding_mode": "up", "rounding_unit": "15", "full_lesson_percent": "80",
            "minimum": "30", "no_show_percent": "50", "late_cancel_hours": "24", "late_cancel_percent": "50"}
    assert policy_from_form("families", form) == {
        **DAY, "rounding": {"unit_seconds": 900, "mode": "up"}, "full_lesson_percent": 80,
        "minimum_seconds": 1800, "no_show_percent": 50, "late_cancel": {"within_hours": 24, "percent": 50}}


def test_off_sends_null_whatever_the_number_says():
    form = {**DAY, "full_lesson_off": "on", "full_lesson_percent": "80", "late_cancel_off": "on",
            "late_cancel_hours": "24"}
    assert policy_from_form("teachers", form) == {**DAY, "full_lesson_percent": None, "late_cancel": None}


def test_no_rounding_is_the_built_in_to_the_second():
    assert policy_from_form("families", {**DAY, "rounding_mode": "none", "rounding_unit": "15"}) == {
        **DAY, "rounding": {"unit_seconds": 1, "mode": "down"}}


@pytest.mark.parametrize(("text", "seconds"), [("0", 0), ("45", 2700), ("12:30", 750), ("0:01", 1), ("60:00", 3600)])
def test_durations_are_minutes_or_mm_ss(text, seconds):
    assert policies.seconds_of(text) == seconds
    assert policy_from_form("teachers", {**DAY, "no_students_minimum": text}) == {
        **DAY, "no_students_minimum_seconds": seconds}


@pytest.mark.parametrize("seconds", [0, 1, 59, 60, 750, 1800, 86400])
def test_a_filled_form_reads_back_the_entry_it_came_from(seconds):
    entry = {"rounding": {"unit_seconds": max(seconds, 1), "mode": "nearest"}, "full_lesson_percent": None,
             "minimum_seconds": seconds, "late_cancel": {"within_hours": 12, "percent": 25},
             "no_students_minimum_seconds": seconds}
    assert policy_from_form("teachers", policies.form_of(entry, "2026-03-01")) == {**DAY, **entry}


@pytest.mark.parametrize(("form", "bad"), [
    ({"full_lesson_percent": "eighty"}, "full_lesson_percent"),
    ({"full_lesson_percent": "-5"}, "full_lesson_percent"),
    ({"no_show_percent": "12.5"}, "no_show_percent"),
    ({"no_show_percent": "５０"}, "no_show_percent"),
    ({"minimum": "1h"}, "minimum"),
    ({"minimum": "10:75"}, "minimum"),
    ({"rounding_mode": "up"}, "rounding_unit"),
    ({"rounding_unit": "15"}, "rounding_mode"),
    ({"rounding_mode": "sideways", "rounding_unit": "15"}, "rounding_mode"),
    ({"late_cancel_hours": "24"}, "late_cancel_percent"),
    ({"late_cancel_percent": "50"}, "late_cancel_hours"),
    ({"late_cancel_hours": "a day", "late_cancel_percent": "50"}, "late_cancel_hours"),
])
def test_bad_inputs_are_named(form, bad):
    with pytest.raises(PolicyFormError) as raised:
        policy_from_form("families", {**DAY, **form})
    assert list(raised.value.errors) == [bad]


@pytest.mark.parametrize("day", ["", "2026-02-30", "01.03.2026", "2026-03-01T00:00:00Z"])
def test_the_date_is_required_and_a_date(day):
    with pytest.raises(PolicyFormError) as raised:
        policy_from_form("families", {"effective_from": day, "minimum": "x"})
    assert set(raised.value.errors) == {"effective_from", "minimum"}  # every bad input at once


def test_a_party_only_sends_its_own_fields():
    both = {**DAY, "no_show_percent": "50", "no_students_minimum": "45"}
    assert policy_from_form("families", both) == {**DAY, "no_show_percent": 50}
    assert policy_from_form("teachers", both) == {**DAY, "no_students_minimum_seconds": 2700}


def test_the_entry_in_force_is_the_latest_started():
    history = [{"effective_from": "2026-01-01T00:00:00Z", "minimum_seconds": 60},
               {"effective_from": "2026-03-01T00:00:00+01:00", "minimum_seconds": 120},
               {"effective_from": "2026-06-01T00:00:00Z", "minimum_seconds": 180}]
    assert policies.in_force(history, datetime(2026, 4, 1, tzinfo=UTC))["minimum_seconds"] == 120
    assert policies.in_force(history, datetime(2025, 12, 31, tzinfo=UTC)) is None


def test_after_fallback_each_field_names_where_it_comes_from():
    own = {"effective_from": "x", "rounding": {"unit_seconds": 60, "mode": "down"}, "full_lesson_percent": None}
    default = {"effective_from": "x", "full_lesson_percent": 80, "minimum_seconds": 1800}
    rows = {r["field"]: (r["text"], r["source"]) for r in policies.effective(
        "families", [("this family", own), ("every family (default)", default)])}
    assert rows == {"rounding": ("down to 1 min", "this family"),
                    "full_lesson_percent": ("off", "this family"),
                    "minimum_seconds": ("at least 30 min", "every family (default)"),
                    "no_show_percent": ("a no-show bills nothing", "built-in"),
                    "late_cancel": ("off", "built-in")}


def test_billings_problem_is_placed_next_to_its_input():
    assert policies.problem_errors("late_cancel.percent: must be between 0 and 100") == {
        "late_cancel_percent": "must be between 0 and 100"}
    assert policies.problem_errors("rounding.unit_seconds: must be between 1 and 3600") == {
        "rounding_unit": "must be between 1 and 3600"}
    assert policies.problem_errors("something else went wrong") == {}
    assert policies.problem_errors("full_lesson_percent: must be between 1 and 100") == {
        "full_lesson_percent": "must be between 1 and 100"}


def test_rules_have_short_names():
    assert policies.rule_label("no_students_minimum") == "no-student minimum"
    assert policies.rule_label("someday_rule") == "someday_rule"
    assert policies.rule_label(None) == ""


@pytest.mark.parametrize(("saved", "text"), [({"repriced_lines": 1}, "1 line was re-priced"),
                                             ({"repriced_lines": 14}, "14 lines were re-priced"),
                                             ({}, "0 lines were re-priced")])
def test_the_confirmation_counts_the_repriced_lines(saved, text):
    assert policies.repriced(saved) == text
