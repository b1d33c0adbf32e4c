"""Scenario loading into the world."""

from datetime import UTC, datetime, timedelta

import pytest

from meet_emulator.clock import ManualClock, ScaledClock
from meet_emulator.model import ParticipantKind
from meet_emulator.scenario import ScenarioError, add_people, load_scenario, read_scenario_file
from meet_emulator.world import World

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def world() -> World:
    return World(ManualClock(T0), seed=1)


def test_full_scenario(world):
    summary = load_scenario(
        world,
        {
            "people": [{"user_id": "1001", "email": "ada@school.org", "display_name": "Ada"}],
            "spaces": [{"name": "spaces/abc", "meeting_code": "abc-defg-hij"}],
            "conferences": [
                {
                    "space": "spaces/abc",
                    "start": "-10m",
                    "end": "+50m",
                    "participants": [
                        {"kind": "signedin", "user_id": "1001",
                         "sessions": [{"join": "-9m", "leave": None}, {"join": "-5m", "leave": "+1m"}]},
                        {"kind": "anonymous", "display_name": "Guest"},
                        {"kind": "phone", "display_name": "+1 555-***-0101", "join": "-2m", "leave": "-1m"},
                    ],
                },
                {"meeting_code": "ABC-DEFG-HIJ", "start": "2026-03-02T08:00:00Z", "end": "2026-03-02T09:00:00Z"},
            ],
        },
    )
    assert summary["people"] == ["people/1001"]
    assert summary["spaces"] == [
        {"name": "spaces/abc", "meeting_code": "abc-defg-hij", "meeting_uri": "https://meet.google.com/abc-defg-hij"}
    ]
    first, second = summary["conferences"]
    assert first["space"] == second["space"] == "spaces/abc"
    conf = world.conferences[first["name"].split("/")[1]]
    assert conf.start == T0 - timedelta(minutes=10) and conf.end == T0 + timedelta(minutes=50)
    ada, guest, phone = conf.participants
    assert ada.kind is ParticipantKind.SIGNEDIN and ada.display_name == "Ada" and len(ada.sessions) == 2
    assert guest.sessions[0].start == conf.start and guest.sessions[0].end == conf.end  # whole conference
    assert phone.sessions[0].start == T0 - timedelta(minutes=2)
    assert len(first["participants"][0]["sessions"]) == 2


def test_same_user_twice_is_one_participant(world):
    summary = load_scenario(
        world,
        {"conferences": [{"start": "-1h", "participants": [
            {"user_id": "7", "sessions": [{"join": "-50m", "leave": "-40m"}]},
            {"user_id": "7", "sessions": [{"join": "-30m"}]},
        ]}]},
    )
    conf = world.conferences[summary["conferences"][0]["name"].split("/")[1]]
    assert len(conf.participants) == 1 and len(conf.participants[0].sessions) == 2


def test_participant_email_creates_person(world):
    load_scenario(world, {"conferences": [{"participants": [{"user_id": "9", "email": "x@y.org", "display_name": "X"}]}]})
    assert world.people["9"].email == "x@y.org"


def test_relative_times_follow_the_emulated_clock():
    wall = [1000.0]
    world = World(ScaledClock(60, start=T0, wall=lambda: wall[0]))
    summary = load_scenario(world, {"conferences": [{"start": "+1h", "end": "+2h"}]})
    conf = world.conferences[summary["conferences"][0]["name"].split("/")[1]]
    assert conf.start == T0 + timedelta(hours=1)
    wall[0] += 60  # a wall minute at speed 60
    assert world.now() == conf.start


def test_unknown_space_and_code_are_created(world):
    load_scenario(world, {"conferences": [{"space": "spaces/new1"}, {"meeting_code": "qqq-wwww-eee"}, {}]})
    assert "new1" in world.spaces
    assert world.find_space("QQQ-WWWW-EEE") is not None
    assert len(world.spaces) == 3


