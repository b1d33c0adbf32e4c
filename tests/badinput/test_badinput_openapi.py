"""Every operation of every OpenAPI document, fuzzed with hypothesis (issue 8, "Bad input").

Requests come from the documents (tests/badinput/openapi_requests.py): valid by the schemas, of
the wrong shape, hostile, or not JSON at all, always with a token the route allows (admin). For
each one: never a 5xx; a 4xx is problem+json and leaves the stored data as it was (no row, no
outbox event); a GET changes nothing; a 2xx is a status the document lists, in a media type it
lists, and parses. A valid write legitimately stores data: the next request starts from there.

Each service starts with a little data (ids 1..5 are what the generated paths mostly name), so
corrections, mappings, class changes and period closes reach their database writes.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from academy_common.events import new_event, rfc3339
from tests.badinput.openapi_requests import Operation, Request, inline, operations, requests
from tests.badinput.problems import assert_problem, send
from tests.badinput.stacks import SERVICES, Snapshots, openapi
from tests.integration.attendance.harness import ADA, BO, CY, bo, class_data, participant, record, snapshot_data
from tests.support.services import ADMIN
from tests.support.waiting import eventually

OPERATIONS = {name: {str(op): op for op in operations(openapi(name))} for name in SERVICES}


@pytest.fixture
async def stack(name, start, client):
    """The service with its seed data (started once for all the examples of a test) and a client on it."""
    async with start(name) as service, client(service) as http:
        channel = await service.bus.connection.channel()
        sink = await channel.declare_queue(exclusive=True)  # takes the events no other queue binds
        await sink.bind(service.settings.bus_exchange, "#")
        await SEEDS[name](service, http)
        await eventually(Snapshots(service).settled, timeout=10, interval=0.1)
        yield service, http
        await channel.close()


@pytest.mark.parametrize("name", SERVICES)
@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
async def test_every_documented_operation_survives_generated_requests(name, stack, data):
    service, http = stack
    op = OPERATIONS[name][data.draw(st.sampled_from(sorted(OPERATIONS[name])), label="operation")]
    request = data.draw(requests(op), label="request")
    snapshots = Snapshots(service)
    before = await snapshots.take()
    status, content_type, body = await send(http, request, ADMIN)
    event(f"{op} {status}")  # --hypothesis-show-statistics: what each operation answered
    assert status < 500, f"{request!r}: {status} {body[:500]!r}"
    if status >= 400:
        assert_problem(status, content_type, body, request)
    else:
        check_success(op, request, status, content_type, body)
    if status >= 400 or request.method == "GET":
        after = await snapshots.take()
        changed = sorted(table for table in after.keys() | before.keys() if after.get(table) != before.get(table))
        assert not changed, f"{request!r} answered {status} but changed {changed}"
    else:  # a write that was accepted: whatever it starts in the background ends before the next request
        await eventually(snapshots.settled, timeout=10, interval=0.05)


def check_success(op: Operation, request: Request, status: int, content_type: str, body: bytes) -> None:
    documented = op.spec["responses"].get(str(status))
    assert documented is not None, f"{request!r}: {status}, which the document does not list for {op}"
    media_types = inline(documented, op.doc).get("content", {})
    if media_types:
        assert content_type in media_types, f"{request!r}: {status} {content_type}, documented {list(media_types)}"
    if content_type == "application/json":
        json.loads(body)
    elif content_type == "text/csv":
        header, *rows = csv.reader(io.StringIO(body.decode("utf-8")))
        assert all(len(row) == len(header) for row in rows), f"{request!r}: ragged CSV"
    elif content_type == "application/yaml":
        yaml.safe_load(body)
    else:
        body.decode("utf-8")


# -- seed data ------------------------------------------------------------------------------------

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
