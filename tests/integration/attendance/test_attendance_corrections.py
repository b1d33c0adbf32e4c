"""Manual corrections over HTTP: audit trail, events, and survival of later Meet data."""
from __future__ import annotations

from tests.integration.attendance.harness import bo, by_person, class_data, record, snapshot_data
from tests.support.services import ADMIN, BILLING, VIEWER


async def _bo_log_id(world, get_logs, *sessions) -> int:
    await world.publish("class.scheduled", class_data())
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c1", -5, None, bo("c1", *sessions)), fetched=30))
    await world.settle()
    return by_person(await get_logs(class_id=7))["student:3"]["log_id"]


async def test_a_correction_is_shown_published_audited_and_survives_new_data(world, http, get_logs):
    log_id = await _bo_log_id(world, get_logs, (8, 25))
    response = await http.post(f"/monitoring/attendance-logs/{log_id}/corrections", headers=ADMIN,
                               json={"billable_seconds": 3600, "status": "present", "reason": "bad connection",
                                     "allow_above_attended": True})
    assert response.status == 201, await response.text()
    corrected = await response.json()
    assert (corrected["billable_seconds"], corrected["status"], corrected["corrected"]) == (3600, "present", True)
    assert corrected["computed"] == {"billable_seconds": 17 * 60, "status": "late"}
    [audit] = corrected["corrections"]
    assert audit["before"] == {"billable_seconds": 17 * 60, "status": "late"} and audit["reason"] == "bad connection"
    assert audit["requested_by"] == "admin"
    await world.settle()
    assert [(e["version"], e["corrected"], e["billable_seconds"]) for e in await world.log_events()
            if e["log_id"] == log_id] == [(1, False, 17 * 60), (2, True, 3600)]

    # Later data changes what was computed but never the correction.
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c1", -5, None, bo("c1", (8, 25), (30, 40))), fetched=45))
    await world.settle()
    latest = (await world.log_events())[-1]
    assert (latest["log_id"], latest["version"], latest["attended_seconds"]) == (log_id, 3, 27 * 60)
    assert (latest["billable_seconds"], latest["status"], latest["corrected"]) == (3600, "present", True)
    detail = await (await http.get(f"/monitoring/attendance-logs/{log_id}", headers=VIEWER)).json()
    assert detail["computed"] == {"billable_seconds": 27 * 60, "status": "late"}
    assert len(detail["sessions"]) == 2

    # A second correction keeps the first one's status and audits what was shown before it.
    second = await http.post(f"/monitoring/attendance-logs/{log_id}/corrections", headers=ADMIN,
                             json={"billable_seconds": 1500, "reason": "left the camera off"})
    detail = await second.json()
    assert (detail["billable_seconds"], detail["status"], detail["version"]) == (1500, "present", 4)
    assert [c["before"] for c in detail["corrections"]] == [
        {"billable_seconds": 17 * 60, "status": "late"}, {"billable_seconds": 3600, "status": "present"}]
    assert detail["corrections"][1]["computed"] == {"billable_seconds": 27 * 60, "status": "late"}


async def test_marking_absent_or_excused_bills_nothing_unless_seconds_are_given(world, http, get_logs):
    log_id = await _bo_log_id(world, get_logs, (0, 25))
    url = f"/monitoring/attendance-logs/{log_id}/corrections"
    absent = await (await http.post(url, headers=ADMIN, json={"status": "absent", "reason": "camera off"})).json()
    assert (absent["status"], absent["billable_seconds"], absent["correction_reason"]) == ("absent", 0, "camera off")
    partly = await (await http.post(url, headers=ADMIN, json={"status": "excused", "billable_seconds": 600,
                                                               "reason": "left ill"})).json()
    assert (partly["status"], partly["billable_seconds"], partly["attended_seconds"]) == ("excused", 600, 25 * 60)
    await world.settle()
    published = [(e["status"], e["billable_seconds"], e["correction_reason"]) for e in await world.log_events()
                 if e["log_id"] == log_id]
    assert published == [("present", 25 * 60, None), ("absent", 0, "camera off"), ("excused", 600, "left ill")]


