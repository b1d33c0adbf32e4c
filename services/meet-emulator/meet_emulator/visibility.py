"""What the API shows at a moment ``now``: projections of the world's true facts.

Rules (the emulator never leaks the future):
- a conference record exists once ``now >= start + visible_after`` and until it expires
  (30 days after its end); ``endTime`` appears only once the end has passed;
- a session is invisible before it starts; its ``endTime`` appears once it has passed.
  A session open when its conference ends ends with the conference;
- a participant exists once one of its sessions is visible; ``earliestStartTime`` is its
  first visible join; ``latestEndTime`` is absent while any visible session is open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import Conference, Participant, ParticipantKind, Session

RETENTION = timedelta(days=30)


@dataclass(frozen=True)
class ConferenceView:
    name: str
    space_name: str
    start: datetime
    end: datetime | None
    expire: datetime | None


@dataclass(frozen=True)
class SessionView:
    name: str
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class ParticipantView:
    name: str
    kind: ParticipantKind
    display_name: str
    user_id: str | None
    earliest_start: datetime
    latest_end: datetime | None


def effective_end(session: Session, conference: Conference) -> datetime | None:
    """When the session really ends: its leave time, cut at the conference end."""
    if conference.end is None:
        return session.end
    return conference.end if session.end is None else min(session.end, conference.end)


def conference_view(conference: Conference, now: datetime) -> ConferenceView | None:
    if now < conference.start + conference.visible_after:
        return None
    end = conference.end if conference.end is not None and conference.end <= now else None
    expire = end + RETENTION if end is not None else None
    if expire is not None and now >= expire:
        return None
    return ConferenceView(conference.name, f"spaces/{conference.space_id}", conference.start, end, expire)


def session_view(
    conference: Conference, participant: Participant, session: Session, now: datetime
) -> SessionView | None:
    if conference_view(conference, now) is None or session.start > now:
        return None
    end = effective_end(session, conference)
    return SessionView(
        conference.session_name(participant, session),
        session.start,
        end if end is not None and end <= now else None,
    )


def session_views(conference: Conference, participant: Participant, now: datetime) -> list[SessionView]:
    views = (session_view(conference, participant, s, now) for s in participant.sessions)
    return [v for v in views if v is not None]


def participant_view(conference: Conference, participant: Participant, now: datetime) -> ParticipantView | None:
    sessions = session_views(conference, participant, now)
    if not sessions:
        return None
    still_in = any(s.end is None for s in sessions)
    return ParticipantView(
        name=conference.participant_name(participant),
        kind=participant.kind,
        display_name=participant.display_name,
        user_id=participant.user_id,
        earliest_start=min(s.start for s in sessions),
        latest_end=None if still_in else max(s.end for s in sessions if s.end is not None),
    )


def active_conference(conferences: list[Conference], space_id: str, now: datetime) -> ConferenceView | None:
    """The visible, not yet ended conference of a space (at most one in a sane scenario)."""
    views = (conference_view(c, now) for c in conferences if c.space_id == space_id)
    ongoing = [v for v in views if v is not None and v.end is None]
    return max(ongoing, key=lambda v: v.start, default=None)
