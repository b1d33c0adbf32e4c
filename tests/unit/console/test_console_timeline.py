"""Timeline geometry: sessions → bars, clipping to the picture, overlapping devices in lanes, row order."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from console.timeline import LABEL_WIDTH, LANE_HEIGHT, WIDTH, Person, Session, lanes, picture, span

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
NOW = END + timedelta(hours=2)  # the class is over


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def person(label: str, *sessions: tuple[float, float | None, str], kind: str = "student") -> Person:
    return Person(label, kind, tuple(Session(at(a), at(b) if b is not None else None, d) for a, b, d in sessions))


def x(minutes: float) -> float:
    """The x of a moment when the picture spans exactly the scheduled hour."""
    return LABEL_WIDTH + minutes / 60 * WIDTH


def test_a_session_inside_the_window_maps_linearly():
    bar = picture(START, END, [person("Ann", (15, 45, "d1"))], NOW).rows[0].bars[0]
    assert (bar.x, bar.width) == pytest.approx((x(15), x(45) - x(15)))
    assert not bar.clipped_start and not bar.clipped_end


def test_the_scheduled_window_spans_the_axis_when_nobody_is_outside_it():
    p = picture(START, END, [person("Ann", (0, 60, "d1"))], NOW)
    assert (p.window_x, p.window_width) == pytest.approx((LABEL_WIDTH, WIDTH))


def test_an_early_join_widens_the_picture_to_the_left():
    p = picture(START, END, [person("Ann", (-15, 30, "d1"))], NOW)
    bar = p.rows[0].bars[0]
    assert bar.x == pytest.approx(LABEL_WIDTH)
    assert p.window_x == pytest.approx(LABEL_WIDTH + 15 / 75 * WIDTH)


@pytest.mark.parametrize(("join", "leave", "clipped"), [
    (-120, 30, "start"),   # joined two hours early: beyond the 30 minutes shown before the window
    (30, 200, "end"),      # stayed far beyond the end
])
def test_sessions_far_outside_are_clipped_to_the_picture(join, leave, clipped):
    p = picture(START, END, [person("Ann", (join, leave, "d1"))], NOW)
    bar = p.rows[0].bars[0]
    assert LABEL_WIDTH <= bar.x and bar.x + bar.width <= LABEL_WIDTH + WIDTH + 1e-9
    assert (bar.clipped_start, bar.clipped_end) == (clipped == "start", clipped == "end")


def test_a_session_wholly_outside_the_picture_draws_no_bar():
    p = picture(START, END, [person("Ann", (-200, -100, "d1"), (10, 20, "d1"))], NOW)
    assert len(p.rows[0].bars) == 1


def test_an_open_session_runs_to_now_and_counts_as_clipped_at_the_end():
    now = at(40)
    p = picture(START, END, [person("Ann", (10, None, "d1"))], now)
    bar = p.rows[0].bars[0]
    assert bar.x + bar.width == pytest.approx(x(40))
    assert bar.clipped_end
    assert p.now_x == pytest.approx(x(40))


def test_no_now_line_once_the_class_is_long_over():
    assert picture(START, END, [person("Ann", (0, 60, "d1"))], NOW).now_x is None


def test_overlapping_devices_take_separate_lanes_and_a_taller_row():
    p = picture(START, END, [person("Mary", (10, 60, "phone"), (30, 45, "laptop"))], NOW)
    row = p.rows[0]
    assert [b.y - row.y for b in row.bars] == [0, LANE_HEIGHT]
    assert row.height == 2 * LANE_HEIGHT
    assert row.bars[0].colour != row.bars[1].colour


def test_a_rejoin_reuses_the_first_lane():
    p = picture(START, END, [person("Allegra", (0, 20, "d1"), (30, 60, "d1"))], NOW)
    assert {b.y for b in p.rows[0].bars} == {p.rows[0].y}
    assert p.rows[0].height == LANE_HEIGHT


@pytest.mark.parametrize(("sessions", "expected"), [
    ([], []),
    ([(0, 10)], [0]),
    ([(0, 10), (10, 20)], [0, 0]),              # touching is not overlapping
    ([(0, 10), (5, 20)], [0, 1]),
    ([(0, 30), (5, 10), (12, 20)], [0, 1, 1]),  # the second lane frees up again
    ([(0, 30), (5, 25), (6, 20)], [0, 1, 2]),
    ([(20, 30), (0, 25)], [1, 0]),               # lanes follow start order, not list order
])
def test_lanes(sessions, expected):
    assert lanes(tuple(Session(at(a), at(b), "d") for a, b in sessions), NOW) == expected


def test_rows_go_teacher_then_students_then_guests_and_below_each_other():
    people = [person("Guest", (0, 5, "g"), kind="guest"), person("Ann", (0, 60, "a")),
              person("Ada", (0, 60, "t"), kind="teacher")]
    rows = picture(START, END, people, NOW).rows
    assert [r.kind for r in rows] == ["teacher", "student", "guest"]
    assert rows[0].y < rows[1].y < rows[2].y


def test_a_person_without_sessions_still_has_a_row():
    rows = picture(START, END, [person("George")], NOW).rows
    assert rows[0].label == "George" and rows[0].bars == ()


def test_each_device_keeps_one_colour_across_people():
    p = picture(START, END, [person("A", (0, 10, "x")), person("B", (0, 10, "y"), (20, 30, "x"))], NOW)
    colours = {bar.title.split(":")[0] + str(bar.x): bar.colour for row in p.rows for bar in row.bars}
    assert len(set(colours.values())) == 2


def test_span_never_reaches_past_the_outside_limit():
    left, right = span(START, END, [person("A", (-600, 600, "d"))], NOW)
    assert (left, right) == (START - timedelta(minutes=30), END + timedelta(minutes=30))


def test_ticks_are_inside_the_axis_and_in_order():
    p = picture(START, END, [person("A", (0, 60, "d"))], NOW)
    xs = [t.x for t in p.ticks]
    assert xs == sorted(xs) and len(xs) >= 2
    assert all(LABEL_WIDTH <= v <= LABEL_WIDTH + WIDTH for v in xs)
    assert p.ticks[0].label == "10:00"
