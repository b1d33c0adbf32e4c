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


def finality(window: Interval, fetch: FetchState, grace: timedelta, *, call_found: bool) -> str | None:
    """Why the class is final now (a FINAL_REASONS value), or None while it is not.

    Only fetches after the scheduled end count. With a call found: final once a fetch saw
    every call ended, or when the grace has run out. With none found, neither applies (no call
    is not "every call ended", and the call may yet show up): final only once the scheduler's
    last attempt within its retry window found nothing either."""
    last = fetch.last_fetched_at
    if last is None or last < window.end:
        return None
    if not call_found:
        gave_up = fetch.last_attempt_fetched_at
        return "no_meeting_found" if gave_up is not None and gave_up >= window.end else None
    if fetch.ended_fetched_at is not None and fetch.ended_fetched_at >= window.end:
        return "calls_ended"
    return "grace_expired" if last >= window.end + grace else None


def join_window(window: Interval, tolerance: timedelta) -> Interval:
    return Interval(window.start - tolerance, window.end + tolerance)


def overlaps(start: datetime, end: datetime | None, span: Interval) -> bool:
    """Inclusive at both ends, as the Meet filter `start_time <= end AND (end_time IS NULL OR
    end_time >= start)`; an open interval (`end` None) is still running."""
    return start <= span.end and (end is None or end >= span.start)


def considered(records: Iterable[ConferenceRecord], window: Interval, tolerance: timedelta,
               space_name: str | None = None) -> list[ConferenceRecord]:
    """Calls of the class's space that overlap its join window (the scheduled window ± the
    tolerance): a call opened an hour early and still running counts, its start alone decides nothing."""
    joinable = join_window(window, tolerance)
    return [
        r for r in records
        if overlaps(r.start, r.end, joinable) and (space_name is None or r.space_name in (None, space_name))
    ]


def counted_sessions(sessions: Iterable[MeetSession], window: Interval, tolerance: timedelta) -> list[MeetSession]:
    """A person's sessions that overlap the join window: in a space shared by back-to-back
    classes, one continuous call splits by the classes' windows."""
    joinable = join_window(window, tolerance)
    return [s for s in sessions if overlaps(s.start, s.end, joinable)]


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
            own = counted_sessions(participant.sessions, window, policy.join_window)
            if not own:
                continue
            person = resolve(participant, roster, mappings)
            # For a guest seen in several calls, the latest call's display name wins.
            people[person.person_key] = person
            sessions.setdefault(person.person_key, []).extend(
                CountedSession(s.name, participant.name, record.name, s.start, s.end,
                               counted_interval(s, window=window, fetched_at=fetched_at, final=final))
                for s in own
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
