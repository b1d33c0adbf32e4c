"""Which calls count (those overlapping the join window) and when a class is final, and why:
no call found is never "every call ended"."""
from __future__ import annotations

from tests.integration.attendance.harness import at, bo, by_person, class_data, participant, record, snapshot_data

DAY = 24 * 60


def ada(record_name: str, *sessions: tuple[float, float | None]) -> dict:
    return participant(record_name, "p0", list(sessions), user="users/1", email="ada@school.org", name="Ada")


def last_attempt(data: dict) -> dict:
    return {**data, "reason": "retry", "last_attempt": True}


async def test_a_call_opened_40_minutes_early_and_kept_going_counts(world, get_logs):
    await world.publish("class.scheduled", class_data())
    call = record("early", -40, 62, ada("early", (-40, 61)), bo("early", (1, 59)))
    await world.publish("meet.participants.fetched", snapshot_data(7, call, fetched=63))
    await world.settle()
    logs = by_person(await get_logs(class_id=7))
    assert (logs["teacher:1"]["status"], logs["teacher:1"]["billable_seconds"]) == ("present", 3600)
    assert (logs["student:3"]["billable_seconds"], logs["student:4"]["status"]) == (58 * 60, "absent")
    [finalized] = await world.events("attendance.class.finalized")
    assert finalized.data["reason"] == "calls_ended"
    assert {log["final_reason"] for log in await get_logs(class_id=7)} == {"calls_ended"}


async def test_an_empty_snapshot_after_the_end_leaves_the_class_open_until_the_last_attempt(world, get_logs):
    await world.publish("class.scheduled", class_data())
    # What an older fetcher sent for "no call found": all_ended true.
    await world.publish("meet.participants.fetched", snapshot_data(7, fetched=61, all_ended=True))
    await world.publish("meet.participants.fetched", snapshot_data(7, fetched=3 * DAY))  # grace long over
    await world.settle()
    assert await world.events("attendance.class.finalized") == []
    logs = await get_logs(class_id=7)
    assert {(log["status"], log["final"], log["final_reason"]) for log in logs} == {("absent", False, None)}

    await world.publish("meet.participants.fetched", last_attempt(snapshot_data(7, fetched=7 * DAY)))
    await world.settle()
    [finalized] = await world.events("attendance.class.finalized")
    assert finalized.data["reason"] == "no_meeting_found"
    assert {(log["final"], log["final_reason"]) for log in finalized.data["logs"]} == {(True, "no_meeting_found")}
    assert {(log["final"], log["final_reason"]) for log in await get_logs(class_id=7)} == {(True, "no_meeting_found")}


async def test_a_call_outside_the_join_window_is_no_call_found(world, get_logs):
    await world.publish("class.scheduled", class_data())
    before = record("before", -120, -31, ada("before", (-120, -31)))
    await world.publish("meet.participants.fetched", snapshot_data(7, before, fetched=3 * DAY))
    await world.settle()
    assert await world.events("attendance.class.finalized") == []
    assert {log["status"] for log in await get_logs(class_id=7)} == {"absent"}


async def test_a_manual_sync_that_finds_the_call_heals_the_class(world, get_logs):
    await world.publish("class.scheduled", class_data())
    await world.publish("meet.participants.fetched", {**snapshot_data(7, fetched=61), "reason": "final"})
    await world.settle()
    assert await world.events("attendance.class.finalized") == []
    # The call was there all along (say, the fetch window missed it): a manual sync finds it.
    call = record("early", -40, 62, ada("early", (-40, 61)), bo("early", (0, 60)))
    await world.publish("meet.participants.fetched", {**snapshot_data(7, call, fetched=90), "reason": "manual"})
    await world.settle()
    [finalized] = await world.events("attendance.class.finalized")
    assert finalized.data["reason"] == "calls_ended"
    logs = by_person(finalized.data["logs"])
    assert (logs["teacher:1"]["billable_seconds"], logs["student:3"]["billable_seconds"]) == (3600, 3600)


async def test_a_call_still_running_when_the_grace_runs_out_is_final_with_that_reason(world, get_logs):
    await world.publish("class.scheduled", class_data())
    call = record("c1", -40, None, ada("c1", (-40, None)))
    await world.publish("meet.participants.fetched", snapshot_data(7, call, fetched=95))
    await world.settle()
    [finalized] = await world.events("attendance.class.finalized")
    assert finalized.data["reason"] == "grace_expired"
    assert by_person(finalized.data["logs"])["teacher:1"]["last_leave"] == at(60)
