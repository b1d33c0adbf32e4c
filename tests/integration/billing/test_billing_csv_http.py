"""CSV over HTTP: the whole month, spreadsheet-safe, the same figures as JSON, open or closed."""
from __future__ import annotations

from billing.csv_export import columns
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
)
from tests.support.closing import close_month

TITLE = 'Algebra, "advanced"\nsecond line — Élodie 🎻'


async def test_family_csv_has_a_row_per_line_totals_and_escaped_text(http, api, feed):
    await feed(family(2, '=HYPERLINK("http://evil.example","x")'), family(5, "+Jones"), student(3, 2, "@SUM(A1)"),
               student(4, 5, "\tTab"), klass(10, MARCH, title=TITLE, students=((3, 2), (4, 5))),
               log(10, MARCH, seconds=3300), log(10, MARCH, student_id=4, family_id=5, seconds=1800, final=False))
    await set_rate(api, "families", 2, 2500, "2025-01-01")

    header, *rows = await csv_rows(http, "/monitoring/billing/families")
    assert header == columns("family")
    smith_line, smith_rule, smith_total, jones_line, grand = [dict(zip(header, row)) for row in rows]
    assert smith_line["family_name"] == """'=HYPERLINK("http://evil.example","x")"""
    assert smith_line["student_name"] == "'@SUM(A1)" and jones_line["student_name"] == "'\tTab"
    assert jones_line["family_name"] == "'+Jones"
    assert smith_line["class_title"] == TITLE  # commas, quotes, newlines and unicode survive quoting
    assert (smith_line["kind"], smith_line["amount_cents"], smith_line["provisional"]) == ("line", "2292", "false")
    assert (smith_line["measured_seconds"], smith_line["billed_seconds"], smith_line["rule"]) == ("3300", "3300",
                                                                                                   "measured")
    assert (smith_rule["kind"], smith_rule["rule"], smith_rule["billed_seconds"], smith_rule["amount_cents"]) == (
        "rule_total", "measured", "3300", "2292")
    assert (smith_total["kind"], smith_total["amount_cents"], smith_total["currency"]) == ("total", "2292", "EUR")
    assert (jones_line["amount_cents"], jones_line["provisional"]) == ("", "true")
    assert jones_line["error"] == "no rate in force at the class start"
    assert (grand["kind"], grand["family_id"], grand["amount_cents"]) == ("grand_total", "", "2292")


async def test_payroll_csv_and_a_closed_month_serve_the_same_figures(http, api, feed):
    await feed(teacher(1, "Ada"), klass(10, MARCH), teacher_log(10, MARCH, seconds=3600), log(10, MARCH))
    await set_rate(api, "teachers", 1, 4000, "2025-01-01")
    await set_rate(api, "families", 2, 1000, "2025-01-01")
    before = await csv_rows(http, "/monitoring/payroll/teachers")
    assert before[0][:4] == ["period", "teacher_id", "teacher_name", "kind"] and "student_id" not in before[0]
    assert [row[3] for row in before[1:]] == ["line", "rule_total", "total", "grand_total"]
    json_before = await families(api, 2025, 3)

    await close_month(api, "2025-03")
    await feed(log(10, MARCH, seconds=60, version=2))  # after close: an adjustment in April, March unchanged
    assert await csv_rows(http, "/monitoring/payroll/teachers") == before
    assert (await families(api, 2025, 3))["families"] == json_before["families"]
    april = await csv_rows(http, "/monitoring/billing/families", month=4)
    adjustment = dict(zip(april[0], april[1]))
    assert (adjustment["kind"], adjustment["amount_cents"], adjustment["reference_period"]) == (
        "adjustment", "-983", "2025-03")  # a negative number stays a number: 17 − 1000


async def test_an_empty_month_is_a_header_only(http):
    header, *rows = await csv_rows(http, "/monitoring/billing/families")
    assert header[0] == "period" and rows == []
