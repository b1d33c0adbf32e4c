"""Timestamps, relative offsets and the clocks."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meet_emulator.clock import ManualClock, ScaledClock
from meet_emulator.timefmt import format_timestamp, parse_offset, parse_timestamp, resolve_time

BASE = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (datetime(2026, 3, 2, 10, 0, tzinfo=UTC), None, "2026-03-02T10:00:00Z"),
        (datetime(2026, 3, 2, 10, 0, 0, 120000, tzinfo=UTC), None, "2026-03-02T10:00:00.120Z"),
        (datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=UTC), None, "2026-03-02T10:00:00.123456Z"),
        (datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=UTC), 9, "2026-03-02T10:00:00.123456000Z"),
        (datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=UTC), 3, "2026-03-02T10:00:00.123Z"),
        (datetime(2026, 3, 2, 10, 0, tzinfo=UTC), 6, "2026-03-02T10:00:00.000000Z"),
        (datetime(2026, 3, 2, 12, 0, tzinfo=timezone(timedelta(hours=2))), None, "2026-03-02T10:00:00Z"),
    ],
)
def test_format_timestamp(value, digits, expected):
    assert format_timestamp(value, digits) == expected


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 1, 1), timezones=st.just(UTC)))
def test_format_parse_roundtrip(value):
    for digits in (None, 6, 9):
        assert parse_timestamp(format_timestamp(value, digits)) == value


@pytest.mark.parametrize("bad", ["", "2026-03-02", "2026-03-02T10:00:00", "10:00", "2026-03-02T10:00:00.1234567890Z"])
def test_parse_timestamp_rejects(bad):
    with pytest.raises(ValueError):
        parse_timestamp(bad)


def test_parse_timestamp_lenient_without_tz():
    assert parse_timestamp("2026-03-02T10:00:00", require_tz=False) == BASE


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("+90s", 90), ("-5m", -300), ("+1h", 3600), ("+1h30m", 5400), ("+250ms", 0.25), ("+1d", 86400),
     ("- 2m", -120), ("+1.5h", 5400), ("+0s", 0)],
)
def test_parse_offset(text, seconds):
    assert parse_offset(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("bad", ["90s", "+", "+1x", "+h", "1h", "+1h-2m", "++1s"])
def test_parse_offset_rejects(bad):
    with pytest.raises(ValueError):
        parse_offset(bad)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, None),
        ("now", BASE),
        ("+90s", BASE + timedelta(seconds=90)),
        (-60, BASE - timedelta(minutes=1)),
        (1.5, BASE + timedelta(seconds=1.5)),
        ("2026-03-02T11:00:00Z", BASE + timedelta(hours=1)),
        ("2026-03-02T11:00:00", BASE + timedelta(hours=1)),
        (datetime(2026, 3, 2, 11, 0), BASE + timedelta(hours=1)),
    ],
)
def test_resolve_time(spec, expected):
    assert resolve_time(spec, BASE) == expected


@pytest.mark.parametrize("bad", [True, [], {}, "soon", "+soon"])
def test_resolve_time_rejects(bad):
    with pytest.raises(ValueError):
        resolve_time(bad, BASE)


class FakeWall:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_scaled_clock_speed_one_is_wall_time():
    wall = FakeWall()
    clock = ScaledClock(wall=wall)
    assert clock.now() == datetime.fromtimestamp(wall.t, UTC)
    wall.t += 10
    assert clock.now() == datetime.fromtimestamp(wall.t, UTC)


def test_scaled_clock_runs_faster():
    wall = FakeWall()
    clock = ScaledClock(60, start=BASE, wall=wall)
    assert clock.now() == BASE
    wall.t += 60  # one wall minute ...
    assert clock.now() == BASE + timedelta(hours=1)  # ... is an emulated hour
    assert clock.speed == 60


def test_scaled_clock_advance_and_set_speed():
    wall = FakeWall()
    clock = ScaledClock(2, start=BASE, wall=wall)
    clock.advance(100)
    assert clock.now() == BASE + timedelta(seconds=100)
    wall.t += 10
    assert clock.now() == BASE + timedelta(seconds=120)
    clock.set_speed(1)
    wall.t += 10
    assert clock.now() == BASE + timedelta(seconds=130)


@pytest.mark.parametrize("speed", [0, -1])
def test_scaled_clock_rejects_bad_speed(speed):
    with pytest.raises(ValueError):
        ScaledClock(speed)
    with pytest.raises(ValueError):
        ScaledClock().set_speed(speed)


def test_manual_clock():
    clock = ManualClock(BASE)
    assert clock.now() == BASE
    clock.advance(30)
    assert clock.now() == BASE + timedelta(seconds=30)
    clock.set(BASE)
    assert clock.now() == BASE
