"""Scenario documents (JSON/YAML) → world state. Loading appends and is all-or-nothing.

    {"people": [{"user_id": "1001", "email": "ada@school.org", "display_name": "Ada"}],
     "spaces": [{"name": "spaces/abc", "meeting_code": "abc-defg-hij"}],
     "conferences": [{"space": "spaces/abc" | "meeting_code": "abc-defg-hij",
                      "start": T, "end": T | null, "visible_after_s": 0, "id": optional,
                      "participants": [{"kind": "signedin", "user_id": "1001", "display_name": "Ada",
                                        "sessions": [{"join": T, "leave": T | null}]},
                                       {"kind": "anonymous", "display_name": "Guest"},
                                       {"kind": "phone", "display_name": "+1 555-***-0101"}]}]}

T: absolute RFC 3339, "now", a relative offset ("+90s", "-5m", "+1h30m") or a number of
seconds, relative to the emulated "now" at load time. A participant without sessions is in
the call from the conference start to its end (or from "join" to "leave" if given).
Unknown spaces/meeting codes named by a conference are created on the fly.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .model import Conference, ParticipantKind, Person, Space
from .timefmt import format_timestamp, resolve_time
from .world import World, WorldError

_TOP = {"people", "spaces", "conferences"}
_PERSON = {"user_id", "email", "display_name", "other_emails"}
_SPACE = {"name", "id", "meeting_code", "config"}
_CONFERENCE = {"space", "meeting_code", "id", "name", "start", "end", "visible_after_s", "participants"}
_PARTICIPANT = {"kind", "user_id", "display_name", "email", "id", "sessions", "join", "leave"}
_SESSION = {"join", "leave", "id"}


class ScenarioError(ValueError):
    pass


def read_scenario_file(path: str | Path) -> dict[str, Any]:
    text = Path(path).read_text()
    if Path(path).suffix.lower() in (".yaml", ".yml"):
        import yaml  # only YAML scenario files need it

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ScenarioError("a scenario must be a mapping")
    return data


def load_scenario(world: World, data: dict[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """Apply ``data`` to ``world``; return a summary of what was created (resource names).

    On any error nothing is changed and ScenarioError is raised.
    """
    backup = copy.deepcopy((world.people, world.spaces, world.conferences))
    try:
        return _Loader(world, now or world.now()).load(data)
    except (WorldError, ValueError, TypeError, KeyError) as exc:
        world.people, world.spaces, world.conferences = backup
        raise ScenarioError(str(exc)) from exc


def add_people(world: World, entries: Any) -> list[str]:
    if isinstance(entries, dict):
        entries = entries.get("people", [entries] if "user_id" in entries else [])
    if not isinstance(entries, list):
        raise ScenarioError("people must be a list")
    try:
        return [_person(world, entry).resource_name for entry in entries]
    except (WorldError, ValueError, TypeError) as exc:
        raise ScenarioError(str(exc)) from exc


def _person(world: World, entry: Any) -> Person:
    _check_keys(entry, _PERSON, "people[]")
    if "user_id" not in entry:
        raise ScenarioError("people[] entries need a user_id")
    return world.upsert_person(
        str(entry["user_id"]).removeprefix("people/").removeprefix("users/"),
        entry.get("email"),
        entry.get("display_name"),
        entry.get("other_emails"),
    )


class _Loader:
    def __init__(self, world: World, now: datetime) -> None:
        self.world = world
        self.now = now

    def time(self, spec: Any, what: str) -> datetime | None:
        try:
            return resolve_time(spec, self.now)
        except ValueError as exc:
            raise ScenarioError(f"{what}: {exc}") from None

    def load(self, data: dict[str, Any]) -> dict[str, Any]:
        _check_keys(data, _TOP, "scenario")
        people = add_people(self.world, _list(data, "people"))
        spaces = [self.space(entry) for entry in _list(data, "spaces")]
        conferences = [self.conference(entry) for entry in _list(data, "conferences")]
        return {
            "loaded_at": format_timestamp(self.now),
            "people": people,
            "spaces": [_space_summary(s) for s in spaces],
            "conferences": conferences,
        }

    def space(self, entry: Any) -> Space:
        _check_keys(entry, _SPACE, "spaces[]")
        space_id = entry.get("id") or entry.get("name")
        return self.world.create_space(
            entry.get("config"),
            space_id=space_id.removeprefix("spaces/") if space_id else None,
            meeting_code=entry.get("meeting_code"),
        )

    def resolve_space(self, entry: dict[str, Any]) -> Space:
        by_name = self.world.find_space(entry["space"]) if entry.get("space") else None
        by_code = self.world.find_space(entry["meeting_code"]) if entry.get("meeting_code") else None
        if by_name and by_code and by_name is not by_code:
            raise ScenarioError(f"space {entry['space']} and meeting code {entry['meeting_code']} differ")
        if by_name or by_code:
            return by_name or by_code  # type: ignore[return-value]
        name = entry.get("space")
        return self.world.create_space(
            space_id=name.removeprefix("spaces/") if name else None,
            meeting_code=entry.get("meeting_code"),
        )

    def conference(self, entry: Any) -> dict[str, Any]:
        _check_keys(entry, _CONFERENCE, "conferences[]")
        space = self.resolve_space(entry)
        start = self.time(entry.get("start", "now"), "conference start")
        assert start is not None
        visible_after = entry.get("visible_after_s", 0)
        if isinstance(visible_after, bool) or not isinstance(visible_after, (int, float)) or visible_after < 0:
            raise ScenarioError("visible_after_s must be a non-negative number")
        conference = self.world.add_conference(
            space,
            start,
            self.time(entry.get("end"), "conference end"),
            visible_after=timedelta(seconds=visible_after),
            conference_id=entry.get("id") or entry.get("name"),
        )
        participants = [self.participant(conference, p) for p in _list(entry, "participants")]
        return {
            "name": conference.name,
            "space": space.name,
            "meeting_code": space.meeting_code,
            "start": format_timestamp(conference.start),
            "end": format_timestamp(conference.end) if conference.end else None,
            "participants": participants,
        }

    def participant(self, conference: Conference, entry: Any) -> dict[str, Any]:
        _check_keys(entry, _PARTICIPANT, "participants[]")
        default_kind = "signedin" if entry.get("user_id") else "anonymous"
        try:
            kind = ParticipantKind(str(entry.get("kind", default_kind)).lower())
        except ValueError:
            raise ScenarioError(f"participants[].kind must be one of {[k.value for k in ParticipantKind]}") from None
        user_id = str(entry["user_id"]).removeprefix("users/") if entry.get("user_id") is not None else None
        if entry.get("email"):
            if user_id is None:
                raise ScenarioError("participants[].email needs a user_id")
            known = self.world.people.get(user_id)
            self.world.upsert_person(user_id, entry["email"], entry.get("display_name") or (known and known.display_name))
        participant = self.world.add_participant(
            conference, kind, entry.get("display_name"), user_id=user_id, participant_id=entry.get("id")
        )
        sessions = entry.get("sessions")
        if sessions is None:
            sessions = [{"join": entry.get("join"), "leave": entry.get("leave")}]
            if entry.get("join") is None:
                sessions[0]["join"] = conference.start
            if "leave" not in entry:
                sessions[0]["leave"] = conference.end
        elif "join" in entry or "leave" in entry:
            raise ScenarioError("give either participants[].sessions or join/leave, not both")
        for session in sessions:
            _check_keys(session, _SESSION, "sessions[]")
            join = self.time(session.get("join"), "session join")
            if join is None:
                raise ScenarioError("sessions[] entries need a join time")
            leave = self.time(session.get("leave"), "session leave")
            self.world.add_session(conference, participant, join, leave, session_id=session.get("id"))
        return {
            "name": conference.participant_name(participant),
            "kind": kind.value,
            "user": f"users/{participant.user_id}" if participant.user_id else None,
            "sessions": [conference.session_name(participant, s) for s in participant.sessions],
        }


def _space_summary(space: Space) -> dict[str, str]:
    return {"name": space.name, "meeting_code": space.meeting_code, "meeting_uri": space.meeting_uri}


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ScenarioError(f"{key} must be a list")
    return value


def _check_keys(entry: Any, allowed: set[str], what: str) -> None:
    if not isinstance(entry, dict):
        raise ScenarioError(f"{what} entries must be objects")
    unknown = set(entry) - allowed
    if unknown:
        raise ScenarioError(f"unknown keys in {what}: {sorted(unknown)} (allowed: {sorted(allowed)})")
