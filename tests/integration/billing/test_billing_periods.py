"""Period close: frozen statements with a checksum, and later changes as adjustments."""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from tests.integration.billing.billing_support import (
    MARCH,
    families,
    family,
    klass,
    log,
    set_rate,
    student,
    teacher_log,
    teachers,
)
from tests.support.closing import close_month
from tests.support.services import VIEWER

MARCH_20 = datetime(2025, 3, 20, 15, 0, tzinfo=UTC)


async def close(api, period: str) -> dict:
    return await close_month(api, period)


async def refused(api, period: str) -> dict:
    status, body = await api("POST", f"/billing/periods/{period}/close")
    assert status == 409, body
    return body


async def all_pages(api, path: str, key: str, year: int, month: int) -> list[dict]:
    statements, after = [], 0
    while after is not None:
        status, body = await api("GET", path, params={"year": year, "month": month, "after": after, "limit": 1})
        assert status == 200, body
        statements += body[key]
        after = body["next_after"]
    return statements


async def priced_march(api, feed) -> None:
    """Family 2 (student 3) and teacher 1 in two March classes, rates from January."""
    await feed(family(2, "Smith"), student(3, 2, "Bo"), klass(10, MARCH), klass(11, MARCH_20),
               log(10, MARCH, seconds=3600), log(11, MARCH_20, seconds=1800, final=False),
               teacher_log(10, MARCH, seconds=3600))
    await set_rate(api, "families", 2, 2000, "2025-01-01")
    await set_rate(api, "teachers", 1, 5000, "2025-01-01")


async def test_closing_freezes_the_month_with_a_checksum_of_its_statements(api, feed):
    await priced_march(api, feed)
    before = await families(api, 2025, 3)

    closed = await close(api, "2025-03")
    assert closed["status"] == "closed" and closed["closed_by"] == "billing" and closed["closed_at"]
    assert closed["provisional_lines"] == 1  # allowed, and reported
    assert closed["families"]["totals"] == [{"currency": "EUR", "amount_cents": 3000, "billable_seconds": 5400, "billed_seconds": 5400}]
    assert closed["teachers"]["totals"] == [{"currency": "EUR", "amount_cents": 5000, "billable_seconds": 3600, "billed_seconds": 3600}]
    status, period = await api("GET", "/billing/periods/2025-03")
    assert status == 200 and period == closed

    after = await families(api, 2025, 3)
    assert after["status"] == "closed" and after["checksum"] == closed["checksum"]
    assert after["families"] == before["families"] and after["totals"] == before["totals"]

    digest = hashlib.sha256()
    for path, key in (("/monitoring/billing/families", "families"), ("/monitoring/payroll/teachers", "teachers")):
        for statement in await all_pages(api, path, key, 2025, 3):
            digest.update(json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
                          + b"\n")
    assert digest.hexdigest() == closed["checksum"]

    status, again = await api("POST", "/billing/periods/2025-03/close")  # the same, done job
    assert status == 202 and again["state"] == "done" and again["checksum"] == closed["checksum"]
    assert (await api("GET", "/billing/periods/2025-04"))[1] == {"period": "2025-04", "status": "open"}


async def test_corrections_before_close_change_the_month_itself(api, feed):
    await priced_march(api, feed)
    await feed(log(10, MARCH, seconds=2700, version=2, corrected=True))
    bill = (await families(api, 2025, 3))["families"][0]
    assert [line["amount_cents"] for line in bill["lines"]] == [1500, 1000]
    assert bill["lines"][0]["corrected"] is True and all(line["kind"] == "line" for line in bill["lines"])


async def test_late_data_and_corrections_after_close_become_adjustments_once(api, feed):
    await priced_march(api, feed)
    frozen = await close(api, "2025-03")
    march_before = await families(api, 2025, 3)

    # After close: a correction (3600 → 2700 s), the final figure of the provisional line
    # (1800 → 2400 s), late attendance of a new class, and the teacher's correction.
    late = datetime(2025, 3, 25, 15, tzinfo=UTC)
    await feed(log(10, MARCH, seconds=2700, version=2, corrected=True),
               log(11, MARCH_20, seconds=2400, version=2, final=True),
               klass(12, late), log(12, late, seconds=3600),
               teacher_log(10, MARCH, seconds=3000, version=2, corrected=True))

    march = await families(api, 2025, 3)
    assert march["families"] == march_before["families"] and march["checksum"] == frozen["checksum"]

    april = (await families(api, 2025, 4))["families"][0]
    assert [(a["kind"], a["class_id"], a["billable_seconds"], a["amount_cents"], a["reference"])
            for a in april["lines"]] == [
        ("adjustment", 10, -900, -500, {"period": "2025-03", "class_id": 10}),
        ("adjustment", 11, 600, 333, {"period": "2025-03", "class_id": 11}),  # 1333 − 1000
        ("adjustment", 12, 3600, 2000, {"period": "2025-03", "class_id": 12}),
    ]
    assert april["totals"] == [{"currency": "EUR", "amount_cents": 1833, "billable_seconds": 3300, "billed_seconds": 3300}]
    [pay] = (await teachers(api, 2025, 4))["teachers"][0]["lines"]
    assert (pay["billable_seconds"], pay["amount_cents"]) == (-600, -833)

    # Closing April carries the adjustments into a closed bill; May does not repeat them.
    closed_april = await close(api, "2025-04")
    assert closed_april["adjustment_lines"] == 4
    assert (await families(api, 2025, 5))["families"] == []
    assert (await teachers(api, 2025, 5))["teachers"] == []

    # A further correction of the March line is measured against everything charged so far.
    await feed(log(10, MARCH, seconds=3600, version=3, corrected=True))
    [may] = (await families(api, 2025, 5))["families"][0]["lines"]
    assert (may["billable_seconds"], may["amount_cents"], may["reference"]["period"]) == (900, 500, "2025-03")


