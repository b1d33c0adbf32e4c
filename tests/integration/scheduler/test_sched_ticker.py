"""The ticker against the real database and broker, driven tick by tick at chosen moments."""
from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from itertools import pairwise

import pytest
from prometheus_client import REGISTRY

from academy_common import outbox
from academy_common.db import create_pool
from academy_common.events import new_event, rfc3339
from scheduler import ticker
from scheduler.timetable import retry_offset_us
from tests.integration.scheduler.sched_support import T0, settle, tick_at
from tests.support.contracts import assert_conforms
from tests.support.services import VIEWER
from tests.support.waiting import eventually, queue_depth

START = T0 + timedelta(hours=1)  # academy.klass() starts an hour after the clock
END = START + timedelta(hours=1)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


TICKER_EVENTS = ("class.started", "class.ended", "class.fetch_requested")


def lifecycle(tap, class_id: int) -> list[tuple]:
    return [(e.type, e.data.get("reason")) for e in tap.events
            if e.data.get("class_id") == class_id and e.type in TICKER_EVENTS]


async def _class_view(http, class_id: int) -> dict:
    return await (await http.get(f"/api/schedule/classes/{class_id}", headers=VIEWER)).json()


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_class_is_started_fetched_and_ended_with_the_documented_payloads(service, tap, academy):
    created = await academy.klass()
    before = [_metric("scheduler_transitions_total", kind="started"),
              _metric("scheduler_fetch_requests_total", reason="active"), _metric("scheduler_ticks_total")]
    assert await tick_at(service, START - timedelta(seconds=1)) == 0
    assert await tick_at(service, START) == 2
    assert await tick_at(service, START + minutes(2)) == 0
    assert await tick_at(service, START + minutes(3)) == 1
    assert await tick_at(service, END) == 2
    after = [_metric("scheduler_transitions_total", kind="started"),
             _metric("scheduler_fetch_requests_total", reason="active"), _metric("scheduler_ticks_total")]
    assert [b - a for a, b in zip(before, after)] == [1, 2, 5]
    await settle(service, tap)
    assert lifecycle(tap, created["class_id"]) == [
        ("class.started", None), ("class.fetch_requested", "active"), ("class.fetch_requested", "active"),
        ("class.ended", None), ("class.fetch_requested", "final")]
    [started] = tap.of("class.started")
    session_id = started.data["session_id"]
    assert started.data == {"class_id": created["class_id"], "session_id": session_id,
                            "scheduled_start": "2026-11-25T10:00:00Z", "scheduled_end": "2026-11-25T11:00:00Z",
                            "started_at": "2026-11-25T10:00:00Z"}
    final = tap.of("class.fetch_requested", reason="final")[0]
    assert final.data == {
        "class_id": created["class_id"], "session_id": session_id, "reason": "final", "attempt": 1,
        "space_name": created["space_name"], "meeting_code": created["meeting_code"],
        "organizer_email": created["teacher"]["email"],
        "scheduled_start": "2026-11-25T10:00:00Z", "scheduled_end": "2026-11-25T11:00:00Z",
        "window_start": "2026-11-25T09:30:00Z", "window_end": "2026-11-25T11:30:00Z",
        "requested_at": "2026-11-25T11:00:00Z", "last_attempt": False}
    assert {e.data["session_id"] for e in tap.events if e.type != "class.scheduled" and "session_id" in e.data} == {
        session_id}
    for event in tap.events:  # the directory, the class and its transitions, as documented
        assert_conforms(event)
    assert {e.type for e in tap.events} == {"teacher.upserted", "family.upserted", "student.upserted",
                                            "class.scheduled", *TICKER_EVENTS}


async def test_racing_replicas_emit_every_occurrence_exactly_once(service, tap, academy, settings):
    classes = [await academy.klass(start_in=minutes(50 + 10 * i), minutes=30) for i in range(3)]
    replica = await create_pool(settings.database_url, service.schema)
    try:
        moments = [START + minutes(m) for m in range(-15, 60, 3)] + [END + minutes(m) for m in (5, 10, 20, 40, 80)]
        for when in moments:
            await asyncio.gather(*(ticker.tick(pool, settings.policy, when)
                                   for pool in (service.pool, replica, service.pool, replica)))
    finally:
        await replica.close()
    await settle(service, tap)
    emitted = [e for e in tap.events if e.type in TICKER_EVENTS]
    rows = await service.pool.fetchval("SELECT count(*) FROM occurrences")
    assert len(emitted) == rows and len({e.id for e in emitted}) == rows
    for created in classes:
        counts = Counter(lifecycle(tap, created["class_id"]))
        assert counts[("class.started", None)] == counts[("class.ended", None)] == 1
        assert counts[("class.fetch_requested", "final")] == 1
        assert counts[("class.fetch_requested", "active")] == 10  # one per 3-minute tick of a 30-minute class


async def test_a_replica_dying_mid_class_loses_nothing(service, tap, academy, monkeypatch):
    created = await academy.klass()
    real_enqueue = outbox.enqueue
    calls = 0

    async def die_on_the_second_event(conn, *events):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionResetError("replica died between two events of one class")
        await real_enqueue(conn, *events)

    monkeypatch.setattr(outbox, "enqueue", die_on_the_second_event)
    with pytest.raises(ConnectionResetError):
        await tick_at(service, START)
    assert await service.pool.fetchval("SELECT count(*) FROM occurrences") == 0
    monkeypatch.setattr(outbox, "enqueue", real_enqueue)
    assert await tick_at(service, START + minutes(1)) == 2
    await tap.wait("class.fetch_requested")
    assert lifecycle(tap, created["class_id"]) == [("class.started", None), ("class.fetch_requested", "active")]


