"""Statements and month summaries: totals are exact sums of integer-cent lines, per currency."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from billing.months import Month
from billing.statements import (
    NO_RATE,
    Line,
    PartyAggregate,
    Statement,
    Total,
    canonical,
    line_json,
    statement_json,
    summarize,
    summary_json,
)

START = datetime(2025, 3, 10, 15, tzinfo=UTC)


def line(amount: int | None = 100, currency: str | None = "EUR", seconds: int = 60, *, provisional: bool = False,
         kind: str = "line", reference: Month | None = None, billed: int | None = None, rule: str = "measured"
         ) -> Line:
    return Line(kind=kind, class_id=7, class_title="Algebra", scheduled_start=START, student_id=3,
                student_name="Bo", billable_seconds=seconds, billed_seconds=seconds if billed is None else billed,
                rule=rule, rule_detail="", hourly_rate_cents=None if amount is None else 6000,
                currency=None if amount is None else currency, amount_cents=amount, provisional=provisional,
                reference_period=reference)


amounts = st.integers(-10**9, 10**9)
lines = st.lists(st.builds(line, st.one_of(st.none(), amounts), st.sampled_from(["EUR", "USD"]),
                           st.integers(-10**6, 10**6), provisional=st.booleans()), max_size=30)


@given(lines)
def test_statement_totals_are_the_sum_of_priced_lines_per_currency(items):
    statement = Statement("family", 2, "Smith", tuple(items))
    for total in statement.totals:
        mine = [x for x in items if x.currency == total.currency and x.amount_cents is not None]
        assert total.amount_cents == sum(x.amount_cents for x in mine)
        assert total.billable_seconds == sum(x.billable_seconds for x in mine)
        assert type(total.amount_cents) is int
    assert [t.currency for t in statement.totals] == sorted({x.currency for x in items if x.amount_cents is not None})
    assert statement.error_lines == sum(1 for x in items if x.amount_cents is None)
    assert statement.provisional_lines == sum(1 for x in items if x.provisional)


def test_an_unpriced_line_is_an_error_outside_the_totals():
    statement = Statement("family", 2, "Smith", (line(2292, seconds=3300), line(None, seconds=1800)))
    assert statement.totals == (Total("EUR", 2292, 3300, 3300),)
    assert statement.lines[1].error == NO_RATE and statement.error_lines == 1


@given(st.lists(st.builds(PartyAggregate, st.integers(1, 5), st.one_of(st.none(), st.sampled_from(["EUR", "USD"])),
                          amounts, st.integers(0, 10**6), st.integers(0, 10**6), st.integers(1, 50),
                          st.integers(0, 1)), max_size=10),
       st.lists(st.tuples(st.integers(1, 8), st.builds(line, st.one_of(st.none(), amounts), provisional=st.booleans(),
                                                       kind=st.just("adjustment"))), max_size=10))
def test_a_month_summary_adds_the_aggregate_and_the_adjustments(aggregates, adjustments):
    summary = summarize(aggregates, adjustments)
    for total in summary.totals:
        assert total.amount_cents == sum(a.amount_cents for a in aggregates if a.currency == total.currency) + sum(
            x.amount_cents for _, x in adjustments if x.currency == total.currency and x.amount_cents is not None)
    assert summary.statements == len({a.party_id for a in aggregates} | {p for p, _ in adjustments})
    assert summary.lines == sum(a.lines for a in aggregates) + len(adjustments)
    assert summary.adjustment_lines == len(adjustments)
    assert summary.error_lines == sum(a.lines for a in aggregates if a.currency is None) + sum(
        1 for _, x in adjustments if x.amount_cents is None)


def test_json_shapes():
    family = statement_json(Statement("family", 2, "Smith", (line(), line(-50, kind="adjustment",
                                                                          reference=Month(2025, 2)))))
    assert family["family_id"] == 2 and family["line_count"] == 2 and family["totals"] == [
        {"currency": "EUR", "amount_cents": 50, "billable_seconds": 120, "billed_seconds": 120}]
    assert family["totals_by_rule"] == [
        {"currency": "EUR", "rule": "measured", "lines": 2, "billed_seconds": 120, "amount_cents": 50}]
    assert {k: family["lines"][0][k] for k in ("measured_seconds", "billed_seconds", "rule")} == {
        "measured_seconds": 60, "billed_seconds": 60, "rule": "measured"}
    assert family["lines"][1]["reference"] == {"period": "2025-02", "class_id": 7}
    assert family["lines"][0]["scheduled_start"] == "2025-03-10T15:00:00Z"
    payroll = line_json(line(), "teacher")
    assert "student_id" not in payroll and "student_name" not in payroll
    assert summary_json(summarize([], []))["totals"] == []


def test_canonical_is_sorted_compact_utf8_one_per_line():
    assert canonical({"b": 1, "a": "É"}) == '{"a":"É","b":1}\n'.encode()
    assert json.loads(canonical({"x": [1, None]})) == {"x": [1, None]}
