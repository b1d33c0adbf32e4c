"""The ticker's pure core: which transitions and fetch requests are due, with a clock in hand."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.timetable import (
    Attempt,
    Occurrence,
    Progress,
    TickPolicy,
    due,
    is_last_retry,
    manual,
    retry_offset_us,
    retry_slot,
)

START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
POLICY = TickPolicy(fetch_interval_s=180, retry_interval_s=600, retry_max_gap_s=6 * 3600,
                    retry_window_s=7 * 86400)
FRESH = Progress(class_id=7, start=START, end=END)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def keys(occurrences: list[Occurrence]) -> list[tuple]:
    return [(o.kind, o.reason, o.seq) for o in occurrences]


def applied(progress: Progress, occurrences: list[Occurrence], now: datetime) -> Progress:
    """The progress after the adapter emitted `occurrences` at `now` (what the database would say)."""
    for o in occurrences:
        if o.kind == "started":
            progress = dataclasses.replace(progress, started=True)
        elif o.kind == "ended":
            progress = dataclasses.replace(progress, ended=True)
        elif o.reason == "active":
            progress = dataclasses.replace(progress, last_active_seq=o.seq)
        elif o.reason in ("final", "retry"):
            progress = dataclasses.replace(progress, attempts=progress.attempts + (Attempt(o.reason, o.seq, now),))
    return progress


def run(progress: Progress, times: list[datetime], policy: TickPolicy = POLICY) -> tuple[Progress, list[tuple]]:
    """Tick at each time, feeding back what was emitted: (final progress, [(now, occurrence)])."""
    log = []
    for now in times:
        found = due(progress, now, policy)
        log += [(now, o) for o in found]
        progress = applied(progress, found, now)
    return progress, log


def started_and_running() -> Progress:
    return dataclasses.replace(FRESH, started=True, last_active_seq=0)


def ended_with_final(at: datetime = END) -> Progress:
    return dataclasses.replace(FRESH, started=True, ended=True, last_active_seq=19,
                               attempts=(Attempt("final", 0, at),))


# -- transitions -------------------------------------------------------------------------------

def test_nothing_is_due_before_the_start():
    assert due(FRESH, START - timedelta(microseconds=1), POLICY) == []


def test_the_start_emits_started_and_the_first_active_fetch():
    assert keys(due(FRESH, START, POLICY)) == [("started", "", 0), ("fetch", "active", 0)]


def test_an_active_fetch_is_due_once_per_fetch_interval():
    progress = started_and_running()
    assert due(progress, START + minutes(2.9), POLICY) == []
    [fetch] = due(progress, START + minutes(3), POLICY)
    assert (fetch.reason, fetch.seq, fetch.due_at) == ("active", 1, START + minutes(3))


def test_after_downtime_only_the_current_active_slot_is_due():
    found = due(started_and_running(), START + minutes(40), POLICY)
    assert keys(found) == [("fetch", "active", 13)]
    assert found[0].due_at == START + minutes(39)


def test_the_end_emits_ended_and_the_final_fetch():
    found = due(started_and_running(), END, POLICY)
    assert keys(found) == [("ended", "", 0), ("fetch", "final", 0)]
    assert all(o.due_at == END for o in found)


def test_a_scheduler_down_through_the_whole_class_catches_up_in_order():
    assert keys(due(FRESH, END + minutes(30), POLICY)) == [("started", "", 0), ("ended", "", 0), ("fetch", "final", 0)]


def test_a_cancelled_class_emits_nothing_ever():
    cancelled = dataclasses.replace(FRESH, cancelled=True)
    for now in (START, START + minutes(30), END, END + timedelta(days=2)):
        assert due(cancelled, now, POLICY) == []


def test_a_finalized_class_asks_for_nothing_more():
    finalized = dataclasses.replace(ended_with_final(), finalized=True)
    assert due(finalized, END + timedelta(days=1), POLICY) == []


def test_a_whole_class_ticked_every_two_minutes():
    times = [START - minutes(4) + minutes(2 * i) for i in range(36)]
    progress, log = run(FRESH, times)
    emitted = [(o.kind, o.reason, o.seq) for _, o in log]
    assert emitted[0] == ("started", "", 0)
    actives = [seq for kind, reason, seq in emitted if reason == "active"]
    assert actives == sorted(set(actives)) and actives[0] == 0 and actives[-1] == 19
    assert emitted[-2:] == [("ended", "", 0), ("fetch", "final", 0)]
    assert progress.started and progress.ended


# -- retries ---------------------------------------------------------------------------------------

def test_first_retry_comes_one_retry_interval_after_the_end():
    progress = ended_with_final()
    assert due(progress, END + minutes(9.99), POLICY) == []
    [retry] = due(progress, END + minutes(10), POLICY)
    assert (retry.reason, retry.seq, retry.attempt, retry.due_at) == ("retry", 1, 2, END + minutes(10))


def test_retries_back_off_exponentially_then_every_six_hours_and_stop_after_seven_days():
    times = [END + minutes(i) for i in range(0, 8 * 24 * 60, 1)]
    _, log = run(ended_with_final(), times)
    retries = [o for _, o in log if o.reason == "retry"]
    offsets = [(o.due_at - END) / minutes(1) for o in retries]
    assert offsets[:7] == [10, 20, 40, 80, 160, 320, 640]
    gaps = [b - a for a, b in pairwise(offsets)]
    assert all(g == 360 for g in gaps[6:])
    assert offsets[-1] <= 7 * 24 * 60 < offsets[-1] + 360
    assert [o.seq for o in retries] == list(range(1, len(retries) + 1))


def test_no_retry_after_the_window_even_when_one_is_overdue():
    progress = ended_with_final()
    assert due(progress, END + timedelta(days=7, seconds=1), POLICY) == []
    assert due(progress, END + timedelta(days=7), POLICY) != []


def test_after_downtime_only_the_current_retry_slot_is_due():
    [retry] = due(ended_with_final(), END + minutes(180), POLICY)
    assert (retry.seq, retry.due_at) == (5, END + minutes(160))


def test_a_final_sent_late_covers_the_retry_slots_already_past():
    progress = ended_with_final(at=END + minutes(180))
    assert due(progress, END + minutes(181), POLICY) == []
    [retry] = due(progress, END + minutes(320), POLICY)
    assert retry.seq == 6


def test_a_failed_retry_brings_the_next_one_forward_subject_to_the_backoff():
    progress = dataclasses.replace(ended_with_final(), attempts=(
        Attempt("final", 0, END), Attempt("retry", 1, END + minutes(10)), Attempt("retry", 2, END + minutes(20)),
        Attempt("retry", 3, END + minutes(40)),
        Attempt("retry", 4, END + minutes(80), failed_at=END + minutes(81)),
    ))
    assert due(progress, END + minutes(89), POLICY) == []
    [retry] = due(progress, END + minutes(90), POLICY)
    assert (retry.seq, retry.due_at) == (5, END + minutes(90))


def test_failures_in_a_row_double_the_backoff():
    progress = dataclasses.replace(ended_with_final(), attempts=(
        Attempt("final", 0, END),
        Attempt("retry", 1, END + minutes(10), failed_at=END + minutes(11)),
        Attempt("retry", 2, END + minutes(20), failed_at=END + minutes(21)),
        Attempt("retry", 3, END + minutes(30), failed_at=END + minutes(31)),
    ))
    # three failures in a row: 40 minutes after the last request (one failure would be 10)
    assert due(progress, END + minutes(69), POLICY) == []
    [retry] = due(progress, END + minutes(70), POLICY)
    assert (retry.seq, retry.due_at) == (4, END + minutes(70))


def test_a_failure_reported_late_makes_the_retry_due_at_once():
    progress = dataclasses.replace(ended_with_final(), attempts=(
        Attempt("final", 0, END), Attempt("retry", 1, END + minutes(10)), Attempt("retry", 2, END + minutes(20)),
        Attempt("retry", 3, END + minutes(40), failed_at=END + minutes(70)),
    ))
    [retry] = due(progress, END + minutes(70), POLICY)
    assert (retry.seq, retry.due_at) == (4, END + minutes(70))


def test_a_failure_that_retrying_cannot_help_keeps_the_schedule():
    progress = dataclasses.replace(ended_with_final(), attempts=(
        Attempt("final", 0, END), Attempt("retry", 1, END + minutes(10)), Attempt("retry", 2, END + minutes(20)),
        Attempt("retry", 3, END + minutes(40), failed_at=END + minutes(41), retryable=False),
    ))
    assert due(progress, END + minutes(79), POLICY) == []
    assert keys(due(progress, END + minutes(80), POLICY)) == [("fetch", "retry", 4)]


def test_a_failed_final_makes_the_first_retry_due_after_one_interval():
    progress = dataclasses.replace(ended_with_final(), attempts=(Attempt("final", 0, END, failed_at=END + minutes(1)),))
    assert due(progress, END + minutes(9), POLICY) == []
    assert keys(due(progress, END + minutes(10), POLICY)) == [("fetch", "retry", 1)]


def test_no_failure_driven_retry_after_the_window():
    progress = dataclasses.replace(ended_with_final(), attempts=(
        Attempt("final", 0, END, failed_at=END + timedelta(days=7, minutes=1)),))
    assert due(progress, END + timedelta(days=7, minutes=11), POLICY) == []


@given(st.integers(min_value=0, max_value=10**13),
       st.floats(min_value=0.001, max_value=3600), st.floats(min_value=0.001, max_value=86400))
@settings(max_examples=300, deadline=None)
def test_the_retry_slot_is_the_last_one_due(elapsed_us, interval, cap):
    policy = TickPolicy(180, interval, cap, 7 * 86400)
    slot = retry_slot(elapsed_us, policy)
    assert slot == 0 or retry_offset_us(slot, policy) <= elapsed_us
    assert retry_offset_us(slot + 1, policy) > elapsed_us


@given(st.lists(st.integers(min_value=0, max_value=10 * 86400), min_size=1, max_size=60, unique=True),
       st.floats(min_value=1, max_value=600), st.floats(min_value=1, max_value=3600))
@settings(max_examples=200, deadline=None)
def test_ticking_at_any_times_emits_each_occurrence_once_and_in_order(seconds, fetch_interval, retry_interval):
    policy = TickPolicy(fetch_interval, retry_interval, 6 * 3600, 7 * 86400)
    times = [START - minutes(5) + timedelta(seconds=s) for s in sorted(seconds)]
    progress, log = run(FRESH, times, policy)
    emitted = [(o.kind, o.reason, o.seq) for _, o in log]
    assert len(emitted) == len(set(emitted))
    assert all(o.due_at <= now for now, o in log)
    kinds = [k for k, _, _ in emitted]
    if "ended" in kinds:
        assert kinds.index("started") < kinds.index("ended")
        assert ("fetch", "final", 0) in emitted
    if times[-1] >= END:
        assert progress.ended and any(a.reason == "final" for a in progress.attempts)
    assert not any(o.reason == "active" and o.due_at >= END for _, o in log)


def test_event_ids_are_deterministic_per_occurrence():
    a = Occurrence(7, "fetch", "retry", 3, END)
    assert a.event_id == Occurrence(7, "fetch", "retry", 3, END + minutes(5)).event_id
    assert len({a.event_id, Occurrence(7, "fetch", "retry", 4, END).event_id,
                Occurrence(8, "fetch", "retry", 3, END).event_id,
                Occurrence(7, "fetch", "active", 3, END).event_id}) == 4


def test_manual_requests_are_their_own_first_attempt():
    request = manual(7, 41, START)
    assert (request.kind, request.reason, request.seq, request.attempt) == ("fetch", "manual", 41, 1)
    assert Occurrence(7, "fetch", "final", 0, END).attempt == 1


def test_only_the_retry_after_which_no_slot_is_due_within_the_window_is_the_last_attempt():
    window_us = round(POLICY.retry_window_s * 1_000_000)
    last = next(n for n in range(1, 10_000) if retry_offset_us(n + 1, POLICY) >= window_us)
    assert retry_offset_us(last, POLICY) < window_us  # it is itself due within the window
    assert [is_last_retry(n, POLICY) for n in (1, last - 1, last, last + 1)] == [False, False, True, True]


def test_the_last_retry_request_says_it_is_the_last_attempt():
    """Ticking every minute through the retry window: exactly the final retries say so."""
    progress = dataclasses.replace(FRESH, started=True, ended=True, attempts=(Attempt("final", 0, END),))
    now, sent = END, []
    while now <= END + timedelta(seconds=POLICY.retry_window_s) + timedelta(hours=1):
        found = due(progress, now, POLICY)
        progress = applied(progress, found, now)
        sent += [o for o in found if o.reason == "retry"]
        now += timedelta(minutes=10)
    assert sent and [o.last_attempt for o in sent] == [False] * (len(sent) - 1) + [True]
    assert sent[-1].due_at <= END + timedelta(seconds=POLICY.retry_window_s)


def test_an_edge_slot_at_exactly_the_window_end_makes_the_one_before_it_the_last():
    edge = TickPolicy(fetch_interval_s=180, retry_interval_s=600, retry_max_gap_s=600, retry_window_s=3000)
    assert [is_last_retry(n, edge) for n in (3, 4, 5)] == [False, True, True]  # slot 5 is due at exactly 3000 s
