"""Small builders of Meet data and rosters for the attendance unit tests."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from attendance.intervals import Interval
from attendance.model import ConferenceRecord, MeetParticipant, MeetSession, Roster, student, teacher

START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
WINDOW = Interval(START, START + timedelta(hours=1))
ADA = teacher(1, "Ada", "ada@school.org")
BO = student(3, 2, "Bo", "bo@school.org")
CY = student(4, 2, "Cy", "cy@school.org")
ROSTER = Roster((ADA, BO, CY))


def at(minutes: float) -> datetime:
    """START + minutes."""
    return START + timedelta(minutes=minutes)


def participant(pid: str, sessions: list[tuple[float, float | None]], *, record: str = "c1", kind: str = "signedin",
                user: str | None = None, email: str | None = None, name: str | None = None) -> MeetParticipant:
    pname = f"conferenceRecords/{record}/participants/{pid}"
    return MeetParticipant(pname, kind, user, email, name, tuple(
        MeetSession(f"{pname}/participantSessions/s{i}", at(a), None if b is None else at(b))
        for i, (a, b) in enumerate(sessions)
    ))


def record(name: str = "c1", start: float = -5, end: float | None = 65, *participants: MeetParticipant,
           space: str | None = "spaces/AbC") -> ConferenceRecord:
    return ConferenceRecord(f"conferenceRecords/{name}", at(start), None if end is None else at(end), space,
                            tuple(participants))
