"""What the meet-fetcher publishes: a complete participant snapshot of a class, or a failure."""
from __future__ import annotations

from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import Field, model_validator

from academy_common.contracts.base import FetchReason, Id, Payload, ScheduledWindow, SessionRef, Text, Time


class ParticipantSession(Payload):
    name: Text
    start_time: Time
    end_time: Time | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.end_time is not None and self.end_time < self.start_time:
            raise ValueError(f"session {self.name} ends before it starts")
        return self


class Participant(Payload):
    name: Text
    kind: Literal["signedin", "anonymous", "phone"]
    user: Text | None = None
    email: Text | None = Field(default=None, description="null unless signed in or resolved")
    display_name: Text | None = None
    earliest_start_time: Time | None = None
    latest_end_time: Time | None = None
    sessions: list[ParticipantSession] = Field(default_factory=list, max_length=10000)

    @model_validator(mode="after")
    def _sessions_belong_here(self) -> Self:
        for session in self.sessions:
            if not session.name.startswith(f"{self.name}/participantSessions/"):
                raise ValueError(f"session {session.name} is not a session of {self.name}")
        return self


class ConferenceRecord(Payload):
    name: Annotated[str, Field(pattern=r"^conferenceRecords/[^/]+$", max_length=300)]
    start_time: Time
    end_time: Time | None = None
    participants: list[Participant] = Field(default_factory=list, max_length=10000)

    @model_validator(mode="after")
    def _participants_belong_here(self) -> Self:
        for participant in self.participants:
            if not participant.name.startswith(f"{self.name}/participants/"):
                raise ValueError(f"participant {participant.name} is not in {self.name}")
        return self


class ParticipantsFetched(ScheduledWindow):
    """`meet.participants.fetched`: every conference record of the space overlapping the
    class's join window, complete and consistent."""

    class_id: Id
    session_id: UUID | None = Field(default=None, description="none for a manual fetch of a class not started yet")
    request_id: Text | None = Field(default=None, description="the id of the class.fetch_requested event answered")
    reason: FetchReason | None = None
    fetched_at: Time
    space_name: Text | None = None
    conference_records: list[ConferenceRecord] = Field(default_factory=list, max_length=1000)
    all_ended: bool = Field(description="a call was found and every record has an end_time (false for none)")
    last_attempt: bool = Field(default=False, description="copied from the request")


class FetchError(Payload):
    kind: str = Field(min_length=1, max_length=100,
                      description="quota | server | client | not_found | auth | malformed")
    status: int | None = None
    message: str = Field(default="", max_length=10_000)


class FetchFailed(Payload):
    """`meet.fetch_failed`: the request could not be answered."""

    class_id: Id
    session_id: SessionRef | None = None
    request_id: str = Field(min_length=1, max_length=200)
    reason: FetchReason
    error: FetchError
    retryable: bool
    failed_at: Time