async def test_a_scheduler_down_for_the_whole_class_catches_up(service, tap, academy, http):
    created = await academy.klass()
    assert await tick_at(service, END + minutes(30)) == 3
    await settle(service, tap)
    assert lifecycle(tap, created["class_id"]) == [
        ("class.started", None), ("class.ended", None), ("class.fetch_requested", "final")]
    view = await _class_view(http, created["class_id"])
    assert view["session"]["started_at"] == view["session"]["ended_at"] == "2026-11-25T11:30:00Z"
    assert await tick_at(service, END + minutes(31)) == 0


async def test_retries_back_off_until_the_window_closes_and_the_class_is_failed(service, tap, academy, http,
                                                                               clock):
    created = await academy.klass()
    await tick_at(service, END)
    policy = service.settings.policy
    window = END + timedelta(seconds=policy.retry_window_s)
    n = 1
    while (slot := END + timedelta(microseconds=retry_offset_us(n, policy))) <= window:
        assert await tick_at(service, slot - timedelta(seconds=1)) == 0
        assert await tick_at(service, slot) == 1
        n += 1
    assert await tick_at(service, window + timedelta(seconds=1)) == 0
    assert await tick_at(service, window + timedelta(days=1)) == 0
    await settle(service, tap)
    retries = tap.of("class.fetch_requested", reason="retry")
    offsets = [(e.time - END) / minutes(1) for e in retries]
    assert offsets[:6] == [10, 20, 40, 80, 160, 320]
    assert all(b - a == 360 for a, b in pairwise(offsets[6:]))
    assert [e.data["attempt"] for e in retries] == list(range(2, n + 1))
    assert offsets[-1] <= 7 * 24 * 60
    # Only the last retry of the window says so: attendance may then give up on finding a call.
    assert [e.data["last_attempt"] for e in retries] == [False] * (len(retries) - 1) + [True]
    clock.now = window + timedelta(seconds=1)
    assert (await _class_view(http, created["class_id"]))["phase"] == "failed"
    status = await (await http.get("/monitoring/status", headers=VIEWER)).json()
    assert status["classes"]["failed"] == 1 and status["failed_class_ids"] == [created["class_id"]]


async def test_a_reported_failure_is_recorded_and_brings_the_next_retry_forward(service, tap, academy, http,
                                                                                publisher):
    created = await academy.klass()
    for when in (END, END + minutes(10), END + minutes(20), END + minutes(40)):
        await tick_at(service, when)
    [third] = await tap.wait("class.fetch_requested", reason="retry", attempt=4)
    await publisher.publish(new_event("meet.fetch_failed", {
        "class_id": created["class_id"], "request_id": third.id, "reason": "retry",
        "error": {"kind": "server", "status": 503, "message": "backend unavailable"},
        "retryable": True, "failed_at": rfc3339(END + minutes(41))}, source="/academy/meet-fetcher"))

    async def recorded() -> bool:
        return (await _class_view(http, created["class_id"]))["fetch"]["failures"] == 1

    await eventually(recorded)
    fetch = (await _class_view(http, created["class_id"]))["fetch"]
    assert fetch["last_error"] == {"kind": "server", "status": 503, "message": "backend unavailable",
                                   "request_id": third.id, "reason": "retry", "retryable": True}
    assert fetch["last_failure_at"] == "2026-11-25T11:41:00Z"
    assert await tick_at(service, END + minutes(49)) == 0
    assert await tick_at(service, END + minutes(50)) == 1  # not at 80 minutes, the schedule's own slot
    [fourth] = await tap.wait("class.fetch_requested", reason="retry", attempt=5)
    assert fourth.data["requested_at"] == "2026-11-25T11:50:00Z"


async def test_finalization_stops_the_retries(service, tap, academy, http, publisher):
    created = await academy.klass()
    await tick_at(service, END)
    await publisher.publish(new_event("attendance.class.finalized", {
        "class_id": created["class_id"], "session_id": (await tap.wait("class.ended"))[0].data["session_id"],
        "finalized_at": rfc3339(END + minutes(2)), "scheduled_start": rfc3339(START),
        "scheduled_end": rfc3339(END), "logs": []}, source="/academy/attendance"))

    async def complete() -> bool:
        return (await _class_view(http, created["class_id"]))["phase"] == "complete"

    await eventually(complete)
    for later in (minutes(10), minutes(20), timedelta(days=3)):
        assert await tick_at(service, END + later) == 0
    status = await (await http.get("/monitoring/status", headers=VIEWER)).json()
    assert status["classes"]["complete"] == 1


async def test_outcomes_about_unknown_classes_or_malformed_go_to_the_dead_letter_queue(service, academy, http,
                                                                                      publisher, unique):
    created = await academy.klass()
    await publisher.publish(new_event("meet.fetch_failed", {
        "class_id": 4242, "request_id": "r", "reason": "final", "error": {"kind": "server", "message": "x"},
        "retryable": True, "failed_at": rfc3339(END)}, source="/test"))
    await publisher.publish(new_event("attendance.class.finalized", {"class_id": created["class_id"]}, source="/test"))
    await publisher.publish(new_event("meet.fetch_failed", {
        "class_id": created["class_id"], "request_id": "r\u0000", "reason": "final",
        "error": {"kind": "server", "message": "x"}, "retryable": True, "failed_at": rfc3339(END)}, source="/test"))
    dlq = f"{unique}.scheduler.fetch-outcomes.dlq"

    async def dead_lettered() -> bool:
        return await queue_depth(service.bus.connection, dlq) == 3

    await eventually(dead_lettered)
    view = await _class_view(http, created["class_id"])
    assert view["phase"] == "scheduled" and view["fetch"]["failures"] == 0
