"""Rosters follow the directory: an edit after scheduling reaches every class already scheduled."""
from __future__ import annotations

from tests.integration.attendance.harness import ADA, BO, by_person, class_data, participant, record, snapshot_data
from tests.support.services import ADMIN

NEW_BO = {**BO, "email": "bo.new@school.org", "active": True, "version": 2}


def bo_as(email: str, *sessions: tuple[float, float | None]) -> dict:
    """Bo under another Meet account than the roster's (no remembered mapping can match it)."""
    return participant("c1", "p1", list(sessions), user="users/33", email=email, name="Bo")


async def test_an_email_edited_before_the_call_matches_the_student_in_a_class_scheduled_before(world, get_logs):
    await world.publish("class.scheduled", class_data())
    await world.publish("student.upserted", NEW_BO)
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c1", -5, None, bo_as("bo.new@school.org", (0, 50))), fetched=55))
    await world.settle()
    logs = by_person(await get_logs(class_id=7))
    assert set(logs) == {"teacher:1", "student:3", "student:4"}
    assert (logs["student:3"]["email"], logs["student:3"]["billable_seconds"]) == ("bo.new@school.org", 50 * 60)


async def test_an_email_edited_after_the_logs_recomputes_them_guest_removed(world, get_logs):
    await world.publish("class.scheduled", class_data())
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c1", -5, None, bo_as("bo.new@school.org", (0, 50))), fetched=55))
    await world.settle()
    assert by_person(await get_logs(class_id=7))["student:3"]["status"] == "absent"
    await world.publish("student.upserted", NEW_BO)
    await world.settle()
    logs = by_person(await get_logs(class_id=7))
    assert set(logs) == {"teacher:1", "student:3", "student:4"}
    assert logs["student:3"]["billable_seconds"] == 50 * 60 and logs["student:3"]["version"] == 2
    removed = [e for e in await world.log_events() if e["person_key"] == "guest:users/33"]
    assert [(e["version"], e["removed"]) for e in removed] == [(1, False), (2, True)]


async def test_a_teacher_email_edit_makes_the_teacher_present(world, get_logs):
    await world.publish("class.scheduled", class_data())
    teacher = participant("c1", "p0", [(-2, 60)], user="users/11", email="ada@academy.org", name="Ada")
    await world.publish("meet.participants.fetched", snapshot_data(7, record("c1", -5, None, teacher), fetched=30))
    await world.publish("teacher.upserted", {**ADA, "email": "ada@academy.org", "active": True, "version": 2})
    await world.settle()
    ada = by_person(await get_logs(class_id=7))["teacher:1"]
    assert (ada["email"], ada["status"], ada["billable_seconds"]) == ("ada@academy.org", "present", 60 * 60)


async def test_a_student_moved_to_another_family_moves_final_logs_and_keeps_corrections(world, http, get_logs):
    await world.publish("class.scheduled", class_data())
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c1", -5, 65, bo_as("bo@school.org", (0, 50))), fetched=70))
    await world.settle()
    bo_log = by_person(await get_logs(class_id=7))["student:3"]
    assert (bo_log["final"], bo_log["family_id"]) == (True, 2)
    response = await http.post(f"/monitoring/attendance-logs/{bo_log['log_id']}/corrections", headers=ADMIN,
                               json={"billable_seconds": 40 * 60, "reason": "camera off"})
    assert response.status == 201, await response.text()

    await world.publish("student.upserted", {**BO, "family_id": 9, "active": True, "version": 2})
    await world.publish("student.upserted", {**BO, "family_id": 5, "active": True, "version": 1})  # stale
    await world.settle()
    moved = by_person(await get_logs(class_id=7))["student:3"]
    assert (moved["family_id"], moved["final"], moved["version"]) == (9, True, 3)
    assert (moved["billable_seconds"], moved["corrected"]) == (40 * 60, True)
    assert [e["family_id"] for e in await world.log_events() if e["log_id"] == bo_log["log_id"]] == [2, 2, 9]


async def test_a_directory_edit_of_someone_on_no_roster_is_kept_for_later_classes(world, get_logs):
    await world.publish("student.upserted", NEW_BO)
    await world.settle()
    assert await world.log_events() == []
    await world.publish("class.scheduled", class_data())
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c1", -5, None, bo_as("bo.new@school.org", (0, 30))), fetched=35))
    await world.settle()
    assert by_person(await get_logs(class_id=7))["student:3"]["billable_seconds"] == 30 * 60