async def test_replaying_old_versions_after_close_changes_nothing(api, feed):
    await priced_march(api, feed)
    await close(api, "2025-03")
    await feed(log(10, MARCH, seconds=60, version=1), log(10, MARCH, seconds=3600, version=1))
    assert (await families(api, 2025, 4))["families"] == []


async def test_a_rate_fix_after_close_is_charged_as_an_adjustment(api, feed):
    await priced_march(api, feed)
    await close(api, "2025-03")
    await set_rate(api, "families", 2, 2400, "2025-03-15")  # only the class of March 20
    assert (await families(api, 2025, 3))["totals"][0]["amount_cents"] == 3000  # the closed bill stays
    [adjustment] = (await families(api, 2025, 4))["families"][0]["lines"]
    assert (adjustment["class_id"], adjustment["billable_seconds"], adjustment["amount_cents"]) == (11, 0, 200)
    assert adjustment["hourly_rate_cents"] == 2400


async def test_a_class_cancelled_or_moved_after_close_is_credited(api, feed):
    await priced_march(api, feed)
    await close(api, "2025-03")
    may = datetime(2025, 5, 5, 15, tzinfo=UTC)
    await feed(klass(10, MARCH, version=2, status="cancelled", type="class.cancelled"),
               klass(11, may, version=2, type="class.updated"))
    april = (await families(api, 2025, 4))["families"][0]["lines"]
    assert [(a["class_id"], a["amount_cents"]) for a in april] == [(10, -2000), (11, -1000)]
    [moved] = (await families(api, 2025, 5))["families"][0]["lines"]
    assert (moved["kind"], moved["class_id"], moved["amount_cents"]) == ("line", 11, 1000)
    [teacher_credit] = (await teachers(api, 2025, 4))["teachers"][0]["lines"]
    assert teacher_credit["amount_cents"] == -5000


async def test_with_march_and_april_closed_a_march_correction_lands_in_may(api, feed):
    await priced_march(api, feed)
    await close(api, "2025-03")
    await close(api, "2025-04")
    await feed(log(10, MARCH, seconds=1800, version=2))
    assert (await families(api, 2025, 4))["status"] == "closed"
    [line] = (await families(api, 2025, 5))["families"][0]["lines"]
    assert (line["amount_cents"], line["reference"]["period"]) == (-1000, "2025-03")


async def test_a_month_with_unpriced_lines_cannot_close(api, feed):
    await feed(klass(10, MARCH, students=((3, 2), (4, 5))), log(10, MARCH, seconds=60),
               log(10, MARCH, student_id=4, family_id=5, seconds=60), teacher_log(10, MARCH, seconds=60))
    await set_rate(api, "families", 2, 2000, "2025-01-01")
    refusal = await refused(api, "2025-03")
    assert refusal["unpriced"] == {"families": [5], "teachers": [1]}
    assert (await api("GET", "/billing/periods/2025-03"))[1]["status"] == "open"
    await set_rate(api, "families", 5, 0, "2025-01-01")  # an explicit zero is a decision, not a default
    await set_rate(api, "teachers", 1, 100, "2025-01-01")
    await close(api, "2025-03")


async def test_a_month_that_is_not_over_cannot_close(api):
    now = datetime.now(UTC)
    refusal = await refused(api, f"{now.year:04d}-{now.month:02d}")
    assert "not over" in refusal["detail"]


async def test_a_bad_period_is_422(api):
    for period in ("2025-13", "2025-00", "25-03", "2025-3", "march", "2025-03-01", "1900-01"):
        for method, path in (("POST", f"/billing/periods/{period}/close"), ("GET", f"/billing/periods/{period}")):
            status, body = await api(method, path)
            assert status == 422 and body["status"] == 422, (period, body)


async def test_the_viewer_cannot_close_or_see_periods(api):
    assert (await api("POST", "/billing/periods/2025-03/close", headers=VIEWER))[0] == 403
    assert (await api("GET", "/billing/periods/2025-03", headers=VIEWER))[0] == 403