async def test_billable_above_attended_is_an_explicit_override_flagged_in_log_and_event(world, http, get_logs):
    log_id = await _bo_log_id(world, get_logs, (0, 25))
    url = f"/monitoring/attendance-logs/{log_id}/corrections"
    refused = await http.post(url, headers=ADMIN, json={"billable_seconds": 3600, "reason": "whole class"})
    assert refused.status == 422 and "allow_above_attended" in (await refused.json())["detail"]
    response = await http.post(url, headers=ADMIN, json={"billable_seconds": 3600, "reason": "whole class",
                                                         "allow_above_attended": True})
    detail = await response.json()
    assert (detail["billable_seconds"], detail["attended_seconds"], detail["billable_override"]) == \
           (3600, 25 * 60, True)
    assert detail["corrections"][0]["allow_above_attended"] is True
    await world.settle()
    latest = [e for e in await world.log_events() if e["log_id"] == log_id][-1]
    assert (latest["billable_override"], latest["corrected"], latest["correction_reason"]) == \
           (True, True, "whole class")


async def test_a_correction_that_changes_nothing_is_audited_but_not_published(world, http, get_logs):
    log_id = await _bo_log_id(world, get_logs, (0, 25))
    body = {"status": "present", "reason": "checked"}
    first = await http.post(f"/monitoring/attendance-logs/{log_id}/corrections", headers=ADMIN, json=body)
    second = await http.post(f"/monitoring/attendance-logs/{log_id}/corrections", headers=ADMIN, json=body)
    assert first.status == second.status == 201
    assert len((await second.json())["corrections"]) == 2
    await world.settle()
    assert [e["version"] for e in await world.log_events() if e["log_id"] == log_id] == [1, 2]


BAD_CORRECTIONS = [
    ({}, {"status": "present", "reason": "x"}, 401),
    (VIEWER, {"status": "present", "reason": "x"}, 403),
    (BILLING, {"status": "present", "reason": "x"}, 403),
    (ADMIN, b"{nope", 400),
    (ADMIN, {"status": "present"}, 422),
    (ADMIN, {"status": "present", "reason": "   "}, 422),
    (ADMIN, {"reason": "nothing to change"}, 422),
    (ADMIN, {"status": "gone", "reason": "x"}, 422),
    (ADMIN, {"billable_seconds": -1, "reason": "x"}, 422),
    (ADMIN, {"billable_seconds": "60", "reason": "x"}, 422),
    (ADMIN, {"billable_seconds": 3601, "reason": "more than the class", "allow_above_attended": True}, 422),
    (ADMIN, {"billable_seconds": 25 * 60 + 1, "reason": "more than attended"}, 422),
    (ADMIN, {"billable_seconds": 60, "reason": "x", "allow_above_attended": "yes"}, 422),
    (ADMIN, {"status": "excused ", "reason": "x"}, 422),
    (ADMIN, {"billable_seconds": 2**40, "reason": "x"}, 422),
    (ADMIN, {"status": "present", "reason": "x", "minutes": 3}, 422),
    (ADMIN, [], 422),
]


async def test_bad_corrections_are_problems_and_change_nothing(world, http, get_logs, attendance):
    log_id = await _bo_log_id(world, get_logs, (0, 25))
    for headers, body, status in BAD_CORRECTIONS:
        kwargs = {"data": body, "headers": {**headers, "Content-Type": "application/json"}} \
            if isinstance(body, bytes) else {"json": body, "headers": headers}
        response = await http.post(f"/monitoring/attendance-logs/{log_id}/corrections", **kwargs)
        assert (response.status, response.content_type) == (status, "application/problem+json"), body
        assert (await response.json())["status"] == status
    assert await attendance.pool.fetchval("SELECT count(*) FROM log_corrections") == 0
    assert await attendance.pool.fetchval("SELECT version FROM attendance_logs WHERE log_id = $1", log_id) == 1


async def test_correcting_a_log_that_does_not_exist_is_404(http):
    for log_id in ("999", "abc", "0", "99999999999999999999"):
        response = await http.post(f"/monitoring/attendance-logs/{log_id}/corrections", headers=ADMIN,
                                   json={"status": "present", "reason": "x"})
        assert (response.status, response.content_type) == (404, "application/problem+json"), log_id
