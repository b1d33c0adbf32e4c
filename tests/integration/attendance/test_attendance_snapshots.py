"""Snapshots in, logs and events out: ordering, redelivery, finality, cancellation, roster changes."""
from __future__ import annotations

from tests.integration.attendance.harness import (
    DI,
    SESSION_ID,
    at,
    bo,
    by_person,
    class_data,
    participant,
    record,
    snapshot_data,
)


async def test_a_snapshot_becomes_one_log_per_person_and_an_event_each(world, get_logs):
    await world.publish("class.scheduled", class_data())
    guest = participant("c1", "p9", [(2, 20)], kind="anonymous", name="Visitor")
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c1", -5, None, bo("c1", (0, 10), (12, None)), guest), fetched=30))
    await world.settle()
    logs = by_person(await get_logs(class_id=7))
    assert set(logs) == {"teacher:1", "student:3", "student:4", "guest:anonymous:conferenceRecords/c1/participants/p9"}
    bo_log = logs["student:3"]
    assert (bo_log["joins"], bo_log["attended_seconds"], bo_log["last_leave"], bo_log["final"]) == \
           (2, 28 * 60, None, False)
    assert (bo_log["session_id"], bo_log["status"], bo_log["family_id"]) == (SESSION_ID, "present", 2)
    assert logs["student:4"]["status"] == logs["teacher:1"]["status"] == "absent"
    events = await world.log_events()
    assert sorted((e["person_key"], e["version"]) for e in events) == sorted((k, 1) for k in logs)
    assert by_person(events)["student:3"] == bo_log


async def test_sessions_that_arrive_before_the_class_are_kept_and_counted_once_it_is_known(world, get_logs):
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c1", -5, 65, bo("c1", (0, 45))), fetched=70))
    await world.settle()
    assert await get_logs(class_id=7) == [] and await world.events() == []
    await world.publish("class.scheduled", class_data())
    await world.settle()
    logs = by_person(await get_logs(class_id=7))
    assert logs["student:3"]["attended_seconds"] == 45 * 60 and logs["student:3"]["final"] is True
    assert len(await world.events("attendance.class.finalized")) == 1


async def test_the_same_snapshot_twice_publishes_nothing_more(world, get_logs):
    await world.publish("class.scheduled", class_data())
    data = snapshot_data(7, record("c1", -5, None, bo("c1", (0, None))), fetched=30)
    first = await world.publish("meet.participants.fetched", data)
    await world.settle()
    before = await world.log_events()
    await world.resend(first)  # a redelivery: same event id
    await world.publish("meet.participants.fetched", data)  # a new fetch that saw the same
    await world.settle()
    assert await world.log_events() == before and len(before) == 3


async def test_an_older_snapshot_after_a_newer_one_changes_nothing(world, get_logs):
    await world.publish("class.scheduled", class_data())
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c1", -5, None, bo("c1", (0, 40))), fetched=50))
    await world.settle()
    newer = by_person(await get_logs(class_id=7))["student:3"]
    events = await world.log_events()
    # Fetched earlier, delivered later: Bo still in the call, the session still open.
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c1", -5, None, bo("c1", (0, None))), fetched=20))
    await world.settle()
    assert by_person(await get_logs(class_id=7))["student:3"] == newer
    assert newer["last_leave"] == at(40) and newer["attended_seconds"] == 2400
    assert await world.log_events() == events


async def test_a_changed_log_gets_the_next_version_and_the_others_stay(world, get_logs):
    await world.publish("class.scheduled", class_data())
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c1", -5, None, bo("c1", (0, 20))), fetched=25))
    await world.settle()
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c1", -5, None, bo("c1", (0, 20), (30, None))), fetched=40))
    await world.settle()
    events = await world.log_events()
    assert sorted((e["person_key"], e["version"]) for e in events) == [
        ("student:3", 1), ("student:3", 2), ("student:4", 1), ("teacher:1", 1)]
    assert events[-1]["attended_seconds"] == 30 * 60 and events[-1]["joins"] == 2


async def test_final_class_is_finalized_once_and_late_data_still_updates_its_logs(world, get_logs):
    await world.publish("class.scheduled", class_data())
    teacher = participant("c1", "p0", [(-3, 61)], user="users/1", email="ada@school.org", name="Ada")
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c1", -5, 62, teacher, bo("c1", (2, 50))), fetched=65))
    await world.settle()
    [finalized] = await world.events("attendance.class.finalized")
    assert finalized.data["class_id"] == 7 and finalized.data["session_id"] == SESSION_ID
    assert {log["person_key"]: log["final"] for log in finalized.data["logs"]} == {
        "teacher:1": True, "student:3": True, "student:4": True}
    assert all(log["final"] for log in await get_logs(class_id=7))
    # Bo comes back in a second call within the join window, after the class was final.
    await world.publish("meet.participants.fetched", snapshot_data(
        7, record("c1", -5, 62, teacher, bo("c1", (2, 50))), record("c2", 70, 80, bo("c2", (70, 80))), fetched=85))
    await world.settle()
    assert len(await world.events("attendance.class.finalized")) == 1
    late = [e for e in await world.log_events() if e["person_key"] == "student:3"]
    assert [(e["version"], e["final"]) for e in late] == [(1, True), (2, True)]
    assert (late[-1]["joins"], late[-1]["attended_seconds"], late[-1]["billable_seconds"]) == (2, 58 * 60, 48 * 60)


