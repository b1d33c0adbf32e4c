"""Merge a class's Meet sessions into one computed log per person."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from attendance.identity import resolve
from attendance.intervals import Interval, clip, covered, whole_seconds
from attendance.model import (
    ComputedLog,
    ConferenceRecord,
    CountedSession,
    FetchState,
    MeetSession,
    Person,
    Policy,
    Roster,
)

_ROLE_ORDER = {"teacher": 0, "student": 1, "guest": 2}


def is_final(window: Interval, fetch: FetchState, grace: timedelta) -> bool:
    """Final once a fetch after the scheduled end saw every call ended, or the grace ran out."""
    last = fetch.last_fetched_at
    if last is None or last < window.end:
        return False
    ended = fetch.ended_fetched_at is not None and fetch.ended_fetched_at >= window.end
    return ended or last >= window.end + grace


def considered(records: Iterable[ConferenceRecord], window: Interval, join_window: timedelta,
               space_name: str | None = None) -> list[ConferenceRecord]:
    """Calls of the class's space that started within the scheduled window ± join_window."""
    earliest, latest = window.start - join_window, window.end + join_window
    return [
        r for r in records
        if earliest <= r.start <= latest and (space_name is None or r.space_name in (None, space_name))
    ]


def counted_interval(session: MeetSession, *, window: Interval, fetched_at: datetime, final: bool) -> Interval:
    """A session still open counts up to the last fetch, or to the scheduled end once final."""
    if session.end is not None:
        return Interval(session.start, session.end)
    until = window.end if final else fetched_at
    return Interval(session.start, max(session.start, until))


def compute_logs(window: Interval, roster: Roster, records: Iterable[ConferenceRecord],
                 mappings: Mapping[str, str], policy: Policy, *, fetched_at: datetime, final: bool,
                 space_name: str | None = None) -> list[ComputedLog]:
    """Every roster member gets a log (absent without sessions); guests only when they joined."""
    people: dict[str, Person] = {m.person_key: m for m in roster.members}
    sessions: dict[str, list[CountedSession]] = {key: [] for key in people}
    for record in sorted(considered(records, window, policy.join_window, space_name), key=lambda r: r.start):
        for participant in record.participants:
            if not participant.sessions:
                continue
            person = resolve(participant, roster, mappings)
            # For a guest seen in several calls, the latest call's display name wins.
            people[person.person_key] = person
            sessions.setdefault(person.person_key, []).extend(
                CountedSession(s.name, participant.name, record.name, s.start, s.end,
                               counted_interval(s, window=window, fetched_at=fetched_at, final=final))
                for s in participant.sessions
            )
    logs = [summarize(people[key], found, window, policy, final=final) for key, found in sessions.items()]
    return sorted(logs, key=lambda log: (_ROLE_ORDER[log.person.role], log.person.person_key))


def summarize(person: Person, sessions: list[CountedSession], window: Interval, policy: Policy, *,
              final: bool) -> ComputedLog:
    if not sessions:
        return ComputedLog(person)
    sessions = sorted(sessions, key=lambda s: (s.start, s.name))
    intervals = [s.counted for s in sessions]
    first_join = sessions[0].start
    still_in_call = not final and any(s.end is None for s in sessions)
    last_leave = None if still_in_call else max(s.counted.end for s in sessions)
    late = first_join > window.start + policy.late_threshold
    return ComputedLog(
        person=person,
        sessions=tuple(sessions),
        first_join=first_join,
        last_leave=last_leave,
        joins=len(sessions),
        attended_seconds=whole_seconds(covered(intervals)),
        billable_seconds=whole_seconds(covered(clip(intervals, window))),
        status="late" if late else "present",
        late=late,
        left_early=last_leave is not None and last_leave < window.end - policy.early_leave_threshold,
    )
