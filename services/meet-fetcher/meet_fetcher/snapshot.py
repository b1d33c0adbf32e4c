"""The participant snapshot of a class and the rules of incremental fetching (pure, no I/O).

Incremental fetching reuses the last snapshot of the class (a cache: losing it costs calls only):

1. Sessions of a participant are listed again unless its earliestStartTime and latestEndTime
   are unchanged and the cached sessions agree with them (latestEndTime set ⇔ every cached
   session closed) — and then only if the participant has left, or the fetch is `active`.
   Someone who left cannot gain a session without latestEndTime changing (a rejoin clears
   it, a later leave moves it). Someone still in the call can (a reconnect, a second
   device) without any change: an `active` snapshot keeps their known open session, which
   already covers them up to now; the details arrive when they leave, and `final` fetches
   always list sessions of everyone still in the call.
2. An ended conference record whose cached copy had the same endTime and everyone gone is
   settled: its participants are not listed again.
3. `active` fetches skip listing conference records while the one open record of the last
   snapshot still has someone in the call: a space has one conference at a time, so no
   record can have ended or started meanwhile. `final` fetches always list records.
4. `retry` and `manual` fetches (rare, the reconciliation path) reuse nothing.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from academy_common.events import rfc3339
from academy_common.meet_api import ConferenceRecord, Participant, ParticipantSession

FULL_REASONS = frozenset({"retry", "manual"})


@dataclass(frozen=True)
class SessionEntry:
    name: str
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class ParticipantEntry:
    name: str
    kind: str
    user: str | None
    email: str | None
    display_name: str | None
    earliest_start: datetime
    latest_end: datetime | None
    sessions: tuple[SessionEntry, ...]

    @property
    def in_call(self) -> bool:
        return self.latest_end is None

    @property
    def consistent(self) -> bool:
        """The sessions agree with the participant: some open ⇔ still in the call."""
        any_open = any(s.end is None for s in self.sessions)
        return bool(self.sessions) and any_open == self.in_call


@dataclass(frozen=True)
class RecordEntry:
    name: str
    start: datetime
    end: datetime | None
    participants: tuple[ParticipantEntry, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    space_name: str
    records: tuple[RecordEntry, ...]

    @property
    def all_ended(self) -> bool:
        """A call was found and every one of them has ended. No record is not "every call
        ended": a class whose call was not found (yet) must not read as finished."""
        return bool(self.records) and all(r.end is not None for r in self.records)

    def record(self, name: str) -> RecordEntry | None:
        return next((r for r in self.records if r.name == name), None)


# -- rules ---------------------------------------------------------------------------------

def sessions_reusable(cached: ParticipantEntry | None, fresh: Participant, reason: str) -> bool:
    if cached is None or reason in FULL_REASONS:
        return False
    unchanged = (cached.earliest_start, cached.latest_end) == (fresh.earliest_start_time, fresh.latest_end_time)
    return unchanged and cached.consistent and (not cached.in_call or reason == "active")


def record_settled(cached: RecordEntry | None, fresh: ConferenceRecord, reason: str) -> bool:
    if cached is None or reason in FULL_REASONS or fresh.end_time is None:
        return False
    gone = all(not p.in_call and p.consistent for p in cached.participants)
    return cached.end == fresh.end_time and gone


def record_to_probe(previous: Snapshot | None, reason: str) -> RecordEntry | None:
    """The open record to list participants of instead of listing records, if rule 3 allows."""
    if previous is None or reason != "active":
        return None
    ongoing = [r for r in previous.records if r.end is None]
    return ongoing[0] if len(ongoing) == 1 else None


def still_in_progress(participants: Iterable[Participant]) -> bool:
    return any(p.latest_end_time is None for p in participants)


def overlaps(start: datetime, end: datetime | None, window_start: datetime, window_end: datetime) -> bool:
    """A call belongs to the class's join window when it overlaps it (opened early and still
    running counts; its start alone decides nothing). The ends are included, as in the Meet filter."""
    return start <= window_end and (end is None or end >= window_start)


