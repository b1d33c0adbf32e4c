"""The domain's nouns: roster people, Meet data as stored, policy, computed logs."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from attendance.intervals import Interval

STATUSES = ("present", "late", "absent")
# Why a class became final: a fetch after the end saw every call ended; the finalize grace
# ran out with a call found; the scheduler's last retry found no call at all.
FINAL_REASONS = ("calls_ended", "grace_expired", "no_meeting_found")


@dataclass(frozen=True)
class Person:
    """Whom a log is about: a roster member, or a guest known only by their Meet identity."""

    person_key: str  # teacher:<id> | student:<id> | guest:<meet identity>
    role: str  # teacher | student | guest
    teacher_id: int | None = None
    student_id: int | None = None
    family_id: int | None = None
    email: str | None = None
    display_name: str | None = None
    # Guests only: how they joined, so an admin can map them to a roster person.
    participant_kind: str | None = None
    meet_user: str | None = None


def teacher_key(teacher_id: int) -> str:
    return f"teacher:{teacher_id}"


def student_key(student_id: int) -> str:
    return f"student:{student_id}"


def teacher(teacher_id: int, name: str | None, email: str | None) -> Person:
    return Person(teacher_key(teacher_id), "teacher", teacher_id=teacher_id, email=email, display_name=name)


def student(student_id: int, family_id: int, name: str | None, email: str | None) -> Person:
    return Person(student_key(student_id), "student", student_id=student_id, family_id=family_id,
                  email=email, display_name=name)


@dataclass(frozen=True)
class DirectoryEntry:
    """A teacher or student as the directory has them now (`<kind>.upserted`)."""

    person_key: str
    version: int
    name: str | None
    email: str | None
    family_id: int | None = None  # students only


def latest_entries(entries: Iterable[DirectoryEntry]) -> list[DirectoryEntry]:
    """One entry per person, the highest version, in person_key order (the lock order)."""
    latest: dict[str, DirectoryEntry] = {}
    for entry in entries:
        seen = latest.get(entry.person_key)
        if seen is None or entry.version > seen.version:
            latest[entry.person_key] = entry
    return [latest[key] for key in sorted(latest)]


@dataclass(frozen=True)
class Roster:
    members: tuple[Person, ...]

    def following(self, directory: Mapping[str, DirectoryEntry]) -> Roster:
        """The roster with each member's email, name and family as the directory has them now:
        the class snapshot only says who is in the class, and what they were when it was taken."""
        return Roster(tuple(_followed(m, directory.get(m.person_key)) for m in self.members))

    def by_key(self, person_key: str) -> Person | None:
        return next((m for m in self.members if m.person_key == person_key), None)

    def by_email(self, email: str | None) -> list[Person]:
        if not email:
            return []
        wanted = email.casefold()
        return [m for m in self.members if m.email and m.email.casefold() == wanted]


def _followed(member: Person, entry: DirectoryEntry | None) -> Person:
    if entry is None:
        return member
    family_id = entry.family_id if member.role == "student" and entry.family_id is not None else member.family_id
    return replace(member, email=entry.email, display_name=entry.name, family_id=family_id)


@dataclass(frozen=True)
class MeetSession:
    name: str
    start: datetime
    end: datetime | None  # None while the participant is still in the call


@dataclass(frozen=True)
class MeetParticipant:
    name: str
    kind: str  # signedin | anonymous | phone
    meet_user: str | None
    email: str | None
    display_name: str | None
    sessions: tuple[MeetSession, ...] = ()


@dataclass(frozen=True)
class ConferenceRecord:
    name: str
    start: datetime
    end: datetime | None
    space_name: str | None = None
    participants: tuple[MeetParticipant, ...] = ()


@dataclass(frozen=True)
class Policy:
    late_threshold: timedelta = timedelta(seconds=300)
    early_leave_threshold: timedelta = timedelta(seconds=300)
    finalize_grace: timedelta = timedelta(seconds=1800)
    join_window: timedelta = timedelta(seconds=1800)


@dataclass(frozen=True)
class FetchState:
    """What the participant snapshots of a class said about time, whatever their order."""

    last_fetched_at: datetime | None = None
    # The latest fetch at which every conference record of the class had ended (and there was one).
    ended_fetched_at: datetime | None = None
    # The latest fetch the scheduler marked as its last attempt within the retry window.
    last_attempt_fetched_at: datetime | None = None


@dataclass(frozen=True)
class ClassTouch:
    """What one message says about its class before anything else of it is stored: enough
    for a placeholder row, and the fetch it reports (participant snapshots only)."""

    class_id: int
    window: Interval
    space_name: str | None = None
    session_id: str | None = None
    fetch: FetchState = FetchState()


def merged_touches(touches: Iterable[ClassTouch]) -> list[ClassTouch]:
    """One touch per class: the first message's placeholder fields, the latest fetches."""
    merged: dict[int, ClassTouch] = {}
    for t in touches:
        seen = merged.get(t.class_id)
        if seen is None:
            merged[t.class_id] = t
            continue
        merged[t.class_id] = ClassTouch(
            t.class_id, seen.window, seen.space_name or t.space_name, seen.session_id or t.session_id,
            FetchState(_latest(seen.fetch.last_fetched_at, t.fetch.last_fetched_at),
                       _latest(seen.fetch.ended_fetched_at, t.fetch.ended_fetched_at),
                       _latest(seen.fetch.last_attempt_fetched_at, t.fetch.last_attempt_fetched_at)))
    return list(merged.values())


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max((m for m in (a, b) if m is not None), default=None)


@dataclass(frozen=True)
class ClassContext:
    class_id: int
    session_id: str | None
    window: Interval  # [scheduled_start, scheduled_end)
    final_reason: str | None = None  # one of FINAL_REASONS once final


@dataclass(frozen=True)
class CountedSession:
    """A Meet session as attendance counts it: open sessions end at the fetch or the class end."""

    name: str
    participant: str
    conference_record: str
    start: datetime
    end: datetime | None
    counted: Interval


@dataclass(frozen=True)
class ComputedLog:
    person: Person
    sessions: tuple[CountedSession, ...] = field(default_factory=tuple)
    first_join: datetime | None = None
    last_leave: datetime | None = None
    joins: int = 0
    attended_seconds: int = 0
    billable_seconds: int = 0
    status: str = "absent"
    late: bool = False
    left_early: bool = False


@dataclass(frozen=True)
class ClassState:
    """A class as attendance knows it: from its snapshots (version >= 1) or only from Meet (0)."""

    class_id: int
    version: int
    cancelled: bool
    window: Interval
    space_name: str | None
    session_id: str | None
    fetch: FetchState
    final: bool
    final_reason: str | None = None

    def context(self) -> ClassContext:
        return ClassContext(self.class_id, self.session_id, self.window, self.final_reason)

    def waiting_for(self) -> str | None:
        """Why no logs can be computed yet, or None when they can."""
        if self.version == 0:
            return "pending_class"  # sessions are stored; the roster has not arrived
        if self.fetch.last_fetched_at is None:
            return "no_snapshot"  # before any fetch, everyone would look absent
        return None
