"""Scheduling classes over HTTP: Meet spaces from the emulator, validation, updates and cancels."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from scheduler import ticker
from tests.integration.scheduler.sched_support import settle
from tests.support.contracts import assert_conforms
from tests.support.pages import every_item
from tests.support.services import ADMIN, VIEWER


async def _count(service, table: str) -> int:
    return await service.pool.fetchval(f"SELECT count(*) FROM {table}")


async def test_a_class_gets_a_new_meet_space_and_is_published(http, tap, academy, emulator, clock):
    teacher = await academy.teacher("Ada")
    family = await academy.family()
    bo, cy = [await academy.student(family["family_id"], n) for n in ("Bo", "Cy")]
    created = await academy.klass(teacher_id=teacher["teacher_id"], student_ids=[cy["student_id"], bo["student_id"]],
                                  start_in=timedelta(hours=2), minutes=45)
    space_id = created["space_name"].removeprefix("spaces/")
    assert emulator.world.spaces[space_id].meeting_code == created["meeting_code"]
    [event] = await tap.wait("class.scheduled")
    assert event.data == {
        "class_id": created["class_id"], "version": 1, "status": "scheduled", "title": "Algebra 1",
        "scheduled_start": "2026-11-25T11:00:00Z", "scheduled_end": "2026-11-25T11:45:00Z",
        "duration_minutes": 45, "space_name": created["space_name"], "meeting_code": created["meeting_code"],
        "meeting_uri": created["meeting_uri"],
        "teacher": {"teacher_id": teacher["teacher_id"], "name": "Ada", "email": teacher["email"]},
        "students": [{k: s[k] for k in ("student_id", "family_id", "name", "email")} for s in (cy, bo)],
    }
    shown = await http.get(f"/api/schedule/classes/{created['class_id']}", headers=VIEWER)
    assert await shown.json() == created
    assert created["id"] == created["class_id"]
    assert created["phase"] == "scheduled" and created["session"] is None


async def test_a_given_meeting_code_is_stored_as_its_space_name(http, service, academy, emulator):
    space = emulator.world.create_space()
    created = await academy.klass(meeting_code=space.meeting_code.upper())
    assert (created["space_name"], created["meeting_code"]) == (f"spaces/{space.id}", space.meeting_code)
    assert len(emulator.world.spaces) == 1  # none created


async def test_an_unknown_meeting_code_stores_nothing(http, service, academy):
    teacher = await academy.teacher()
    family = await academy.family()
    student = await academy.student(family["family_id"])
    body = {"title": "X", "teacher_id": teacher["teacher_id"], "student_ids": [student["student_id"]],
            "start": "2026-11-25T10:00:00Z", "duration_minutes": 60, "meeting_code": "zzz-zzzz-zzz"}
    response = await http.post("/api/schedule/classes", json=body, headers=ADMIN)
    assert response.status == 422 and "zzz-zzzz-zzz" in (await response.json())["detail"]
    assert await _count(service, "classes") == 0


@pytest.mark.parametrize("status,expected", [(503, 503), (429, 503), (403, 502)])
async def test_a_meet_failure_is_a_gateway_problem_and_stores_nothing(http, service, academy, emulator,
                                                                      status, expected):
    teacher = await academy.teacher()
    family = await academy.family()
    student = await academy.student(family["family_id"])
    emulator.set_faults({"errors": [{"method": "spaces.create", "status": status, "count": 10}]})
    body = {"title": "X", "teacher_id": teacher["teacher_id"], "student_ids": [student["student_id"]],
            "start": "2026-11-25T10:00:00Z", "duration_minutes": 60}
    response = await http.post("/api/schedule/classes", json=body, headers=ADMIN)
    assert response.status == expected and response.content_type == "application/problem+json"
    assert await _count(service, "classes") == 0
    assert await _count(service, "outbox WHERE routing_key LIKE 'class.%'") == 0


@pytest.mark.parametrize("change,status,detail", [
    ({"start": "2026-11-25T10:00:00"}, 422, "timezone"),
    ({"start": "2026-11-25T08:54:59Z"}, 422, "in the past"),
    ({"start": "next tuesday"}, 422, "start"),
    ({"duration_minutes": 0}, 422, "duration"),
    ({"duration_minutes": 24 * 60 + 1}, 422, "duration"),
    ({"teacher_id": 999}, 422, "teacher 999 does not exist"),
    ({"teacher_id": 2**70}, 422, "teacher_id"),
    ({"student_ids": []}, 422, "at least one student"),
    ({"student_ids": "dup"}, 422, "more than once"),
    ({"student_ids": [777]}, 422, "unknown student ids: 777"),
    ({"student_ids": "inactive"}, 422, "inactive student"),
    ({"teacher_id": "inactive"}, 422, "inactive"),
    ({"title": ""}, 422, "title"),
    ({"meeting_code": "no spaces/here"}, 422, "meeting_code"),
    ({"room": 4}, 422, "room"),
])
async def test_invalid_classes_are_refused_with_nothing_stored(http, service, academy, emulator,
                                                               change, status, detail):
    teacher = await academy.teacher()
    family = await academy.family()
    student = await academy.student(family["family_id"])
    body = {"title": "X", "teacher_id": teacher["teacher_id"], "student_ids": [student["student_id"]],
            "start": "2026-11-25T10:00:00Z", "duration_minutes": 60, **change}
    if change.get("student_ids") == "dup":
        body["student_ids"] = [student["student_id"]] * 2
    if change.get("student_ids") == "inactive":
        await academy.post(f"/api/students/{student['student_id']}/deactivate", {}, status=200)
        body["student_ids"] = [student["student_id"]]
    if change.get("teacher_id") == "inactive":
        await academy.post(f"/api/teachers/{teacher['teacher_id']}/deactivate", {}, status=200)
        body["teacher_id"] = teacher["teacher_id"]
    response = await http.post("/api/schedule/classes", json=body, headers=ADMIN)
    problem = await response.json()
    assert response.status == status and response.content_type == "application/problem+json"
    assert detail in problem["detail"], problem
    assert await _count(service, "classes") == 0
    assert emulator.world.spaces == {}


async def test_a_start_within_the_tolerance_is_accepted(academy):
    created = await academy.klass(start_in=-timedelta(seconds=299))
    assert created["scheduled_start"] == "2026-11-25T08:55:01Z"


async def test_an_overlapping_class_of_the_same_teacher_is_a_conflict(http, service, academy):
    first = await academy.klass(start_in=timedelta(hours=1), minutes=60)
    teacher_id, students = first["teacher"]["teacher_id"], [s["student_id"] for s in first["students"]]
    body = {"title": "Y", "teacher_id": teacher_id, "student_ids": students,
            "start": "2026-11-25T10:59:00Z", "duration_minutes": 30}
    response = await http.post("/api/schedule/classes", json=body, headers=ADMIN)
    assert response.status == 409 and str(first["class_id"]) in (await response.json())["detail"]
    back_to_back = await academy.post("/api/schedule/classes", {**body, "start": "2026-11-25T11:00:00Z"})
    assert back_to_back["scheduled_start"] == "2026-11-25T11:00:00Z"


async def test_concurrent_overlapping_classes_cannot_both_be_scheduled(http, service, academy):
    teacher = await academy.teacher()
    family = await academy.family()
    student = await academy.student(family["family_id"])
    body = {"title": "X", "teacher_id": teacher["teacher_id"], "student_ids": [student["student_id"]],
            "duration_minutes": 60}
    starts = [f"2026-11-25T10:{m:02d}:00Z" for m in range(0, 50, 5)]
    responses = await asyncio.gather(*(
        http.post("/api/schedule/classes", json={**body, "start": s}, headers=ADMIN) for s in starts))
    assert sorted(r.status for r in responses) == [201] + [409] * (len(starts) - 1)
    assert await _count(service, "classes") == 1


async def test_listing_shows_upcoming_classes_unless_asked_for_all(http, service, academy, clock):
    early = await academy.klass(start_in=timedelta(minutes=10), minutes=30)
    late = await academy.klass(start_in=timedelta(hours=5), minutes=30)
    clock.advance(hours=1)
    upcoming = await every_item(http, "/api/schedule/classes", VIEWER)
    everything = await every_item(http, "/api/schedule/classes", VIEWER, upcoming_only=False)
    assert [c["class_id"] for c in upcoming] == [late["class_id"]]
    assert [c["class_id"] for c in everything] == [early["class_id"], late["class_id"]]
    assert everything[0]["phase"] == "awaiting_data"
    teacher_id = early["teacher"]["teacher_id"]
    by_teacher = await every_item(http, "/api/schedule/classes", VIEWER, upcoming_only=False, teacher_id=teacher_id)
    assert [c["class_id"] for c in by_teacher] == [early["class_id"]]


async def test_listing_by_start_time_takes_classes_starting_in_from_to(http, service, academy, clock):
    early = await academy.klass(start_in=timedelta(minutes=10), minutes=30)
    late = await academy.klass(start_in=timedelta(hours=5), minutes=30)
    clock.advance(hours=1)  # `early` has ended: a day's list still shows it
    start, late_start = (datetime.fromisoformat(c["scheduled_start"]) for c in (early, late))
    window = {"upcoming_only": False, "from": start.isoformat(), "to": late_start.isoformat()}
    assert [c["class_id"] for c in await every_item(http, "/api/schedule/classes", VIEWER, **window)] == [
        early["class_id"]]  # `to` is exclusive: `late` starts exactly then
    later = {"upcoming_only": False, "from": (start + timedelta(seconds=1)).isoformat()}
    assert [c["class_id"] for c in await every_item(http, "/api/schedule/classes", VIEWER, **later)] == [
        late["class_id"]]
    for bad in ({"from": "2026-11-25T10:00:00"}, {"from": window["to"], "to": window["from"]}):
        response = await http.get("/api/schedule/classes", params=bad, headers=VIEWER)
        assert response.status == 422, bad


async def test_a_class_changes_before_its_start_and_not_after(http, service, tap, academy, clock):
    created = await academy.klass(start_in=timedelta(hours=1))
    family = await academy.family("Other")
    newcomer = await academy.student(family["family_id"], "Di")
    url = f"/api/schedule/classes/{created['class_id']}"
    response = await http.patch(url, json={"start": "2026-11-25T12:30:00+02:00", "duration_minutes": 90,
                                           "student_ids": [newcomer["student_id"]], "title": "Algebra 2"},
                                headers=ADMIN)
    changed = await response.json()
    assert response.status == 200, changed
    assert (changed["version"], changed["scheduled_start"], changed["scheduled_end"], changed["title"]) == (
        2, "2026-11-25T10:30:00Z", "2026-11-25T12:00:00Z", "Algebra 2")
    assert [s["student_id"] for s in changed["students"]] == [newcomer["student_id"]]
    [event] = await tap.wait("class.updated")
    assert_conforms(event)
    assert event.data == {k: v for k, v in changed.items() if k not in ("id", "phase", "session", "fetch")}
    unchanged = await http.patch(url, json={"title": "Algebra 2"}, headers=ADMIN)
    assert (await unchanged.json())["version"] == 2

    clock.advance(minutes=90)  # 10:30: started
    late = await http.patch(url, json={"title": "Too late"}, headers=ADMIN)
    assert late.status == 409 and "started" in (await late.json())["detail"]
    await settle(service, tap)
    assert len(tap.of("class.updated")) == 1


async def test_an_update_is_validated_like_a_new_class(http, service, academy):
    first = await academy.klass(start_in=timedelta(hours=1))
    second = await academy.klass(start_in=timedelta(hours=3), teacher_id=first["teacher"]["teacher_id"])
    url = f"/api/schedule/classes/{second['class_id']}"
    for body, status in (({"start": "2026-11-25T10:30:00Z"}, 409), ({"student_ids": [4242]}, 422),
                         ({"teacher_id": (await academy.teacher())["teacher_id"]}, 422),
                         ({"duration_minutes": -5}, 422), ({"start": "2026-11-25T10:30:00"}, 422),
                         ({"space_name": "spaces/x"}, 422)):
        response = await http.patch(url, json=body, headers=ADMIN)
        assert response.status == status, (body, await response.text())
    assert (await (await http.get(url, headers=VIEWER)).json()) == second


async def test_cancel_publishes_once_and_the_ticker_then_ignores_the_class(http, service, tap, academy, clock):
    created = await academy.klass(start_in=timedelta(minutes=30))
    url = f"/api/schedule/classes/{created['class_id']}/cancel"
    first = await http.post(url, headers=ADMIN)
    again = await http.post(url, headers=ADMIN)
    assert first.status == again.status == 200
    cancelled = await again.json()
    assert (cancelled["status"], cancelled["version"], cancelled["phase"]) == ("cancelled", 2, "cancelled")
    [event] = await tap.wait("class.cancelled")
    assert_conforms(event)
    assert event.data["status"] == "cancelled" and event.data["version"] == 2
    for hours in (1, 2, 30):
        await ticker.tick(service.pool, service.settings.policy, clock.now + timedelta(hours=hours))
    await settle(service, tap)
    assert not [e for e in tap.events if e.type.startswith("class.") and e.type != "class.scheduled"
                and e.type != "class.cancelled"]
    patched = await http.patch(f"/api/schedule/classes/{created['class_id']}", json={"title": "X"}, headers=ADMIN)
    assert patched.status == 409


async def test_a_started_class_cannot_be_cancelled(http, academy, clock):
    created = await academy.klass(start_in=timedelta(minutes=30))
    clock.advance(minutes=31)
    response = await http.post(f"/api/schedule/classes/{created['class_id']}/cancel", headers=ADMIN)
    assert response.status == 409


async def test_unknown_classes_are_404(http):
    for method, path in (("GET", "/api/schedule/classes/77"), ("PATCH", "/api/schedule/classes/77"),
                         ("POST", "/api/schedule/classes/77/cancel"), ("GET", "/api/schedule/classes/x")):
        response = await http.request(method, path, json={}, headers=ADMIN)
        assert response.status == 404 and response.content_type == "application/problem+json", path


async def test_classes_come_in_keyset_pages_by_start_with_the_filters_kept(http, academy, clock):
    teacher = await academy.teacher()
    family = await academy.family()
    student_ids = [(await academy.student(family["family_id"]))["student_id"]]
    made = [(await academy.klass(start_in=timedelta(hours=h), minutes=30, teacher_id=teacher["teacher_id"],
                                 student_ids=student_ids))["class_id"] for h in (5, 1, 3, 2, 4)]
    by_start = [made[i] for i in (1, 3, 2, 4, 0)]
    first = await (await http.get("/api/schedule/classes", headers=VIEWER, params={"limit": "2"})).json()
    assert [c["class_id"] for c in first["items"]] == by_start[:2] and first["next_cursor"]
    rest = await every_item(http, "/api/schedule/classes", VIEWER, limit=2, cursor=first["next_cursor"])
    assert [c["class_id"] for c in first["items"] + rest] == by_start
    clock.advance(hours=2, minutes=40)  # the first two have ended
    upcoming = await every_item(http, "/api/schedule/classes", VIEWER, limit=1, teacher_id=teacher["teacher_id"])
    assert [c["class_id"] for c in upcoming] == by_start[2:]
    for bad in ({"limit": "0"}, {"limit": "501"}, {"cursor": "garbage"}, {"cursor": "Wzdd"}):  # [7]: an id alone
        response = await http.get("/api/schedule/classes", headers=VIEWER, params=bad)
        assert response.status == 422, (bad, await response.text())