# -- building ------------------------------------------------------------------------------

def record_head(record: RecordEntry, space_name: str) -> ConferenceRecord:
    """A cached record in the shape the API lists it (rule 3 skips that listing)."""
    return ConferenceRecord(name=record.name, start_time=record.start, end_time=record.end, space=space_name)


def session_entries(sessions: Iterable[ParticipantSession]) -> tuple[SessionEntry, ...]:
    entries = (SessionEntry(s.name, s.start_time, s.end_time) for s in sessions)
    return tuple(sorted(entries, key=lambda s: (s.start, s.name)))


def participant_entry(fresh: Participant, sessions: tuple[SessionEntry, ...]) -> ParticipantEntry:
    """Without email: `with_emails` fills every signed-in user's once the snapshot is complete."""
    return ParticipantEntry(
        name=fresh.name, kind=fresh.kind, user=fresh.user, email=None,
        display_name=fresh.display_name, earliest_start=fresh.earliest_start_time,
        latest_end=fresh.latest_end_time, sessions=sessions,
    )


def record_entry(head: ConferenceRecord, participants: Iterable[ParticipantEntry]) -> RecordEntry:
    ordered = tuple(sorted(participants, key=lambda p: (p.earliest_start, p.name)))
    return RecordEntry(head.name, head.start_time, head.end_time, ordered)


def snapshot_of(space_name: str, records: Iterable[RecordEntry]) -> Snapshot:
    return Snapshot(space_name, tuple(sorted(records, key=lambda r: (r.start, r.name))))


def with_emails(snapshot: Snapshot, emails: dict[str, str | None]) -> Snapshot:
    def update(p: ParticipantEntry) -> ParticipantEntry:
        return replace(p, email=emails.get(p.user)) if p.user else p

    return replace(snapshot, records=tuple(
        replace(r, participants=tuple(update(p) for p in r.participants)) for r in snapshot.records))


def signed_in_users(snapshot: Snapshot) -> list[str]:
    return sorted({p.user for r in snapshot.records for p in r.participants if p.user})


# -- JSON (the event payload's conference_records; also the cache's format) ----------------------

def records_json(snapshot: Snapshot) -> list[dict[str, Any]]:
    return [
        {"name": r.name, "start_time": rfc3339(r.start), "end_time": rfc3339(r.end),
         "participants": [_participant_json(p) for p in r.participants]}
        for r in snapshot.records
    ]


def _participant_json(p: ParticipantEntry) -> dict[str, Any]:
    return {
        "name": p.name, "kind": p.kind, "user": p.user, "email": p.email, "display_name": p.display_name,
        "earliest_start_time": rfc3339(p.earliest_start), "latest_end_time": rfc3339(p.latest_end),
        "sessions": [{"name": s.name, "start_time": rfc3339(s.start), "end_time": rfc3339(s.end)}
                     for s in p.sessions],
    }


def snapshot_from_json(space_name: str, records: list[dict[str, Any]]) -> Snapshot:
    """The inverse of records_json; raises KeyError/ValueError/TypeError on a damaged document."""
    return Snapshot(space_name, tuple(
        RecordEntry(r["name"], _time(r["start_time"]), _optional_time(r["end_time"]), tuple(
            ParticipantEntry(
                name=p["name"], kind=p["kind"], user=p["user"], email=p["email"],
                display_name=p["display_name"], earliest_start=_time(p["earliest_start_time"]),
                latest_end=_optional_time(p["latest_end_time"]),
                sessions=tuple(SessionEntry(s["name"], _time(s["start_time"]), _optional_time(s["end_time"]))
                               for s in p["sessions"]),
            )
            for p in r["participants"]
        ))
        for r in records
    ))


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"naive time {text!r}")
    return moment


def _optional_time(text: str | None) -> datetime | None:
    return None if text is None else _time(text)