def test_loading_appends(world):
    load_scenario(world, {"conferences": [{"meeting_code": "aaa-bbbb-ccc", "start": "-2h", "end": "-1h"}]})
    load_scenario(world, {"conferences": [{"meeting_code": "aaa-bbbb-ccc", "start": "-30m"}]})
    assert len(world.spaces) == 1 and len(world.conferences) == 2


@pytest.mark.parametrize(
    ("scenario", "fragment"),
    [
        ({"bogus": []}, "unknown keys"),
        ({"conferences": {}}, "must be a list"),
        ({"conferences": [{"start": "+1h", "end": "+30m"}]}, "end after"),
        ({"conferences": [{"start": "yesterday"}]}, "conference start"),
        ({"conferences": [{"participants": [{"kind": "robot"}]}]}, "kind"),
        ({"conferences": [{"participants": [{"kind": "signedin"}]}]}, "user_id"),
        ({"conferences": [{"participants": [{"kind": "anonymous", "user_id": "3"}]}]}, "user_id"),
        ({"conferences": [{"start": "-1m", "participants": [{"sessions": [{"join": "-2m"}]}]}]}, "before"),
        ({"conferences": [{"participants": [{"sessions": [{"leave": "+1m"}]}]}]}, "join"),
        ({"conferences": [{"participants": [{"sessions": [], "join": "-1m"}]}]}, "not both"),
        ({"conferences": [{"visible_after_s": -1}]}, "visible_after_s"),
        ({"people": [{"email": "x@y"}]}, "user_id"),
        ({"spaces": [{"name": "spaces/a"}, {"name": "spaces/a"}]}, "already exists"),
        ({"spaces": [{"meeting_code": "a-b-c"}, {"meeting_code": "A-B-C"}]}, "in use"),
        ({"spaces": [{"name": "spaces/a/b"}]}, "invalid"),
        ({"conferences": [{"space": "spaces/a", "meeting_code": "zzz-zzzz-zzz"}],
          "spaces": [{"name": "spaces/a"}, {"meeting_code": "zzz-zzzz-zzz"}]}, "differ"),
    ],
)
def test_bad_scenarios_change_nothing(world, scenario, fragment):
    load_scenario(world, {"people": [{"user_id": "1"}], "conferences": [{"meeting_code": "kee-pppp-ppp"}]})
    before = (dict(world.people), dict(world.spaces), dict(world.conferences))
    with pytest.raises(ScenarioError) as info:
        load_scenario(world, {"people": [{"user_id": "2"}], **scenario})
    assert fragment in str(info.value)
    assert (world.people.keys(), world.spaces.keys(), world.conferences.keys()) == tuple(d.keys() for d in before)


def test_add_people_forms(world):
    assert add_people(world, [{"user_id": "people/1", "email": "a@x"}]) == ["people/1"]
    assert add_people(world, {"people": [{"user_id": "2"}]}) == ["people/2"]
    assert add_people(world, {"user_id": "3", "email": "c@x", "other_emails": ["c2@x"]}) == ["people/3"]
    assert world.people["3"].other_emails == ["c2@x"]
    with pytest.raises(ScenarioError):
        add_people(world, "nope")


def test_read_scenario_files(tmp_path):
    (tmp_path / "s.json").write_text('{"people": [{"user_id": "1"}]}')
    (tmp_path / "s.yaml").write_text("people:\n  - user_id: '1'\n    email: a@b.org\n")
    (tmp_path / "bad.json").write_text("[1]")
    assert read_scenario_file(tmp_path / "s.json") == {"people": [{"user_id": "1"}]}
    assert read_scenario_file(tmp_path / "s.yaml")["people"][0]["email"] == "a@b.org"
    with pytest.raises(ScenarioError):
        read_scenario_file(tmp_path / "bad.json")


def test_example_scenario_loads(world):
    from pathlib import Path

    example = Path(__file__).parents[3] / "services" / "meet-emulator" / "examples" / "class.yaml"
    summary = load_scenario(world, read_scenario_file(example))
    assert len(summary["conferences"]) == 2 and len(world.people) == 3
