"""Poison input goes to the dead-letter queue; concurrent snapshots of one class do not interleave."""
from __future__ import annotations

import asyncio

from tests.integration.attendance.harness import bo, by_person, class_data, record, snapshot_data
from tests.support.waiting import eventually, get_one, queue_depth


async def test_a_malformed_snapshot_is_dead_lettered_and_the_consumer_goes_on(world, attendance, get_logs):
    await world.publish("class.scheduled", class_data())
    await world.settle()
    broken = snapshot_data(7, record("c1", -5, None, bo("c1", (0, 30))), fetched=40)
    broken["conference_records"][0]["participants"][0]["sessions"][0]["start_time"] = "half past ten"
    poison = await world.publish("meet.participants.fetched", broken)
    bad_class = await world.publish("class.updated", {**class_data(version=2), "teacher": None})
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c1", -5, None, bo("c1", (0, 20))), fetched=25))
    await world.settle()
    dlq = f"{world.queue}.dlq"
    connection = world.bus.connection
    await eventually(lambda: _depth_is(connection, dlq, 2))
    dead = {(await get_one(connection, dlq)).message_id for _ in range(2)}
    assert dead == {poison.id, bad_class.id}
    assert by_person(await get_logs(class_id=7))["student:3"]["attended_seconds"] == 20 * 60
    assert await attendance.pool.fetchval("SELECT count(*) FROM participant_sessions") == 1
    assert await attendance.pool.fetchval("SELECT version FROM classes WHERE class_id = 7") == 1


async def _depth_is(connection, queue: str, expected: int) -> bool:
    return await queue_depth(connection, queue) == expected


async def test_concurrent_snapshots_of_one_class_yield_one_consistent_history(world, get_logs):
    await world.publish("class.scheduled", class_data())
    await world.settle()
    # Ten fetches of a growing call, delivered at once and handled concurrently (prefetch 16).
    await asyncio.gather(*(
        world.publish("meet.participants.fetched",
                      snapshot_data(7, record("c1", -5, None, bo("c1", *[(i * 5, i * 5 + 3) for i in range(n)])),
                                    fetched=n * 5))
        for n in range(1, 11)
    ))
    await world.settle()
    bo_log = by_person(await get_logs(class_id=7))["student:3"]
    assert (bo_log["joins"], bo_log["attended_seconds"]) == (10, 10 * 3 * 60)
    history = sorted((e["version"], e["joins"]) for e in await world.log_events() if e["person_key"] == "student:3")
    assert [v for v, _ in history] == list(range(1, bo_log["version"] + 1)) and bo_log["version"] <= 10
    # No stale computation committed after a newer one: what each version saw only grows.
    assert [j for _, j in history] == sorted(j for _, j in history)
