"""Drive a running attendance service over the bus and watch what it publishes.

`Harness.publish` sends input events; `settle()` waits until every one was handled (acked or
dead-lettered) and the outbox is empty, so `events()` then holds everything published since.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aio_pika
from prometheus_client import REGISTRY

from academy_common.bus import Bus
from academy_common.events import CloudEvent, new_event, rfc3339
from academy_common.service import Service
from tests.support.contracts import assert_conforms
from tests.support.waiting import eventually

START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
SESSION_ID = "0b7f3c1e-2d4a-4b6c-9d8e-7f6a5b4c3d2e"
ADA = {"teacher_id": 1, "name": "Ada", "email": "ada@school.org"}
BO = {"student_id": 3, "family_id": 2, "name": "Bo", "email": "bo@school.org"}
CY = {"student_id": 4, "family_id": 2, "name": "Cy", "email": "cy@school.org"}
DI = {"student_id": 5, "family_id": 9, "name": "Di", "email": "di@school.org"}


def at(minutes: float) -> str:
    return rfc3339(START + timedelta(minutes=minutes))


def class_data(class_id: int = 7, *, version: int = 1, status: str = "scheduled", start: float = 0,
               students: tuple = (BO, CY), space: str = "spaces/AbC") -> dict:
    return {
        "class_id": class_id, "version": version, "status": status, "title": "Algebra 1",
        "scheduled_start": at(start), "scheduled_end": at(start + 60), "duration_minutes": 60,
        "space_name": space, "meeting_code": "abc-defg-hij", "meeting_uri": "https://meet.google.com/abc-defg-hij",
        "teacher": ADA, "students": list(students),
    }


def participant(record: str, pid: str, sessions: list[tuple[float, float | None]], *, kind: str = "signedin",
                user: str | None = None, email: str | None = None, name: str | None = None) -> dict:
    pname = f"conferenceRecords/{record}/participants/{pid}"
    return {
        "name": pname, "kind": kind, "user": user, "email": email, "display_name": name,
        "earliest_start_time": at(min(s for s, _ in sessions)), "latest_end_time": None,
        "sessions": [{"name": f"{pname}/participantSessions/s{i}", "start_time": at(s),
                      "end_time": None if e is None else at(e)} for i, (s, e) in enumerate(sessions)],
    }


def bo(record: str, *sessions: tuple[float, float | None], pid: str = "p1") -> dict:
    return participant(record, pid, list(sessions), user="users/3", email="bo@school.org", name="Bo")


def record(name: str, start: float, end: float | None, *participants: dict) -> dict:
    return {"name": f"conferenceRecords/{name}", "start_time": at(start),
            "end_time": None if end is None else at(end), "participants": list(participants)}


def snapshot_data(class_id: int = 7, *records: dict, fetched: float, all_ended: bool | None = None,
                  start: float = 0, space: str = "spaces/AbC") -> dict:
    if all_ended is None:
        all_ended = all(r["end_time"] is not None for r in records)
    return {
        "class_id": class_id, "session_id": SESSION_ID, "request_id": "req", "reason": "active",
        "fetched_at": at(fetched), "space_name": space, "scheduled_start": at(start),
        "scheduled_end": at(start + 60), "conference_records": list(records), "all_ended": all_ended,
    }


class Harness:
    def __init__(self, service: Service, bus: Bus, observer: aio_pika.abc.AbstractQueue):
        self.service, self.bus, self.observer = service, bus, observer
        self.queue = f"{service.settings.queue_prefix}attendance.events"
        self.sent: list[CloudEvent] = []
        self.seen: list[CloudEvent] = []

    async def publish(self, type: str, data: dict, *, id: str | None = None) -> CloudEvent:
        event = new_event(type, data, source="/test", id=id)
        await self.bus.publish(event)
        self.sent.append(event)
        return event

    async def resend(self, event: CloudEvent) -> None:
        await self.bus.publish(event)
        self.sent.append(event)

    def handled(self) -> int:
        return int(sum(REGISTRY.get_sample_value("bus_messages_consumed_total",
                                                 {"queue": self.queue, "outcome": outcome}) or 0
                       for outcome in ("ok", "dead_lettered")))

    async def settle(self) -> None:
        await eventually(lambda: self.handled() >= len(self.sent))
        await eventually(self._outbox_empty)

    async def _outbox_empty(self) -> bool:
        return await self.service.pool.fetchval("SELECT count(*) FROM outbox") == 0

    async def events(self, type: str | None = None) -> list[CloudEvent]:
        """Everything published so far (after `settle`), each checked against its JSON Schema."""
        while (message := await self.observer.get(fail=False)) is not None:
            await message.ack()
            event = CloudEvent.from_json(message.body)
            assert_conforms(event)
            self.seen.append(event)
        return [e for e in self.seen if type is None or e.type == type]

    async def log_events(self) -> list[dict]:
        return [e.data for e in await self.events("attendance.log.updated")]


def by_person(items: list[dict]) -> dict[str, dict]:
    return {item["person_key"]: item for item in items}
