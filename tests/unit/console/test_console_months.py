"""The Month page's rules: periods, amounts typed in forms, close progress, rule totals, policies;
and the guesses of who a guest might be, and how money and time are written."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from console import candidates, formats, months


@pytest.mark.parametrize(("text", "year", "month"), [("2026-01", 2026, 1), ("2026-12", 2026, 12)])
def test_period_parse(text, year, month):
    assert months.Period.parse(text) == months.Period(year, month)
    assert str(months.Period.parse(text)) == text


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-1", "26-01", "", "2026-01-01", "２０２６-01", "2026-0١"])
def test_bad_periods(text):
    with pytest.raises(ValueError):
        months.Period.parse(text)


def test_previous_and_next_cross_years():
    assert months.Period(2026, 1).previous == months.Period(2025, 12)
    assert months.Period(2025, 12).next == months.Period(2026, 1)


def test_the_current_period_is_the_academys_month():
    assert months.Period.of(datetime(2026, 3, 1, 2, tzinfo=UTC), ZoneInfo("America/New_York")) == months.Period(2026, 2)


@pytest.mark.parametrize(("text", "cents"), [("30", 3000), ("30.5", 3050), ("30,50", 3050), ("0", 0),
                                             (" 12.34 ", 1234), ("0.01", 1)])
def test_cents(text, cents):
    assert months.cents(text) == cents


@pytest.mark.parametrize("text", ["", "-1", "1.234", "abc", "1e3", "30.", ".5"])
def test_bad_amounts(text):
    with pytest.raises(ValueError):
        months.cents(text)


@pytest.mark.parametrize(("job", "percent"), [
    ({"state": "running", "lines_total": 0, "lines_done": 0}, 0),
    ({"state": "running", "lines_total": 200, "lines_done": 50}, 25),
    ({"state": "running", "lines_total": 3, "lines_done": 5}, 100),
    ({"state": "done", "lines_total": 0, "lines_done": 0}, 100),
    ({"state": "failed"}, 0),
])
def test_close_progress(job, percent):
    assert months.percent(job) == percent


def test_rule_totals_add_up_over_statements_and_tolerate_their_absence():
    report = {"families": [
        {"totals_by_rule": [{"rule": "attended", "currency": "EUR", "amount_cents": 100, "lines": 2}]},
        {"totals_by_rule": [{"rule": "attended", "currency": "EUR", "amount_cents": 50, "lines": 1},
                            {"rule": "no_show", "currency": "EUR", "amount_cents": 30, "lines": 1}]},
        {}]}
    assert months.rules_of(report, "families") == [
        {"rule": "attended", "currency": "EUR", "amount_cents": 150, "lines": 3},
        {"rule": "no_show", "currency": "EUR", "amount_cents": 30, "lines": 1}]
    assert months.rules_of({"families": [{"lines": []}]}, "families") == []


def test_a_policy_form_keeps_each_fields_type():
    current = {"minimum_minutes": 10, "charge_no_show": False, "rounding": "up", "share": 0.5,
               "updated_at": "x"}
    form = {"minimum_minutes": "15", "charge_no_show": "on", "rounding": "down", "share": "0.75"}
    assert months.policy_from_form(current, form) == {"minimum_minutes": 15, "charge_no_show": True,
                                                      "rounding": "down", "share": 0.75}
    assert ("updated_at", "x") not in months.editable(current)


def test_candidates_put_the_closest_name_first():
    roster = [{"key": "teacher:1", "name": "Ada Lovelace", "role": "teacher"},
              {"key": "student:1", "name": "Allegra Byron", "role": "student"},
              {"key": "student:3", "name": "Mary Somerville", "role": "student"}]
    ranked = candidates.ranked({"display_name": "mary (phone)"}, roster)
    assert [c["key"] for c in ranked] == ["student:3", "student:1", "teacher:1"]
    assert [c["likely"] for c in ranked] == [True, False, False]
    assert candidates.ranked({"display_name": None, "email": "ada@x.org"}, roster)[0]["key"] == "teacher:1"


@pytest.mark.parametrize(("cents", "text"), [(0, "0.00 EUR"), (5, "0.05 EUR"), (123456, "1,234.56 EUR"),
                                             (-250, "-2.50 EUR"), (None, "—")])
def test_money(cents, text):
    assert formats.money(cents, "EUR") == text


@pytest.mark.parametrize(("seconds", "text"), [(0, "0 s"), (45, "45 s"), (60, "1 min 00 s"), (750, "12 min 30 s"),
                                               (3900, "1 h 05 min"), (None, "—")])
def test_duration(seconds, text):
    assert formats.duration(seconds) == text
