"""The emulator shows the world only as it is at 'now'."""

from datetime import UTC, datetime, timedelta

import pytest

from meet_emulator.clock import ManualClock
from meet_emulator.model import ParticipantKind
from meet_emulator.visibility import (
    RETENTION,
    active_conference,
    conference_view,
    participant_view,
    session_view,
    session_views,
)
from meet_emulator.world import World

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def world() -> World:
    return World(ManualClock(T0), seed=7)


def conference(world, start=0, end=60, visible_after_s=0):
    space = world.create_space()
    return world.add_conference(
        space, m(start), m(end) if end is not None else None, visible_after=timedelta(seconds=visible_after_s)
    )


@pytest.mark.parametrize(
    ("now", "visible", "has_end"),
    [(-1, False, False), (0, True, False), (30, True, False), (60, True, True), (61, True, True)],
)
def test_conference_appears_at_start_and_ends_at_end(world, now, visible, has_end):
    conf = conference(world)
    view = conference_view(conf, m(now))
    assert (view is not None) is visible
    if view is not None:
        assert (view.end is not None) is has_end
        assert (view.expire is not None) is has_end


def test_conference_late_data(world):
    conf = conference(world, visible_after_s=120)
    assert conference_view(conf, m(1)) is None
    assert conference_view(conf, m(2)) is not None
    assert conference_view(conf, m(2)).start == m(0)  # start time is the true one


def test_conference_expires_30_days_after_end(world):
    conf = conference(world)
    end = m(60)
    assert conference_view(conf, end + RETENTION - timedelta(seconds=1)).expire == end + RETENTION
    assert conference_view(conf, end + RETENTION) is None


def test_ongoing_conference_without_end(world):
    conf = conference(world, end=None)
    view = conference_view(conf, m(10_000))
    assert view is not None and view.end is None and view.expire is None


def test_session_lifecycle(world):
    conf = conference(world)
    p = world.add_participant(conf, ParticipantKind.ANONYMOUS, "Guest")
    s = world.add_session(conf, p, m(10), m(20))
    assert session_view(conf, p, s, m(9)) is None  # not started: invisible
    assert session_view(conf, p, s, m(10)).end is None
    assert session_view(conf, p, s, m(19)).end is None  # leave time in the future: no endTime
    assert session_view(conf, p, s, m(20)).end == m(20)


def test_open_session_ends_with_conference(world):
    conf = conference(world)
    p = world.add_participant(conf, ParticipantKind.PHONE, "+1")
    s = world.add_session(conf, p, m(10), None)
    assert session_view(conf, p, s, m(59)).end is None
    assert session_view(conf, p, s, m(60)).end == m(60)
    s2 = world.add_session(conf, p, m(30), m(90))  # leaves after the conference ended
    assert session_view(conf, p, s2, m(100)).end == m(60)


def test_sessions_invisible_while_conference_is_late(world):
    conf = conference(world, visible_after_s=600)
    p = world.add_participant(conf, ParticipantKind.ANONYMOUS, "Guest")
    world.add_session(conf, p, m(1), m(2))
    assert session_views(conf, p, m(5)) == []
    assert participant_view(conf, p, m(5)) is None
    assert len(session_views(conf, p, m(10))) == 1


def test_participant_two_devices(world):
    conf = conference(world)
    p = world.add_participant(conf, ParticipantKind.SIGNEDIN, user_id="1001")
    world.add_session(conf, p, m(5), m(50))  # laptop
    world.add_session(conf, p, m(10), m(40))  # phone, overlapping
    assert participant_view(conf, p, m(4)) is None
    view = participant_view(conf, p, m(20))
    assert view.earliest_start == m(5) and view.latest_end is None
    assert participant_view(conf, p, m(45)).latest_end is None  # laptop still open
    assert participant_view(conf, p, m(50)).latest_end == m(50)


def test_participant_rejoin_reopens(world):
    conf = conference(world)
    p = world.add_participant(conf, ParticipantKind.SIGNEDIN, user_id="1001")
    world.add_session(conf, p, m(5), m(10))
    world.add_session(conf, p, m(20), m(30))
    assert participant_view(conf, p, m(12)).latest_end == m(10)  # left, rejoin not yet visible
    assert participant_view(conf, p, m(25)).latest_end is None  # back in the call
    assert participant_view(conf, p, m(31)).latest_end == m(30)
    assert [v.end for v in session_views(conf, p, m(12))] == [m(10)]


def test_signed_in_user_is_one_participant(world):
    conf = conference(world)
    world.upsert_person("1001", "ada@school.org", "Ada")
    a = world.add_participant(conf, ParticipantKind.SIGNEDIN, user_id="1001")
    b = world.add_participant(conf, ParticipantKind.SIGNEDIN, user_id="users/1001")
    assert a is b and a.display_name == "Ada"
    c = world.add_participant(conf, ParticipantKind.ANONYMOUS, "Guest")
    d = world.add_participant(conf, ParticipantKind.ANONYMOUS, "Guest")
    assert c is not d


def test_active_conference(world):
    space = world.create_space()
    old = world.add_conference(space, m(-120), m(-60))
    assert active_conference([old], space.id, m(0)) is None
    live = world.add_conference(space, m(-10), m(30))
    assert active_conference([old, live], space.id, m(0)).name == live.name
    assert active_conference([old, live], space.id, m(30)) is None


@pytest.mark.parametrize(
    ("join", "leave"), [(-1, 5), (60, None), (61, 70), (10, 10), (10, 5)]
)
def test_impossible_sessions_are_rejected(world, join, leave):
    from meet_emulator.world import WorldError

    conf = conference(world)
    p = world.add_participant(conf, ParticipantKind.ANONYMOUS, "Guest")
    with pytest.raises(WorldError):
        world.add_session(conf, p, m(join), m(leave) if leave is not None else None)


def test_end_conference(world):
    conf = conference(world, end=None)
    world.clock.advance(600)
    world.end_conference(conf)
    assert conf.end == m(10)
    world.end_conference(conf, m(20))  # a later end never extends it
    assert conf.end == m(10)
