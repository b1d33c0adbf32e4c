"""Adjustments for lines of closed months: what is owed minus what closed bills already charged."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from billing.months import Month
from billing.reconcile import Billed, Current, reconcile

MARCH, APRIL, MAY, JUNE = Month(2025, 3), Month(2025, 4), Month(2025, 5), Month(2025, 6)
NOW = Current(party="family", party_id=2, class_id=7, person_key="student:3", class_title="Algebra",
              scheduled_start=datetime(2025, 3, 10, 15, tzinfo=UTC), month=MARCH, student_id=3,
              student_name="Bo", cancelled=False, removed=False, billable_seconds=3600,
              billed_seconds=3600, rule="measured", rule_detail="attended 60:00 → billed 60:00", hourly_rate_cents=2000, currency="EUR",
              amount_cents=2000, final=True, corrected=False)


def billed(amount: int = 2000, seconds: int = 3600, *, party_id: int = 2, currency: str = "EUR",
           origin: Month = MARCH) -> Billed:
    return Billed(party_id, currency, seconds, seconds, amount, origin)


def summary(outcome) -> list[tuple]:
    return [(party_id, a.currency, a.billable_seconds, a.amount_cents) for party_id, a in outcome.adjustments]


def test_late_data_for_a_closed_month_is_charged_in_the_next_open_month():
    outcome = reconcile(NOW, [], frozenset({MARCH}))
    assert outcome.target == APRIL and summary(outcome) == [(2, "EUR", 3600, 2000)]
    [(_, line)] = outcome.adjustments
    assert line.kind == "adjustment" and line.reference_period == MARCH and line.hourly_rate_cents == 2000


def test_a_correction_charges_only_the_difference():
    less = replace(NOW, billable_seconds=2700, billed_seconds=2700, amount_cents=1500, corrected=True)
    outcome = reconcile(less, [billed()], frozenset({MARCH}))
    assert summary(outcome) == [(2, "EUR", -900, -500)] and outcome.adjustments[0][1].corrected


def test_nothing_changed_means_no_adjustment():
    assert reconcile(NOW, [billed()], frozenset({MARCH})).adjustments == ()


def test_an_adjustment_already_carried_into_a_closed_month_is_not_repeated():
    less = replace(NOW, billable_seconds=2700, billed_seconds=2700, amount_cents=1500)
    carried = [billed(), billed(-500, -900, origin=MARCH)]
    outcome = reconcile(less, carried, frozenset({MARCH, APRIL}))
    assert outcome.adjustments == () and outcome.target == MAY


def test_corrections_go_past_every_closed_month():
    outcome = reconcile(replace(NOW, amount_cents=1000), [billed()], frozenset({MARCH, APRIL, MAY}))
    assert outcome.target == JUNE and summary(outcome) == [(2, "EUR", 0, -1000)]


def test_a_cancelled_class_is_credited_back():
    outcome = reconcile(replace(NOW, cancelled=True), [billed()], frozenset({MARCH}))
    assert summary(outcome) == [(2, "EUR", -3600, -2000)] and outcome.adjustments[0][1].hourly_rate_cents is None


def test_a_removed_log_is_credited_back_like_a_cancelled_class():
    for removed in (replace(NOW, removed=True),
                    replace(NOW, removed=True, billable_seconds=0, billed_seconds=0, amount_cents=0)):
        outcome = reconcile(removed, [billed()], frozenset({MARCH}))
        assert outcome == reconcile(replace(NOW, cancelled=True), [billed()], frozenset({MARCH}))
    unpriced = replace(NOW, removed=True, hourly_rate_cents=None, currency=None, amount_cents=None)
    assert reconcile(unpriced, [], frozenset({MARCH})).adjustments == ()  # nothing owed: no error line


def test_a_class_moved_to_an_open_month_is_credited_where_it_was_billed():
    moved = replace(NOW, month=MAY)
    outcome = reconcile(moved, [billed()], frozenset({MARCH}))
    assert outcome.target == APRIL and summary(outcome) == [(2, "EUR", -3600, -2000)]


def test_a_line_of_an_open_month_never_billed_needs_nothing():
    assert reconcile(replace(NOW, month=APRIL), [], frozenset({MARCH})).adjustments == ()


def test_another_family_or_currency_reverses_one_and_charges_the_other():
    outcome = reconcile(replace(NOW, party_id=5), [billed()], frozenset({MARCH}))
    assert summary(outcome) == [(2, "EUR", -3600, -2000), (5, "EUR", 3600, 2000)]
    outcome = reconcile(replace(NOW, currency="USD", amount_cents=2100), [billed()], frozenset({MARCH}))
    assert summary(outcome) == [(2, "EUR", -3600, -2000), (2, "USD", 3600, 2100)]


def test_an_unpriced_late_line_is_an_error_adjustment():
    unpriced = replace(NOW, hourly_rate_cents=None, currency=None, amount_cents=None)
    [(_, line)] = reconcile(unpriced, [], frozenset({MARCH})).adjustments
    assert line.amount_cents is None and line.error and line.billable_seconds == 3600


def test_provisional_lines_give_provisional_adjustments():
    [(_, line)] = reconcile(replace(NOW, final=False), [], frozenset({MARCH})).adjustments
    assert line.provisional


@given(st.lists(st.builds(billed, st.integers(-5000, 5000), st.integers(-7200, 7200),
                          party_id=st.sampled_from([2, 5]), currency=st.sampled_from(["EUR", "USD"])), max_size=6),
       st.sampled_from([2, 5]), st.sampled_from(["EUR", "USD"]), st.integers(0, 9000), st.integers(0, 7200),
       st.booleans(), st.sampled_from([MARCH, APRIL, MAY]),
       st.sets(st.sampled_from([MARCH, APRIL, MAY]), min_size=1))
def test_what_was_charged_plus_the_adjustments_is_exactly_what_is_owed(
        history, party_id, currency, amount, seconds, cancelled, month, closed):
    current = replace(NOW, party_id=party_id, currency=currency, amount_cents=amount,
                      billable_seconds=seconds, billed_seconds=seconds,
                      cancelled=cancelled, month=month)
    outcome = reconcile(current, history, frozenset(closed))
    owed_here = not cancelled and month in closed
    for key in {(b.party_id, b.currency) for b in history} | {(party_id, currency)}:
        charged = sum(b.amount_cents for b in history if (b.party_id, b.currency) == key)
        charged += sum(a.amount_cents for p, a in outcome.adjustments if (p, a.currency) == key)
        assert charged == (amount if owed_here and key == (party_id, currency) else 0)
    reference = min(b.origin for b in history) if history else month
    assert outcome.target not in closed and outcome.target > reference
