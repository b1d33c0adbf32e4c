"""The emulated world's facts: plain dataclasses, independent of HTTP and of "now".

Times are the *true* times of events (some may lie in the future); what the API shows
at a given moment is computed in :mod:`meet_emulator.visibility`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


class ParticipantKind(str, enum.Enum):
    SIGNEDIN = "signedin"
    ANONYMOUS = "anonymous"
    PHONE = "phone"


@dataclass
class Person:
    """A Google account, as the People API knows it (``people/{user_id}``)."""

    user_id: str
    email: str | None = None
    display_name: str | None = None
    other_emails: list[str] = field(default_factory=list)

    @property
    def resource_name(self) -> str:
        return f"people/{self.user_id}"


@dataclass
class Space:
    id: str
    meeting_code: str
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"spaces/{self.id}"

    @property
    def meeting_uri(self) -> str:
        return f"https://meet.google.com/{self.meeting_code}"


@dataclass
class Session:
    """One join→leave of one device. ``end`` None = has not left (yet)."""

    id: str
    start: datetime
    end: datetime | None = None


@dataclass
class Participant:
    id: str
    kind: ParticipantKind
    display_name: str
    user_id: str | None = None  # signed-in users only
    sessions: list[Session] = field(default_factory=list)


@dataclass
class Conference:
    """One call in a space (a conference record)."""

    id: str
    space_id: str
    start: datetime
    end: datetime | None = None
    visible_after: timedelta = timedelta(0)  # late data: the record shows up this long after start
    participants: list[Participant] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"conferenceRecords/{self.id}"

    def participant_name(self, participant: Participant) -> str:
        return f"{self.name}/participants/{participant.id}"

    def session_name(self, participant: Participant, session: Session) -> str:
        return f"{self.participant_name(participant)}/participantSessions/{session.id}"
