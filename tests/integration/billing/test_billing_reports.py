"""Month reports over HTTP, fed through the bus: lines, rates, totals, errors, time zones, paging."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.integration.billing.billing_support import (
    MARCH,
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
from tests.support.services import BILLING


async def test_a_month_bills_each_student_line_and_pays_the_teacher(api, feed):
    await feed(family(2, "Smith"), family(5, "Jones"), student(3, 2, "Bo"), student(4, 5, "Cy"), teacher(1, "Ada"),
               klass(10, MARCH, students=((3, 2), (4, 5)), title="Algebra 1"))
    await set_rate(api, "families", 2, 2500, "2025-01-01")
    await set_rate(api, "teachers", 1, 4000, "2025-01-01")
    await feed(log(10, MARCH, student_id=3, family_id=2, seconds=3300),
               log(10, MARCH, student_id=4, family_id=5, seconds=1800, final=False),
               teacher_log(10, MARCH, seconds=3600),
               log(10, MARCH, role="guest", seconds=3600))

    bills = await families(api, 2025, 3)
    smith, jones = bills["families"]
    assert smith["family_id"] == 2 and smith["name"] == "Smith"
    [line] = smith["lines"]
    assert line == {
        "kind": "line", "class_id": 10, "class_title": "Algebra 1", "scheduled_start": "2025-03-10T15:00:00Z",
        "student_id": 3, "student_name": "Bo", "billable_seconds": 3300, "measured_seconds": 3300,
        "billed_seconds": 3300, "rule": "measured", "rule_detail": "attended 55:00 → billed 55:00", "hourly_rate_cents": 2500,
        "currency": "EUR", "amount_cents": 2292, "provisional": False, "corrected": False,
        "billable_override": False, "correction_reason": None, "reference": None, "error": None,
    }  # 3300 s × 25.00/h = 22.9166… → 2292 cents
    assert smith["totals"] == [{"currency": "EUR", "amount_cents": 2292, "billable_seconds": 3300, "billed_seconds": 3300}]
    # Jones has no rate: an error line, never a silent zero, and outside every total.
    [unpriced] = jones["lines"]
    assert unpriced["amount_cents"] is None and unpriced["error"] and unpriced["provisional"] is True
    assert jones["totals"] == [] and jones["error_lines"] == 1
    assert bills["totals"] == [{"currency": "EUR", "amount_cents": 2292, "billable_seconds": 3300, "billed_seconds": 3300}]
    assert (bills["line_count"], bills["error_lines"], bills["provisional_lines"]) == (2, 1, 1)
    assert bills["status"] == "open" and bills["period"] == "2025-03" and bills["next_after"] is None

    payroll = await teachers(api, 2025, 3)
    [ada] = payroll["teachers"]
    assert ada["teacher_id"] == 1 and ada["name"] == "Ada" and "student_id" not in ada["lines"][0]
    assert ada["totals"] == [{"currency": "EUR", "amount_cents": 4000, "billable_seconds": 3600, "billed_seconds": 3600}]
    assert payroll["line_count"] == 1  # the guest is listed by attendance, never billed


async def test_the_rate_in_force_at_each_class_start_applies_and_later_rates_reprice(api, feed):
    early, late = datetime(2025, 3, 10, 15, tzinfo=UTC), datetime(2025, 3, 20, 15, tzinfo=UTC)
    await feed(klass(10, early), klass(11, late),
               log(10, early, seconds=3600), log(11, late, seconds=3600))
    await set_rate(api, "families", 2, 2000, "2025-03-01")
    assert [line["amount_cents"] for line in (await families(api, 2025, 3))["families"][0]["lines"]] == [2000, 2000]

    body = await set_rate(api, "families", 2, 3000, "2025-03-15T00:00:00+00:00")
    assert body["repriced_lines"] == 1
    bill = (await families(api, 2025, 3))["families"][0]
    assert [(line["hourly_rate_cents"], line["amount_cents"]) for line in bill["lines"]] == [(2000, 2000), (3000, 3000)]
    assert bill["totals"][0]["amount_cents"] == 5000

    # The same effective_from replaces that entry; the history keeps the others.
    await set_rate(api, "families", 2, 3500, "2025-03-15T01:00:00+01:00")
    status, history = await api("GET", "/billing/rates/families/2")
    assert status == 200 and [r["hourly_rate_cents"] for r in history["rates"]] == [2000, 3500]
    assert (await families(api, 2025, 3))["totals"][0]["amount_cents"] == 5500


async def test_a_rate_effective_exactly_at_the_class_start_applies_and_one_a_second_later_does_not(api, feed):
    start = datetime(2025, 3, 20, 15, tzinfo=UTC)
    await set_rate(api, "families", 2, 1000, "2025-01-01")
    await set_rate(api, "families", 2, 2000, "2025-03-20T15:00:00Z")
    await set_rate(api, "families", 2, 3000, "2025-03-20T15:00:01Z")
    await feed(klass(11, start), log(11, start, seconds=3600))  # priced when it arrives
    [line] = (await families(api, 2025, 3))["families"][0]["lines"]
    assert (line["hourly_rate_cents"], line["amount_cents"]) == (2000, 2000)


NEW_YORK = {"academy_timezone": "America/New_York"}
MADRID = {"academy_timezone": "Europe/Madrid"}


@pytest.mark.parametrize("settings,last_2330,next_0030", [
    # 23:30 on March 31 in New York (EDT, UTC-4) is already April 1 in UTC.
    (NEW_YORK, datetime(2025, 4, 1, 3, 30, tzinfo=UTC), datetime(2025, 4, 1, 4, 30, tzinfo=UTC)),
    # Madrid moved to CEST (UTC+2) on March 30: 23:30 on March 31 is 21:30 UTC.
    (MADRID, datetime(2025, 3, 31, 21, 30, tzinfo=UTC), datetime(2025, 3, 31, 22, 30, tzinfo=UTC)),
], indirect=["settings"])
async def test_a_class_at_2330_local_on_the_last_day_belongs_to_that_month(api, feed, settings, last_2330, next_0030):
    await feed(klass(10, last_2330), klass(11, next_0030),
               log(10, last_2330, seconds=1800), log(11, next_0030, seconds=900))
    # A bare date is local midnight: the April rate starts after the 23:30 class, before the 00:30 one.
    await set_rate(api, "families", 2, 3600, "2025-01-01")
    await set_rate(api, "families", 2, 7200, "2025-04-01")
    march, april = await families(api, 2025, 3), await families(api, 2025, 4)
    assert [line["class_id"] for line in march["families"][0]["lines"]] == [10]
    assert [line["class_id"] for line in april["families"][0]["lines"]] == [11]
    assert march["families"][0]["lines"][0]["amount_cents"] == 1800  # 0.5 h at 36.00
    assert april["families"][0]["lines"][0]["amount_cents"] == 1800  # 0.25 h at 72.00
    assert march["timezone"] == settings.academy_timezone


async def test_in_utc_the_same_instants_fall_in_the_other_month(api, feed):
    instant = datetime(2025, 4, 1, 3, 30, tzinfo=UTC)  # 23:30 in New York on March 31
    await feed(klass(10, instant), log(10, instant, seconds=1800))
    assert (await families(api, 2025, 3))["families"] == []
    assert len((await families(api, 2025, 4))["families"]) == 1


async def test_a_cancelled_class_bills_nothing_even_with_attendance(api, feed):
    await feed(klass(10, MARCH), log(10, MARCH, seconds=3600), teacher_log(10, MARCH, seconds=3600))
    await set_rate(api, "families", 2, 1000, "2025-01-01")
    assert (await families(api, 2025, 3))["totals"][0]["amount_cents"] == 1000
    await feed(klass(10, MARCH, version=2, status="cancelled", type="class.cancelled"))
    assert (await families(api, 2025, 3))["families"] == []
    assert (await teachers(api, 2025, 3))["teachers"] == []


async def test_a_rescheduled_class_moves_its_lines_to_the_new_month_and_rate(api, feed):
    april = datetime(2025, 4, 2, 15, tzinfo=UTC)
    await set_rate(api, "families", 2, 2000, "2025-01-01")
    await set_rate(api, "families", 2, 3000, "2025-04-01")
    await feed(klass(10, MARCH), log(10, MARCH, seconds=3600))
    await feed(klass(10, april, version=2, type="class.updated"))
    assert (await families(api, 2025, 3))["families"] == []
    [line] = (await families(api, 2025, 4))["families"][0]["lines"]
    assert line["scheduled_start"] == "2025-04-02T15:00:00Z"
    assert (line["hourly_rate_cents"], line["amount_cents"]) == (3000, 3000)


async def test_pages_of_statements_cover_every_family_once(api, feed):
    events = []
    for family_id in (2, 5, 7):
        events += [klass(family_id * 10, MARCH, students=((family_id * 10, family_id),)),
                   log(family_id * 10, MARCH, student_id=family_id * 10, family_id=family_id, seconds=60)]
    await feed(*events)
    first = await families(api, 2025, 3, limit=2)
    assert [s["family_id"] for s in first["families"]] == [2, 5] and first["next_after"] == 5
    assert first["statement_count"] == 3 and first["line_count"] == 3  # whole-month figures on every page
    second = await families(api, 2025, 3, limit=2, after=first["next_after"])
    assert [s["family_id"] for s in second["families"]] == [7] and second["next_after"] is None


BAD_MONTHS = [
    {"year": 2025, "month": 13}, {"year": 2025, "month": 0}, {"year": "abc", "month": 3}, {"year": 2025},
    {"month": 3}, {"year": 2025, "month": 3, "limit": 0}, {"year": 2025, "month": 3, "limit": 1001},
    {"year": 2025, "month": 3, "after": -1}, {"year": 2025, "month": 3, "after": 2**64}, {"year": 99999, "month": 1}, {"year": 2025, "month": "3.5"},
]


async def test_bad_year_or_month_is_422(api):
    for params in BAD_MONTHS:
        for path in ("/monitoring/billing/families", "/monitoring/payroll/teachers"):
            for accept in ("application/json", "text/csv"):
                status, body = await api("GET", path, params=params, headers=BILLING | {"Accept": accept})
                assert status == 422 and body["status"] == 422 and body["title"], (path, params, body)
