"""Input events for billing (as the scheduler and attendance publish them) and a feeder."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from academy_common.bus import Bus
from academy_common.events import CloudEvent, new_event, rfc3339
from tests.support.services import BILLING
from tests.support.waiting import eventually

CONSUMER = "billing.events"
MARCH = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)  # a class start the billing tests share
CSV = BILLING | {"Accept": "text/csv"}


def family(family_id: int, name: str = "Family", *, version: int = 1) -> CloudEvent:
    return new_event("family.upserted", {"family_id": family_id, "name": name, "email": f"f{family_id}@x.org",
                                         "active": True, "version": version}, source="/test")


def student(student_id: int, family_id: int, name: str = "Student", *, version: int = 1) -> CloudEvent:
    return new_event("student.upserted", {"student_id": student_id, "family_id": family_id, "name": name,
                                          "email": f"s{student_id}@x.org", "active": True, "version": version},
                     source="/test")


def teacher(teacher_id: int, name: str = "Teacher", *, version: int = 1) -> CloudEvent:
    return new_event("teacher.upserted", {"teacher_id": teacher_id, "name": name, "email": f"t{teacher_id}@x.org",
                                          "active": True, "version": version}, source="/test")


def klass(class_id: int, start: datetime, *, minutes: int = 60, teacher_id: int = 1,
          students: tuple[tuple[int, int], ...] = ((3, 2),), title: str = "Algebra", version: int = 1,
          status: str = "scheduled", type: str = "class.scheduled") -> CloudEvent:
    """A class snapshot; `students` are (student_id, family_id) pairs."""
    return new_event(type, {
        "class_id": class_id, "version": version, "status": status, "title": title,
        "scheduled_start": rfc3339(start), "scheduled_end": rfc3339(start + timedelta(minutes=minutes)),
        "duration_minutes": minutes, "space_name": "spaces/x", "meeting_code": "abc-defg-hij",
        "meeting_uri": "https://meet.google.com/abc-defg-hij",
        "teacher": {"teacher_id": teacher_id, "name": "T", "email": "t@x.org"},
        "students": [{"student_id": s, "family_id": f, "name": "S", "email": f"s{s}@x.org"} for s, f in students],
    }, source="/test")


def log_data(class_id: int, start: datetime, *, role: str = "student", student_id: int | None = 3,
             family_id: int | None = 2, teacher_id: int | None = None, seconds: int = 3600,
             final: bool = True, version: int = 1, corrected: bool = False, removed: bool = False,
             minutes: int = 60, attended: int | None = None, correction_reason: str | None = None
             ) -> dict[str, Any]:
    person_key = {"student": f"student:{student_id}", "teacher": f"teacher:{teacher_id}"}.get(role, "guest:users/9")
    if role != "student":
        student_id = family_id = None
    return {
        "log_id": class_id * 1000 + (student_id or teacher_id or 999), "class_id": class_id,
        "session_id": "5f0c4a2e-0000-4000-8000-000000000000", "version": version, "person_key": person_key,
        "role": role, "teacher_id": teacher_id, "student_id": student_id, "family_id": family_id,
        "email": "p@x.org", "display_name": "P", "scheduled_start": rfc3339(start),
        "scheduled_end": rfc3339(start + timedelta(minutes=minutes)), "first_join": rfc3339(start), "last_leave": None,
        "joins": 1, "attended_seconds": seconds if attended is None else attended, "billable_seconds": seconds,
        "status": "present", "late": False, "left_early": False, "final": final, "corrected": corrected,
        "billable_override": attended is not None and seconds > attended, "correction_reason": correction_reason,
        "removed": removed,
    }


def log(class_id: int, start: datetime, **kwargs: Any) -> CloudEvent:
    return new_event("attendance.log.updated", log_data(class_id, start, **kwargs), source="/test")


def teacher_log(class_id: int, start: datetime, teacher_id: int = 1, **kwargs: Any) -> CloudEvent:
    return log(class_id, start, role="teacher", teacher_id=teacher_id, **kwargs)


async def set_rate(api, kind: str, party_id: int, cents: int, effective_from: str, currency: str = "EUR") -> dict:
    status, body = await api("PUT", f"/billing/rates/{kind}/{party_id}",
                             json={"hourly_rate_cents": cents, "currency": currency, "effective_from": effective_from})
    assert status == 200, body
    return body


async def csv_rows(http, path: str, year: int = 2025, month: int = 3) -> list[list[str]]:
    async with http.get(path, params={"year": year, "month": month}, headers=CSV) as response:
        assert response.status == 200
        assert response.content_type == "text/csv" and response.charset == "utf-8"
        assert "attachment" in response.headers["Content-Disposition"]
        text = await response.text()
    assert text.endswith("\r\n")
    return list(csv.reader(io.StringIO(text, newline="")))


async def families(api, year: int, month: int, **params) -> dict:
    status, body = await api("GET", "/monitoring/billing/families", params={"year": year, "month": month, **params})
    assert status == 200, body
    return body


async def teachers(api, year: int, month: int) -> dict:
    status, body = await api("GET", "/monitoring/payroll/teachers", params={"year": year, "month": month})
    assert status == 200, body
    return body


class Feed:
    """Publishes events to the service under test and waits until it has committed them."""

    def __init__(self, bus: Bus, pool: asyncpg.Pool):
        self.bus, self.pool = bus, pool

    async def __call__(self, *events: CloudEvent) -> None:
        for event in events:
            await self.bus.publish(event)
        ids = list({e.id for e in events})

        async def processed() -> bool:
            count = await self.pool.fetchval(
                "SELECT count(*) FROM processed_events WHERE consumer = $1 AND event_id = ANY($2::text[])",
                CONSUMER, ids)
            return count == len(ids)

        await eventually(processed)
