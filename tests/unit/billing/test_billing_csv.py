"""CSV rendering: stable columns, formula-injection guard on text, RFC 4180 quoting, numbers stay numbers."""
from __future__ import annotations

import csv
import io
import itertools

from hypothesis import given
from hypothesis import strategies as st

from billing.csv_export import (
    FORMULA_STARTS,
    CrlfRows,
    columns,
    grand_total_rows,
    render,
    safe_text,
    statement_rows,
)

LINE = {"kind": "line", "class_id": 7, "class_title": "Algebra", "scheduled_start": "2025-03-10T15:00:00Z",
        "student_id": 3, "student_name": "Bo", "billable_seconds": 3300, "hourly_rate_cents": 2500,
        "currency": "EUR", "amount_cents": 2292, "provisional": False, "corrected": False, "reference": None,
        "error": None}


def statement(name: str = "Smith", **line) -> dict:
    return {"family_id": 2, "name": name, "lines": [LINE | line],
            "totals": [{"currency": "EUR", "amount_cents": 2292, "billable_seconds": 3300, "billed_seconds": 3300}]}


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_columns_are_stable_per_report():
    line = ["class_id", "class_title", "scheduled_start", "billable_seconds", "measured_seconds", "billed_seconds",
            "rule", "rule_detail", "hourly_rate_cents", "currency", "amount_cents", "provisional", "corrected",
            "billable_override", "correction_reason", "reference_period", "error"]
    assert columns("family") == ["period", "family_id", "family_name", "kind", "student_id", "student_name", *line]
    assert columns("teacher") == ["period", "teacher_id", "teacher_name", "kind", *line]


def test_cells_a_spreadsheet_would_run_get_a_quote():
    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert safe_text(dangerous) == "'" + dangerous
    for harmless in ("Smith", "", None, "a=b", " =1", "Élodie"):
        assert safe_text(harmless) == harmless


def test_rows_lines_totals_and_grand_totals():
    rows = statement_rows("family", "2025-03", statement(name="=cmd|' /C calc'!A0", reference={"period": "2025-02"},
                                                          amount_cents=-1200, kind="adjustment"))
    rows += grand_total_rows("family", "2025-03", {"totals": [{"currency": "EUR", "amount_cents": 2292,
                                                     "billable_seconds": 3300, "billed_seconds": 3300}]})
    header, adjustment, total, grand = parse(render("family", rows, header=True))
    row = dict(zip(header, adjustment))
    assert row["family_name"] == "'=cmd|' /C calc'!A0" and row["amount_cents"] == "-1200"  # a number, no quote
    assert (row["kind"], row["reference_period"], row["provisional"]) == ("adjustment", "2025-02", "false")
    assert dict(zip(header, total))["kind"] == "total" and dict(zip(header, grand))["kind"] == "grand_total"
    assert dict(zip(header, grand))["family_id"] == "" and dict(zip(header, grand))["amount_cents"] == "2292"


def test_payroll_rows_have_no_student_cells():
    doc = {"teacher_id": 1, "name": "Ada", "lines": [LINE], "totals": []}
    header, row = parse(render("teacher", statement_rows("teacher", "2025-03", doc), header=True))
    assert len(row) == len(header) and dict(zip(header, row))["teacher_name"] == "Ada"


@given(st.text(), st.text())
def test_any_text_survives_quoting_and_never_starts_a_formula(name, title):
    text = render("family", statement_rows("family", "2025-03", statement(name=name, class_title=title)))
    line_row, _ = parse(text)
    by_column = dict(zip(columns("family"), line_row))
    assert by_column["family_name"] == safe_text(name) and by_column["class_title"] == safe_text(title)
    assert not by_column["family_name"].startswith(FORMULA_STARTS)


def lf_and_crlf(rows: list[list[str]]) -> tuple[bytes, bytes]:
    """The rows as COPY writes them (LF ends) and as the export must (CRLF ends); both quote a
    cell with a CR or LF."""
    lines = [render("family", [row]) for row in rows]
    return "".join(line[:-2] + "\n" for line in lines).encode(), "".join(lines).encode()


def test_row_ends_become_crlf_and_line_breaks_inside_cells_stay():
    lf, crlf = lf_and_crlf([["a", 'two\nlines, "quoted"', "crlf\r\nkept"], ['"', "", "\n"], ["plain"]])
    assert CrlfRows()(lf) == crlf
    assert crlf.count(b"\r\n") == 4  # three row ends and the cell's own CRLF


@given(st.lists(st.lists(st.text(alphabet='ab,"\n\r ', max_size=6), min_size=1, max_size=4), max_size=6),
       st.lists(st.integers(min_value=0, max_value=200), max_size=8))
def test_any_chunking_of_copy_output_gives_the_same_crlf_rows(rows, cuts):
    lf, crlf = lf_and_crlf(rows)
    crlf_rows, edges = CrlfRows(), sorted({0, len(lf), *(c for c in cuts if c < len(lf))})
    assert b"".join(crlf_rows(lf[a:b]) for a, b in itertools.pairwise(edges)) == crlf
