"""The CSV streamed from PostgreSQL (billing.csv_copy) is, byte for byte, csv_export's rendering
of the month's JSON documents: open and closed months, adjustments, lines without a rate,
provisional and corrected lines, text that needs quotes or the formula guard, several
currencies, families and teachers, statements frozen before the policy fields existed."""
from __future__ import annotations

from datetime import timedelta

from billing.csv_export import grand_total_rows, render, statement_rows
from tests.integration.billing.billing_support import (
    CSV,
    MARCH,
    families,
    family,
    klass,
    log,
    set_rate,
    student,
    teacher,
    teacher_log,
)
from tests.support.closing import close_month

PATHS = {"family": ("/monitoring/billing/families", "families"), "teacher": ("/monitoring/payroll/teachers", "teachers")}
APRIL = MARCH + timedelta(days=31)
NASTY = ['=1+1', '+Jones', '-minus', '@SUM(A1)', '\tTab', '\rCR', 'a, "quoted"', 'two\nlines', 'crlf\r\nend',
         'Élodie 🎻 ünïcödé', '\\.', 'back\\slash', ' =space first', "'already", '"', ',', 'plain']
POLICY_FIELDS = ["measured_seconds", "billed_seconds", "rule", "rule_detail", "corrected", "billable_override",
                 "correction_reason"]  # what a line frozen before migration 004 lacks
RULES = [("minimum", "attended 0:30 → billed 15:00"), ("full_lesson", "=attended 52:10 of 60:00 ≥ 80%"),
         ("no_show", "-absent\n, \"billed\" 50%"), ("corrected", "")]


async def expected(api, party: str, year: int, month: int) -> bytes:
    """The reference: csv_export over every JSON page (two statements a page, so paging counts too)."""
    path, key = PATHS[party]
    after, rows, head = 0, [], None
    while after is not None:
        status, body = await api("GET", path, params={"year": year, "month": month, "after": after, "limit": 2})
        assert status == 200, body
        head = head or body
        rows += [row for document in body[key] for row in statement_rows(party, body["period"], document)]
        after = body["next_after"]
    return (render(party, [], header=True) + render(party, rows)
            + render(party, grand_total_rows(party, head["period"], head))).encode()


async def exported(http, party: str, year: int, month: int) -> bytes:
    async with http.get(PATHS[party][0], params={"year": year, "month": month}, headers=CSV) as response:
        assert response.status == 200
        body = await response.read()
        assert int(response.headers["Content-Length"]) == len(body)
        return body


async def assert_same(http, api, year: int, month: int) -> None:
    for party in PATHS:
        reference = await expected(api, party, year, month)
        assert reference.count(b"\r\n") > 2, party  # something beyond the header and grand totals
        assert await exported(http, party, year, month) == reference, party


async def a_varied_march(api, feed, service) -> None:
    """Families 2..8 with text needing care, two currencies, no rate, provisional, corrected."""
    events = []
    for i, text in enumerate(NASTY):
        family_id, student_id, class_id = 2 + i % 7, 100 + i, 10 + i
        start = MARCH + timedelta(hours=i, microseconds=123456 if i % 4 == 1 else 0)
        events += [family(family_id, text if i < 7 else f"Family {family_id}"), student(student_id, family_id, text),
                   teacher(1 + i % 3, text), klass(class_id, start, title=text, teacher_id=1 + i % 3,
                                                    students=((student_id, family_id),)),
                   log(class_id, start, student_id=student_id, family_id=family_id, seconds=60 * i + 7,
                       final=i % 3 != 0, corrected=i % 5 == 0, correction_reason=text if i % 5 == 0 else None),
                   teacher_log(class_id, start, teacher_id=1 + i % 3, seconds=3000 + i)]
    # a line of a class billing never heard of (no title), of a student not in the directory
    events += [log(90, MARCH, student_id=900, family_id=3, seconds=900)]
    await feed(*events)
    for family_id in (2, 3, 4, 5, 6):
        await set_rate(api, "families", family_id, 2500 + family_id, "2025-01-01")
    await set_rate(api, "families", 4, 3100, "2025-03-10T17:30:00Z", currency="USD")  # two currencies
    await set_rate(api, "teachers", 1, 4000, "2025-01-01")
    await set_rate(api, "teachers", 2, 4100, "2025-01-01", currency="GBP")
    async with service.pool.acquire() as conn:
        await conn.execute("UPDATE families SET name = '' WHERE family_id = 6")
        await conn.execute("DELETE FROM families WHERE family_id = 7")  # a statement without a name
        for position, (rule, detail) in enumerate(RULES):  # what billing policies write
            await conn.execute(
                """UPDATE attendance_lines SET rule = $1, rule_detail = $2, billed_seconds = billable_seconds + $3
                   WHERE class_id % 4 = $4""", rule, detail, 600 * position, position)


async def test_an_open_month_streams_what_the_json_documents_say(http, api, feed, service):
    await a_varied_march(api, feed, service)
    await assert_same(http, api, 2025, 3)


async def test_a_closed_month_and_the_adjustments_of_the_next(http, api, feed, service):
    await a_varied_march(api, feed, service)
    await set_rate(api, "families", 7, 1000, "2025-01-01")
    await set_rate(api, "families", 8, 1000, "2025-01-01")
    await set_rate(api, "teachers", 3, 1000, "2025-01-01")
    await close_month(api, "2025-03")
    await feed(log(10, MARCH, student_id=100, family_id=2, seconds=60, version=2, corrected=True,
                   correction_reason="@moved, \"early\"\n"),  # negative adjustment, reason needing care
               log(11, MARCH + timedelta(hours=1, microseconds=123456), student_id=101, family_id=3, seconds=4000,
                   version=2),
               teacher_log(12, MARCH + timedelta(hours=2), teacher_id=3, seconds=1, version=2),
               klass(40, APRIL, title="=April", students=((100, 2),)), log(40, APRIL, student_id=100, family_id=2),
               teacher_log(40, APRIL, teacher_id=1), klass(41, MARCH, students=((150, 9),)),
               log(41, MARCH, student_id=150, family_id=9, seconds=1200))  # late, in closed March, family 9 unpriced
    await assert_same(http, api, 2025, 3)
    await assert_same(http, api, 2025, 4)
    april = await families(api, 2025, 4)
    assert april["adjustment_lines"] >= 3 and april["error_lines"] >= 1, april


async def test_statements_frozen_before_billing_policies(http, api, feed, service):
    await a_varied_march(api, feed, service)
    for party_id in (7, 8):
        await set_rate(api, "families", party_id, 1000, "2025-01-01")
    await set_rate(api, "teachers", 3, 1000, "2025-01-01")
    await close_month(api, "2025-03")
    async with service.pool.acquire() as conn:  # as a close before migration 004 froze them
        await conn.execute(
            """UPDATE period_statements SET statement = (statement - 'totals_by_rule') || jsonb_build_object(
                   'lines', (SELECT coalesce(jsonb_agg(e - $1::text[] ORDER BY n), '[]')
                             FROM jsonb_array_elements(statement->'lines') WITH ORDINALITY AS x(e, n)),
                   'totals', (SELECT coalesce(jsonb_agg(e - 'billed_seconds' ORDER BY n), '[]')
                              FROM jsonb_array_elements(statement->'totals') WITH ORDINALITY AS x(e, n)))""",
            POLICY_FIELDS)
    march = await families(api, 2025, 3)
    assert "rule" not in march["families"][0]["lines"][0] and "totals_by_rule" not in march["families"][0]
    await assert_same(http, api, 2025, 3)
