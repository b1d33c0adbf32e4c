"""The projection: idempotent replays, out-of-order versions, poison to the DLQ, family lookup."""
from __future__ import annotations

import random
from datetime import UTC, date, datetime

from academy_common.bus import Bus
from academy_common.events import new_event
from billing.app import build
from tests.integration.billing.billing_support import (
    MARCH,
    Feed,
    families,
    family,
    klass,
    log,
    log_data,
    set_rate,
    student,
    teacher,
    teacher_log,
    teachers,
)
from tests.support.services import running
from tests.support.waiting import eventually, queue_depth

APRIL = datetime(2025, 4, 10, 15, 0, tzinfo=UTC)


async def test_replaying_the_same_events_changes_nothing(api, feed, service):
    events = [family(2, "Smith"), student(3, 2), teacher(1), klass(10, MARCH), log(10, MARCH, seconds=3600),
              teacher_log(10, MARCH, seconds=1800)]
    await feed(*events)
    await set_rate(api, "families", 2, 2000, "2025-01-01")
    await set_rate(api, "teachers", 1, 2000, "2025-01-01")
    bills, payroll = await families(api, 2025, 3), await teachers(api, 2025, 3)
    await feed(*events)  # redelivery: same ids
    await feed(*[event.model_copy(update={"id": event.id + "-again"}) for event in events])  # same versions
    assert await families(api, 2025, 3) == bills and await teachers(api, 2025, 3) == payroll
    assert bills["line_count"] == 1 and bills["totals"][0]["amount_cents"] == 2000
    assert await service.pool.fetchval("SELECT count(*) FROM attendance_lines") == 2


async def test_older_versions_arriving_late_are_ignored(api, feed):
    await set_rate(api, "families", 2, 3600, "2025-01-01")
    await feed(family(2, "Smith v2", version=2), family(2, "Smith v1", version=1),
               klass(10, APRIL, version=2, type="class.updated", title="Moved"), klass(10, MARCH, version=1),
               log(10, MARCH, seconds=600, version=3), log(10, MARCH, seconds=3000, version=2))
    assert (await families(api, 2025, 3))["families"] == []
    [bill] = (await families(api, 2025, 4))["families"]
    assert bill["name"] == "Smith v2" and bill["lines"][0]["class_title"] == "Moved"
    assert (bill["lines"][0]["billable_seconds"], bill["lines"][0]["amount_cents"]) == (600, 600)


async def test_poison_events_go_to_the_dead_letter_queue_and_store_nothing(api, feed, bus, service):
    bad = [
        new_event("attendance.log.updated", log_data(10, MARCH) | {"billable_seconds": -5}, source="/test"),
        new_event("attendance.log.updated", {"class_id": 10}, source="/test"),
        new_event("attendance.log.updated", log_data(10, MARCH, role="teacher", teacher_id=None), source="/test"),
        new_event("class.scheduled", {"class_id": "ten"}, source="/test"),
        new_event("attendance.class.finalized", {"class_id": 11, "logs": [log_data(10, MARCH)]}, source="/test"),
    ]
    for event in bad:
        await bus.publish(event)
    await bus.publish_raw(b"not json", routing_key="attendance.log.updated", message_id="raw-1")
    dlq = f"{service.settings.queue_prefix}billing.events.dlq"

    async def all_dead() -> bool:
        return await queue_depth(bus.connection, dlq) == len(bad) + 1

    await eventually(all_dead)
    await feed(klass(10, MARCH), log(10, MARCH, seconds=60))  # the consumer goes on
    assert await service.pool.fetchval("SELECT count(*) FROM attendance_lines") == 1


async def test_a_student_log_without_family_bills_the_roster_family(api, feed):
    await feed(klass(10, MARCH, students=((3, 7),)), log(10, MARCH, family_id=None, seconds=3600))
    [bill] = (await families(api, 2025, 3))["families"]
    assert bill["family_id"] == 7


async def test_a_student_log_waits_for_the_family_to_be_known(api, feed, bus, service):
    early = log(10, MARCH, family_id=None, seconds=3600)
    await bus.publish(early)  # neither the class nor the student is known yet: retried, not dropped
    await feed(student(3, 9))

    async def billed() -> bool:
        return [s["family_id"] for s in (await families(api, 2025, 3))["families"]] == [9]

    await eventually(billed)


