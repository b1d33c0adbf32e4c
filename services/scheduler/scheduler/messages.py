"""The events the scheduler publishes (docs/events.md), built from domain values.

Ids are derived from what the event stands for (an entity version, an occurrence), so a
replay or a racing replica produces the same id and consumers dedupe it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from academy_common.contracts import EVENT_TYPES
from academy_common.events import CloudEvent, deterministic_id, rfc3339
from scheduler.classes import Class
from scheduler.directory import Entry
from scheduler.timetable import Occurrence

# The join tolerance: a call counts for a class when it overlaps [start − margin, end + margin]
# (attendance's JOIN_WINDOW_S must not be wider, or it would miss calls never fetched).
FETCH_WINDOW_MARGIN = timedelta(minutes=30)


def upserted(entry: Entry, now: datetime) -> CloudEvent:
    return EVENT_TYPES[entry.kind.event_type].build(
        entry.payload(), time=now, id=deterministic_id("scheduler", entry.kind.name, entry.id, entry.version),
        subject=f"{entry.kind.name}/{entry.id}")


def class_changed(event_type: str, cls: Class, now: datetime) -> CloudEvent:
    """class.scheduled / class.updated / class.cancelled with the full snapshot."""
    return EVENT_TYPES[event_type].build(cls.snapshot(), time=now,
                                         id=deterministic_id("scheduler", "class", cls.class_id, cls.version),
                                         subject=f"class/{cls.class_id}")


@dataclass(frozen=True)
class LiveClass:
    """A class as the ticker sees it once its session exists: what the fetcher needs."""

    class_id: int
    session_id: str
    start: datetime
    end: datetime
    space_name: str
    meeting_code: str
    organizer_email: str


def occurred(occurrence: Occurrence, live: LiveClass, now: datetime) -> CloudEvent:
    """class.started / class.ended / class.fetch_requested for an occurrence that is due."""
    data = {"class_id": live.class_id, "session_id": live.session_id,
            "scheduled_start": rfc3339(live.start), "scheduled_end": rfc3339(live.end)}
    if occurrence.kind == "started":
        event_type, data["started_at"] = "class.started", rfc3339(now)
    elif occurrence.kind == "ended":
        event_type, data["ended_at"] = "class.ended", rfc3339(now)
    else:
        event_type = "class.fetch_requested"
        data = fetch_request(occurrence, live, now)
    return EVENT_TYPES[event_type].build(data, time=now, id=occurrence.event_id, subject=f"class/{live.class_id}")


def fetch_request(occurrence: Occurrence, live: LiveClass, now: datetime) -> dict:
    return {
        "class_id": live.class_id,
        "session_id": live.session_id,
        "reason": occurrence.reason,
        "attempt": occurrence.attempt,
        "space_name": live.space_name,
        "meeting_code": live.meeting_code,
        "organizer_email": live.organizer_email,
        "scheduled_start": rfc3339(live.start),
        "scheduled_end": rfc3339(live.end),
        "window_start": rfc3339(live.start - FETCH_WINDOW_MARGIN),
        "window_end": rfc3339(live.end + FETCH_WINDOW_MARGIN),
        "requested_at": rfc3339(now),
        "last_attempt": occurrence.last_attempt,
    }


def session_id(class_id: int) -> str:
    """One session per class (a class cannot move once started): the same id on every replica."""
    return deterministic_id("scheduler", "session", class_id)
