"""A little data in each service (ids 1..5 are what generated requests mostly name), so that
generated requests reach the routes' database writes, not only their 404s."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from academy_common.events import new_event, rfc3339
from tests.integration.attendance.harness import ADA, BO, CY, bo, class_data, participant, record, snapshot_data
from tests.support.services import ADMIN
from tests.support.waiting import eventually


async def seed_scheduler(service, http) -> None:
    tomorrow = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    for path, body in [
        ("/api/teachers", {"name": "Ada", "email": "ada@school.org"}),
        ("/api/families", {"name": "Lovelace", "email": "home@school.org"}),
        ("/api/students", {"name": "Bo", "email": "bo@school.org", "family_id": 1}),
        ("/api/schedule/classes", {"title": "Algebra", "teacher_id": 1, "student_ids": [1],
                                   "start": rfc3339(tomorrow), "duration_minutes": 60}),
    ]:
        async with http.post(path, json=body, headers=ADMIN) as answer:
            assert answer.status == 201, await answer.text()


async def seed_attendance(service, http) -> None:
    """Class 1 with a teacher, two students and an anonymous guest: attendance logs 1..4."""
    ada = participant("r1", "p0", [(0, 60)], user="users/1", email=ADA["email"], name="Ada")
    guest = participant("r1", "p9", [(5, 30)], kind="anonymous", name="Visitor")
    await _consumed(service, [
        ("class.scheduled", class_data(1, students=(BO, CY))),
        ("meet.participants.fetched", snapshot_data(1, record("r1", 0, 60, ada, bo("r1", (0, 60)), guest),
                                                    fetched=61)),
    ])


async def seed_billing(service, http) -> None:
    """Teacher 1 and family 1's student 1 in class 1 of October 2026 (period 2026-10), with rates."""
    start = "2026-10-15T10:00:00Z"
    log = {"class_id": 1, "version": 1, "scheduled_start": start, "final": True}
    await _consumed(service, [
        ("teacher.upserted", {"teacher_id": 1, "name": "Ada", "email": "ada@school.org", "active": True, "version": 1}),
        ("family.upserted", {"family_id": 1, "name": "Lovelace", "email": "home@school.org", "active": True,
                             "version": 1}),
        ("student.upserted", {"student_id": 1, "family_id": 1, "name": "Bo", "email": "bo@school.org",
                              "active": True, "version": 1}),
        ("class.scheduled", {"class_id": 1, "version": 1, "status": "scheduled", "title": "Algebra",
                             "scheduled_start": start, "scheduled_end": "2026-10-15T11:00:00Z",
                             "teacher": {"teacher_id": 1}, "students": [{"student_id": 1, "family_id": 1}]}),
        ("attendance.log.updated", {**log, "log_id": 1, "person_key": "teacher:1", "role": "teacher",
                                    "teacher_id": 1, "billable_seconds": 3600}),
        ("attendance.log.updated", {**log, "log_id": 2, "person_key": "student:1", "role": "student",
                                    "student_id": 1, "family_id": 1, "billable_seconds": 3000}),
    ])
    for party in ("families", "teachers"):
        rate = {"hourly_rate_cents": 3000, "currency": "EUR", "effective_from": "2026-01-01"}
        async with http.put(f"/billing/rates/{party}/1", json=rate, headers=ADMIN) as answer:
            assert answer.status == 200, await answer.text()


async def seed_nothing(service, http) -> None:
    pass


async def _consumed(service, events: list[tuple[str, dict]]) -> None:
    """Publish the events to the service and wait until it has handled every one."""
    for type, data in events:
        await service.bus.publish(new_event(type, data, source="/badinput"))
    await eventually(lambda: _processed_at_least(service, len(events)), timeout=10, interval=0.1)


async def _processed_at_least(service, count: int) -> bool:
    return await service.pool.fetchval("SELECT count(*) FROM processed_events") >= count


SEEDS = {"scheduler": seed_scheduler, "attendance": seed_attendance, "billing": seed_billing,
         "meet-fetcher": seed_nothing}