async def test_a_session_still_open_when_the_grace_runs_out_counts_to_the_scheduled_end(world, get_logs):
    await world.publish("class.scheduled", class_data())
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c1", -5, None, bo("c1", (10, None))), fetched=95))
    await world.settle()
    bo_log = by_person(await get_logs(class_id=7))["student:3"]
    assert (bo_log["final"], bo_log["attended_seconds"], bo_log["last_leave"]) == (True, 50 * 60, at(60))
    assert (bo_log["status"], bo_log["late"]) == ("late", True)
    assert len(await world.events("attendance.class.finalized")) == 1


async def test_a_cancelled_class_publishes_no_logs(world, get_logs):
    await world.publish("class.scheduled", class_data())
    await world.publish("class.cancelled", class_data(version=2, status="cancelled"))
    await world.settle()
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c1", -5, 65, bo("c1", (0, 60))), fetched=70))
    await world.settle()
    assert await get_logs(class_id=7) == []
    assert await world.events() == []


async def test_a_cancellation_after_the_logs_vacates_them_and_nothing_is_finalized(world, get_logs):
    await world.publish("class.scheduled", class_data())
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c1", -5, None, bo("c1", (0, None))), fetched=30))
    await world.settle()
    assert len(await get_logs(class_id=7)) == 3
    await world.publish("class.cancelled", class_data(version=2, status="cancelled"))
    await world.settle()  # (had the final fetch come first, the class would have been finalized, then vacated)
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c1", -5, 65, bo("c1", (0, 60))), fetched=70))
    await world.settle()
    assert await get_logs(class_id=7) == []
    latest = {e["person_key"]: e for e in sorted(await world.log_events(), key=lambda e: e["version"])}
    assert [(e["removed"], e["billable_seconds"]) for e in latest.values()] == [(True, 0)] * 3
    assert await world.events("attendance.class.finalized") == []
    await world.publish("class.updated", class_data(version=3))  # not cancelled after all
    await world.settle()
    assert by_person(await get_logs(class_id=7))["student:3"]["billable_seconds"] == 60 * 60
    assert len(await world.events("attendance.class.finalized")) == 1


async def test_a_roster_change_empties_the_log_of_who_left_and_adds_who_joined(world, get_logs):
    await world.publish("class.scheduled", class_data())
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c1", -5, None, bo("c1", (0, 30))), fetched=35))
    await world.settle()
    await world.publish("class.updated", class_data(version=2, students=(DI,)))
    await world.settle()
    logs = by_person(await get_logs(class_id=7))
    assert set(logs) == {"teacher:1", "student:5", "guest:users/3"}  # Bo, off the roster, is a guest now
    assert logs["guest:users/3"]["attended_seconds"] == 1800
    removed = {e["person_key"]: e for e in await world.log_events() if e["removed"]}
    assert set(removed) == {"student:3", "student:4"}
    assert (removed["student:3"]["version"], removed["student:3"]["billable_seconds"]) == (2, 0)
    # A stale class snapshot (version 1 again) changes nothing.
    before = await world.log_events()
    await world.publish("class.scheduled", class_data(version=1))
    await world.settle()
    assert await world.log_events() == before


async def test_a_rescheduled_class_recounts_against_its_new_window(world, get_logs):
    await world.publish("class.scheduled", class_data())
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c1", -5, None, bo("c1", (0, 40))), fetched=45))
    await world.settle()
    await world.publish("class.updated", class_data(version=2, start=20))
    await world.settle()
    bo_log = by_person(await get_logs(class_id=7))["student:3"]
    assert (bo_log["scheduled_start"], bo_log["billable_seconds"], bo_log["attended_seconds"]) == \
           (at(20), 20 * 60, 40 * 60)


async def test_lifecycle_events_are_stored_without_publishing(world, attendance):
    await world.publish("class.started", {"class_id": 8, "session_id": SESSION_ID, "scheduled_start": at(0),
                                          "scheduled_end": at(60), "started_at": at(0)})
    await world.publish("class.ended", {"class_id": 8, "session_id": SESSION_ID, "scheduled_start": at(0),
                                        "scheduled_end": at(60), "ended_at": at(60)})
    await world.settle()
    row = await attendance.pool.fetchrow("SELECT session_id, started_at, ended_at, version FROM classes")
    assert (str(row["session_id"]), row["version"]) == (SESSION_ID, 0)
    assert row["started_at"] is not None and row["ended_at"] is not None
    assert await world.events() == []


async def test_a_fetch_before_the_session_is_known_gets_the_session_id_later(world, get_logs):
    await world.publish("class.scheduled", class_data())
    early = snapshot_data(7, record("c1", -5, None, bo("c1", (-3, None))), fetched=-1)
    await world.publish("meet.participants.fetched", {**early, "session_id": None})
    await world.settle()
    assert {log["session_id"] for log in await get_logs(class_id=7)} == {None}
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c1", -5, None, bo("c1", (-3, None))), fetched=-1))
    await world.settle()
    assert {log["session_id"] for log in await get_logs(class_id=7)} == {SESSION_ID}
    assert sorted(e["version"] for e in await world.log_events() if e["person_key"] == "student:3") == [1, 2]
