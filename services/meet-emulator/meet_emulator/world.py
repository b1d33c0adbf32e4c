"""The in-memory state: people, spaces, conference records. Synchronous, not thread-safe
(touch it only from the event loop that serves it; ``EmulatorThread`` marshals for you)."""

from __future__ import annotations

import random
import string
from datetime import datetime, timedelta
from typing import Any

from .clock import Clock, ScaledClock
from .model import Conference, Participant, ParticipantKind, Person, Session, Space

_ID_CHARS = string.ascii_letters + string.digits


class WorldError(ValueError):
    """A request to change the world that makes no sense (bad scenario data)."""


class World:
    def __init__(self, clock: Clock | None = None, *, seed: int | None = None) -> None:
        self.clock: Clock = clock or ScaledClock()
        self._rng = random.Random(seed)
        self.people: dict[str, Person] = {}
        self.spaces: dict[str, Space] = {}
        self.conferences: dict[str, Conference] = {}

    def now(self) -> datetime:
        return self.clock.now()

    def reset(self) -> None:
        self.people.clear()
        self.spaces.clear()
        self.conferences.clear()

    # ---- ids -------------------------------------------------------------------------
    def _token(self, length: int, alphabet: str = _ID_CHARS) -> str:
        return "".join(self._rng.choice(alphabet) for _ in range(length))

    def _new_space_id(self) -> str:
        while (candidate := self._token(12)) in self.spaces:
            pass
        return candidate

    def _new_meeting_code(self) -> str:
        letters = string.ascii_lowercase
        while True:
            code = f"{self._token(3, letters)}-{self._token(4, letters)}-{self._token(3, letters)}"
            if self.find_space(code) is None:
                return code

    def _new_conference_id(self) -> str:
        while (candidate := f"{self._token(8, '0123456789abcdef')}-{self._token(12)}") in self.conferences:
            pass
        return candidate

    def _new_child_id(self, taken: set[str]) -> str:
        while (candidate := self._token(16, string.digits)) in taken:
            pass
        return candidate

    # ---- people ----------------------------------------------------------------------
    def upsert_person(
        self,
        user_id: str,
        email: str | None = None,
        display_name: str | None = None,
        other_emails: list[str] | None = None,
    ) -> Person:
        user_id = _check_id(str(user_id), "user_id")
        person = Person(user_id, email, display_name, list(other_emails or []))
        self.people[user_id] = person
        return person

    # ---- spaces ----------------------------------------------------------------------
    def create_space(
        self,
        config: dict[str, Any] | None = None,
        *,
        space_id: str | None = None,
        meeting_code: str | None = None,
    ) -> Space:
        if space_id is not None:
            space_id = _check_id(space_id, "space id")
            if space_id in self.spaces:
                raise WorldError(f"space spaces/{space_id} already exists")
        if meeting_code is not None:
            meeting_code = _check_id(meeting_code.lower(), "meeting code")
            if self.find_space(meeting_code) is not None:
                raise WorldError(f"meeting code {meeting_code} is already in use")
        space = Space(
            id=space_id or self._new_space_id(),
            meeting_code=meeting_code or self._new_meeting_code(),
            config={"accessType": "TRUSTED", "entryPointAccess": "ALL", **(config or {})},
        )
        self.spaces[space.id] = space
        return space

    def find_space(self, id_or_code: str) -> Space | None:
        """By id (case-sensitive) or meeting code (case-insensitive); 'spaces/' prefix optional."""
        key = id_or_code.removeprefix("spaces/")
        if key in self.spaces:
            return self.spaces[key]
        code = key.lower()
        return next((s for s in self.spaces.values() if s.meeting_code == code), None)

    # ---- conferences -----------------------------------------------------------------
    def add_conference(
        self,
        space: Space,
        start: datetime,
        end: datetime | None = None,
        *,
        visible_after: timedelta = timedelta(0),
        conference_id: str | None = None,
    ) -> Conference:
        if end is not None and end <= start:
            raise WorldError("a conference must end after it starts")
        if conference_id is not None:
            conference_id = _check_id(conference_id.removeprefix("conferenceRecords/"), "conference id")
            if conference_id in self.conferences:
                raise WorldError(f"conferenceRecords/{conference_id} already exists")
        conference = Conference(
            id=conference_id or self._new_conference_id(),
            space_id=space.id,
            start=start,
            end=end,
            visible_after=visible_after,
        )
        self.conferences[conference.id] = conference
        return conference

    def add_participant(
        self,
        conference: Conference,
        kind: ParticipantKind,
        display_name: str | None = None,
        *,
        user_id: str | None = None,
        participant_id: str | None = None,
    ) -> Participant:
        """A signed-in user already in the conference is returned (one participant per user)."""
        if kind is ParticipantKind.SIGNEDIN:
            if not user_id:
                raise WorldError("a signed-in participant needs a user_id")
            user_id = _check_id(str(user_id).removeprefix("users/"), "user_id")
            existing = next((p for p in conference.participants if p.user_id == user_id), None)
            if existing is not None:
                return existing
            person = self.people.get(user_id)
            display_name = display_name or (person.display_name if person else None) or f"User {user_id}"
        elif user_id:
            raise WorldError(f"a {kind.value} participant has no user_id")
        taken = {p.id for p in conference.participants}
        if participant_id is not None:
            participant_id = _check_id(participant_id, "participant id")
            if participant_id in taken:
                raise WorldError(f"participant {participant_id} already exists in {conference.name}")
        participant = Participant(
            id=participant_id or self._new_child_id(taken),
            kind=kind,
            display_name=display_name or ("Anonymous" if kind is ParticipantKind.ANONYMOUS else "+1 ***-***-0000"),
            user_id=user_id if kind is ParticipantKind.SIGNEDIN else None,
        )
        conference.participants.append(participant)
        return participant

    def add_session(
        self,
        conference: Conference,
        participant: Participant,
        start: datetime,
        end: datetime | None = None,
        *,
        session_id: str | None = None,
    ) -> Session:
        if start < conference.start:
            raise WorldError(f"a session cannot start before its conference ({conference.name}) starts")
        if conference.end is not None and start >= conference.end:
            raise WorldError(f"a session cannot start after its conference ({conference.name}) ends")
        if end is not None and end <= start:
            raise WorldError("a session must end after it starts")
        taken = {s.id for s in participant.sessions}
        if session_id is not None:
            session_id = _check_id(session_id, "session id")
            if session_id in taken:
                raise WorldError(f"session {session_id} already exists")
        session = Session(id=session_id or self._new_child_id(taken), start=start, end=end)
        participant.sessions.append(session)
        return session

    def end_conference(self, conference: Conference, at: datetime | None = None) -> None:
        """End a conference (``spaces.endActiveConference``); open sessions end with it."""
        at = at or self.now()
        if at <= conference.start:
            raise WorldError("a conference must end after it starts")
        conference.end = at if conference.end is None else min(conference.end, at)


def _check_id(value: str, what: str) -> str:
    if not value or any(c in value for c in "/?#% "):
        raise WorldError(f"invalid {what}: {value!r}")
    return value