async def test_class_finalized_carries_the_final_logs(api, feed):
    await set_rate(api, "families", 2, 3600, "2025-01-01")
    await feed(klass(10, MARCH), log(10, MARCH, seconds=1000, final=False, version=1))
    finalized = new_event("attendance.class.finalized", {
        "class_id": 10, "session_id": "s", "finalized_at": "2025-03-10T17:00:00Z",
        "scheduled_start": "2025-03-10T15:00:00Z", "scheduled_end": "2025-03-10T16:00:00Z",
        "logs": [log_data(10, MARCH, seconds=1200, final=True, version=2),
                 log_data(10, MARCH, role="guest", seconds=3600)]}, source="/test")
    await feed(finalized)
    [line] = (await families(api, 2025, 3))["families"][0]["lines"]
    assert (line["billable_seconds"], line["amount_cents"], line["provisional"]) == (1200, 1200, False)



async def test_the_running_month_totals_always_equal_the_sum_of_the_lines(api, feed, service):
    rng = random.Random(11)
    starts = [MARCH, MARCH.replace(day=31, hour=23), APRIL]
    await feed(*[klass(c, starts[c % 3], students=((3, 2), (4, 5))) for c in range(1, 7)])
    await set_rate(api, "families", 2, 2000, "2025-01-01")
    versions: dict[tuple[int, int], int] = {}
    for step in range(40):
        class_id, student_id = rng.randrange(1, 7), rng.choice([3, 4])
        version = versions[(class_id, student_id)] = versions.get((class_id, student_id), 0) + 1
        await feed(log(class_id, starts[class_id % 3], student_id=student_id, family_id=rng.choice([2, 5]),
                       seconds=rng.randrange(0, 3601), final=rng.random() < 0.5, version=version,
                       removed=rng.random() < 0.25),
                   teacher_log(class_id, starts[class_id % 3], seconds=rng.randrange(0, 3601), version=step + 1))
        if step % 10 == 9:
            moved = rng.choice(starts)
            await feed(klass(step // 10 + 1, moved, version=step + 10, status=rng.choice(["scheduled", "cancelled"]),
                             type="class.updated"))
            await set_rate(api, "families", rng.choice([2, 5]), rng.randrange(0, 5000), rng.choice(
                ["2025-03-15", "2025-03-31T23:30:00Z", "2025-04-01"]))
    running = await service.pool.fetch(
        "SELECT party, month, party_id, currency, amount_cents, billable_seconds, lines, provisional_lines "
        "FROM month_totals ORDER BY 1, 2, 3, 4")
    summed = await service.pool.fetch(
        """SELECT party, month, party_id, coalesce(currency, '') AS currency,
                  coalesce(sum(amount_cents), 0)::bigint AS amount_cents,
                  sum(billable_seconds)::bigint AS billable_seconds,
                  count(*) AS lines, count(*) FILTER (WHERE NOT final) AS provisional_lines
           FROM attendance_lines WHERE NOT cancelled AND NOT removed GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4""")
    assert [dict(r) for r in running] == [dict(r) for r in summed] and len(summed) > 3
    assert await service.pool.fetchval("SELECT count(*) FROM attendance_lines WHERE removed") > 0


async def test_a_changed_academy_timezone_re_dates_every_line(make_settings):
    late_utc = datetime(2025, 4, 1, 3, 30, tzinfo=UTC)  # March 31, 23:30 in New York
    settings = make_settings()
    async with running(build, settings) as service:
        bus = await Bus.connect(settings.amqp_url, exchange=settings.bus_exchange)
        try:
            await Feed(bus, service.pool)(klass(10, late_utc), log(10, late_utc, seconds=60))
        finally:
            await bus.close(drain_timeout=1)
        assert await service.pool.fetchval("SELECT month FROM attendance_lines") == date(2025, 4, 1)
    async with running(build, make_settings(academy_timezone="America/New_York")) as moved:
        async def re_dated() -> bool:
            return await moved.pool.fetchval("SELECT month FROM attendance_lines") == date(2025, 3, 1)

        await eventually(re_dated)
        assert await moved.pool.fetchval("SELECT month FROM month_totals") == date(2025, 3, 1)
