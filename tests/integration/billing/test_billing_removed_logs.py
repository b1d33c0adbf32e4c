"""Removed attendance logs (`removed: true`): kept for their versions, never billed, paid or counted."""
from __future__ import annotations

from datetime import UTC, datetime

from tests.integration.billing.billing_support import (
    MARCH,
    csv_rows,
    families,
    family,
    klass,
    log,
    set_rate,
    student,
    teacher,
    teacher_log,
    teachers,
)
from tests.support.closing import close_month

MARCH_20 = datetime(2025, 3, 20, 15, 0, tzinfo=UTC)


def removed(class_id: int, start: datetime, version: int, **kwargs):
    """The vacated log attendance publishes: same log, new version, emptied."""
    return log(class_id, start, seconds=0, version=version, removed=True, **kwargs)


async def close(api, period: str) -> dict:
    return await close_month(api, period)


async def test_a_removed_log_is_not_billed_paid_listed_or_counted(http, api, feed, service):
    await feed(family(2, "Smith"), family(5, "Jones"), student(3, 2), student(4, 2), student(6, 5), teacher(1),
               klass(10, MARCH, students=((3, 2), (4, 2), (6, 5))),
               log(10, MARCH, seconds=3600), log(10, MARCH, student_id=4, seconds=1800, final=False),
               log(10, MARCH, student_id=6, family_id=5, seconds=600), teacher_log(10, MARCH, seconds=3600))
    await set_rate(api, "families", 2, 2000, "2025-01-01")  # family 5 has no rate: its line is an error line
    await set_rate(api, "teachers", 1, 5000, "2025-01-01")
    await feed(removed(10, MARCH, 2, student_id=4, final=False), removed(10, MARCH, 2, student_id=6, family_id=5),
               teacher_log(10, MARCH, seconds=0, version=2, removed=True))

    bills = await families(api, 2025, 3)
    [smith] = bills["families"]
    assert [line["student_id"] for line in smith["lines"]] == [3]
    assert (bills["line_count"], bills["provisional_lines"], bills["error_lines"]) == (1, 0, 0)
    assert bills["totals"] == [
        {"currency": "EUR", "amount_cents": 2000, "billable_seconds": 3600, "billed_seconds": 3600}]
    assert (await teachers(api, 2025, 3))["teachers"] == []
    header, *rows = await csv_rows(http, "/monitoring/billing/families")
    assert [(r[header.index("kind")], r[header.index("student_id")]) for r in rows] == [
        ("line", "3"), ("rule_total", ""), ("total", ""), ("grand_total", "")]
    assert len(await csv_rows(http, "/monitoring/payroll/teachers")) == 1  # the header only
    assert [tuple(r) for r in await service.pool.fetch(
        "SELECT party, party_id, lines, provisional_lines, amount_cents FROM month_totals")] == [
        ("family", 2, 1, 0, 2000)]
    closed = await close(api, "2025-03")  # the unpriced line of family 5 was removed: nothing blocks
    assert closed["families"]["line_count"] == 1 and closed["teachers"]["line_count"] == 0


async def test_an_un_removed_log_counts_again_and_older_versions_change_nothing(api, feed):
    await feed(family(2, "Smith"), student(3, 2), klass(10, MARCH), log(10, MARCH, seconds=3600, version=1))
    await set_rate(api, "families", 2, 2000, "2025-01-01")
    await feed(removed(10, MARCH, 2))
    await feed(log(10, MARCH, seconds=3600, version=1))  # the older version, late (another event id)
    assert (await families(api, 2025, 3))["families"] == []

    await feed(log(10, MARCH, seconds=2700, version=3))  # back on the roster
    bills = await families(api, 2025, 3)
    assert [(line["billable_seconds"], line["amount_cents"]) for line in bills["families"][0]["lines"]] == [
        (2700, 1500)]
    await feed(removed(10, MARCH, 2))  # the removal again, now older
    assert await families(api, 2025, 3) == bills


async def test_a_removal_after_close_is_credited_like_a_cancelled_class(api, feed):
    await feed(family(2, "Smith"), student(3, 2), teacher(1), klass(10, MARCH), klass(11, MARCH_20),
               log(10, MARCH, seconds=3600), log(11, MARCH_20, seconds=1800), teacher_log(10, MARCH, seconds=3600))
    await set_rate(api, "families", 2, 2000, "2025-01-01")
    await set_rate(api, "teachers", 1, 5000, "2025-01-01")
    frozen = await close(api, "2025-03")
    march = await families(api, 2025, 3)

    # The flag is what counts: a removed log that kept its seconds is credited all the same.
    await feed(removed(10, MARCH, 2), teacher_log(10, MARCH, seconds=3600, version=2, removed=True),
               klass(11, MARCH_20, version=2, status="cancelled", type="class.cancelled"))
    assert await families(api, 2025, 3) == march and march["checksum"] == frozen["checksum"]
    april = (await families(api, 2025, 4))["families"][0]["lines"]
    assert [(a["kind"], a["class_id"], a["billable_seconds"], a["amount_cents"], a["hourly_rate_cents"],
             a["reference"]["period"]) for a in april] == [
        ("adjustment", 10, -3600, -2000, None, "2025-03"),  # the removed log, as the cancelled class below
        ("adjustment", 11, -1800, -1000, None, "2025-03")]
    [pay] = (await teachers(api, 2025, 4))["teachers"][0]["lines"]
    assert (pay["billable_seconds"], pay["amount_cents"], pay["hourly_rate_cents"]) == (-3600, -5000, None)

    # Carried once: closing April settles the credit; restoring the log charges it again in May.
    await close(api, "2025-04")
    assert (await families(api, 2025, 5))["families"] == []
    await feed(log(10, MARCH, seconds=3600, version=3))
    [may] = (await families(api, 2025, 5))["families"][0]["lines"]
    assert (may["kind"], may["billable_seconds"], may["amount_cents"], may["hourly_rate_cents"]) == (
        "adjustment", 3600, 2000, 2000)


async def test_a_log_removed_before_close_is_left_out_of_the_frozen_month(api, feed):
    await feed(family(2, "Smith"), student(3, 2), student(4, 2), klass(10, MARCH, students=((3, 2), (4, 2))),
               log(10, MARCH, seconds=3600), log(10, MARCH, student_id=4, seconds=1800))
    await set_rate(api, "families", 2, 2000, "2025-01-01")
    await feed(removed(10, MARCH, 2, student_id=4))
    await close(api, "2025-03")
    [smith] = (await families(api, 2025, 3))["families"]
    assert [line["student_id"] for line in smith["lines"]] == [3] and smith["line_count"] == 1

    await feed(log(10, MARCH, student_id=4, seconds=1800, version=3))  # restored after close: late data
    [late] = (await families(api, 2025, 4))["families"][0]["lines"]
    assert (late["kind"], late["student_id"], late["amount_cents"]) == ("adjustment", 4, 1000)
