"""The attendance-logs API: auth, filters, time range, keyset pagination, detail, bad parameters."""
from __future__ import annotations

import uuid

from tests.integration.attendance.harness import (
    SESSION_ID,
    at,
    bo,
    by_person,
    class_data,
    participant,
    record,
    snapshot_data,
)
from tests.support.services import ADMIN, BILLING, VIEWER


async def _three_classes(world) -> None:
    """Classes 7, 8, 9 starting at +0, +2 h, +4 h; Bo (as BO@School.org) in each, 3 logs per class."""
    for class_id, start in ((7, 0), (8, 120), (9, 240)):
        shouting = participant(f"c{class_id}", "p1", [(start, start + 30)], user="users/3", email="BO@School.org")
        await world.publish("class.scheduled", class_data(class_id, start=start))
        await world.publish("meet.participants.fetched", snapshot_data(
            class_id, record(f"c{class_id}", start - 5, None, shouting), fetched=start + 40, start=start))
    await world.settle()


async def test_logs_need_a_viewer_token(http):
    assert (await http.get("/monitoring/attendance-logs")).status == 401
    wrong = await http.get("/monitoring/attendance-logs", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401 and wrong.content_type == "application/problem+json"
    for headers in (VIEWER, BILLING, ADMIN):
        assert (await http.get("/monitoring/attendance-logs", headers=headers)).status == 200


async def test_filters_by_class_session_email_and_time_range(world, get_logs):
    await _three_classes(world)
    assert len(await get_logs()) == 9
    assert {log["class_id"] for log in await get_logs(class_id=8)} == {8}
    assert len(await get_logs(session_id=SESSION_ID)) == 9
    assert await get_logs(session_id=str(uuid.uuid4())) == []
    bo_logs = await get_logs(user_email="bo@SCHOOL.org")
    assert [(log["class_id"], log["person_key"]) for log in bo_logs] == [(7, "student:3"), (8, "student:3"),
                                                                          (9, "student:3")]
    ranged = await get_logs(**{"from": at(120), "to": at(240)})
    assert {log["class_id"] for log in ranged} == {8}
    assert {log["class_id"] for log in await get_logs(**{"from": at(121)})} == {9}
    assert await get_logs(class_id=7, user_email="cy@school.org") != []
    assert await get_logs(class_id=7, user_email="nobody@school.org") == []


async def test_keyset_pages_cover_every_log_once_in_order(world, http):
    await _three_classes(world)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await (await http.get("/monitoring/attendance-logs", params=params, headers=VIEWER)).json()
        seen += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 5 and len(seen) == 9 and len({log["log_id"] for log in seen}) == 9
    keys = [(log["scheduled_start"], log["log_id"]) for log in seen]
    assert keys == sorted(keys)


async def test_one_log_in_full_with_its_sessions(world, http, get_logs):
    await world.publish("class.scheduled", class_data())
    await world.publish("meet.participants.fetched", snapshot_data(
        7, record("c1", -5, None, bo("c1", (0, 20), (25, None))), fetched=30))
    await world.settle()
    log_id = by_person(await get_logs(class_id=7))["student:3"]["log_id"]
    detail = await (await http.get(f"/monitoring/attendance-logs/{log_id}", headers=VIEWER)).json()
    assert (detail["log_id"], detail["person_key"], detail["corrections"]) == (log_id, "student:3", [])
    assert [(s["start_time"], s["end_time"], s["counted_end"]) for s in detail["sessions"]] == [
        (at(0), at(20), at(20)), (at(25), None, at(30))]
    assert detail["computed"] == {"billable_seconds": 25 * 60, "status": "present"}


async def test_unknown_logs_are_404_problems(http):
    for log_id in ("12345", "nope", "-1", "0", "99999999999999999999"):
        response = await http.get(f"/monitoring/attendance-logs/{log_id}", headers=VIEWER)
        assert (response.status, response.content_type) == (404, "application/problem+json"), log_id


async def test_bad_parameters_are_422_problems_not_500s(http):
    bad = [{"session_id": "nope"}, {"class_id": "x"}, {"class_id": "0"}, {"class_id": str(2**63)},
           {"limit": "0"}, {"limit": "501"}, {"limit": "many"}, {"from": "2026-11-25T10:00:00"},
           {"from": "yesterday"}, {"from": at(60), "to": at(0)}, {"cursor": "garbage"},
           {"cursor": "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwgMV0"}]  # a cursor with a naive time
    for params in bad:
        response = await http.get("/monitoring/attendance-logs", params=params, headers=VIEWER)
        problem = await response.json()
        assert (response.status, response.content_type) == (422, "application/problem+json"), params
        assert problem["status"] == 422 and problem["detail"], params


async def test_health_metrics_and_openapi_need_no_token(http, world, get_logs):
    await world.publish("class.scheduled", class_data())
    await world.publish("meet.participants.fetched", snapshot_data(7, record("c1", -5, None), fetched=10))
    await world.settle()
    assert (await http.get("/healthz")).status == 200
    ready = await (await http.get("/readyz")).json()
    assert ready["checks"] == {"broker": True, "database": True}
    metrics = await (await http.get("/metrics")).text()
    assert "attendance_logs_updated_total" in metrics and 'attendance_snapshots_total{outcome="changed"}' in metrics
    document = await http.get("/openapi.yaml")
    assert document.status == 200 and "/monitoring/attendance-logs/{log_id}/corrections" in await document.text()
