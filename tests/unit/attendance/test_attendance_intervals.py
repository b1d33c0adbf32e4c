"""Interval arithmetic: examples, then properties over random interval sets (hypothesis)."""
from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attendance.intervals import Interval, clip, covered, union, whole_seconds

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def iv(start: float, end: float) -> Interval:
    return Interval(at(start), at(end))


def test_overlapping_and_touching_intervals_merge_and_disjoint_ones_do_not():
    assert union([iv(0, 10), iv(5, 20), iv(20, 30), iv(40, 50)]) == [iv(0, 30), iv(40, 50)]


def test_empty_intervals_vanish_from_a_union():
    assert union([iv(5, 5)]) == []
    assert covered([iv(5, 5), iv(7, 7)]) == timedelta(0)


def test_an_interval_cannot_end_before_it_starts():
    with pytest.raises(ValueError):
        iv(10, 5)


def test_clip_keeps_only_the_window():
    assert clip([iv(-100, 10), iv(20, 30), iv(50, 200)], iv(0, 60)) == [iv(0, 10), iv(20, 30), iv(50, 60)]
    assert clip([iv(-100, -10), iv(70, 80)], iv(0, 60)) == []


def test_whole_seconds_round_down():
    assert whole_seconds(timedelta(seconds=59, microseconds=999_999)) == 59
    assert whole_seconds(timedelta(seconds=60)) == 60
    assert whole_seconds(timedelta(0)) == 0


# -- properties ------------------------------------------------------------------------------

# Microsecond resolution (what PostgreSQL and datetime keep) over about two hours.
moments = st.integers(min_value=0, max_value=7_200_000_000).map(lambda us: T0 + timedelta(microseconds=us))


@st.composite
def intervals(draw) -> Interval:
    a, b = draw(moments), draw(moments)
    return Interval(min(a, b), max(a, b))


interval_lists = st.lists(intervals(), max_size=12)


def contains(parts: list[Interval], moment: datetime) -> bool:
    return any(p.start <= moment < p.end for p in parts)


@given(interval_lists)
def test_union_is_never_longer_than_the_sum_nor_shorter_than_the_longest(parts):
    total = covered(parts)
    assert total <= sum((p.length for p in parts), timedelta(0))
    assert total >= max((p.length for p in parts), default=timedelta(0))


@given(interval_lists, st.randoms())
def test_union_does_not_depend_on_order(parts, random):
    shuffled = list(parts)
    random.shuffle(shuffled)
    assert union(shuffled) == union(parts)


@given(interval_lists)
def test_union_is_idempotent(parts):
    once = union(parts)
    assert union(once) == once
    assert union(parts + parts) == once


@given(interval_lists)
def test_union_is_sorted_disjoint_and_covers_the_same_instants(parts):
    merged = union(parts)
    for left, right in itertools.pairwise(merged):
        assert left.end < right.start
    probes = [p.start for p in parts] + [p.end for p in parts] + [p.end - timedelta(microseconds=1) for p in parts]
    for moment in probes:
        assert contains(merged, moment) == contains(parts, moment)


@given(interval_lists, intervals())
def test_clipped_parts_lie_inside_the_window_and_are_no_longer_than_either(parts, window):
    clipped = clip(parts, window)
    assert all(window.start <= c.start and c.end <= window.end for c in clipped)
    assert covered(clipped) <= min(covered(parts), window.length)
    assert clip(clipped, window) == clipped


@given(interval_lists, moments, moments, moments)
def test_clipping_is_additive_over_adjacent_windows(parts, a, b, c):
    start, middle, end = sorted([a, b, c])
    whole = covered(clip(parts, Interval(start, end)))
    halves = covered(clip(parts, Interval(start, middle))) + covered(clip(parts, Interval(middle, end)))
    assert whole == halves


@given(interval_lists, intervals())
def test_a_window_covering_everything_clips_nothing_away(parts, extra):
    everything = Interval(T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert union(clip(parts, everything)) == union(parts)
    assert covered(parts + [extra]) >= covered(parts)
