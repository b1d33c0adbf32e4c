"""The month's CSV rows straight from PostgreSQL: `COPY (SELECT ...) TO STDOUT WITH (FORMAT csv)`.

The SQL renders each cell as billing.csv_export renders the JSON documents (which stay the
reference, see tests/integration/billing/test_billing_csv_copy.py): text cells through the
formula guard, an empty text as NULL (PostgreSQL quotes an empty string, the csv module
writes an empty cell for it and for None alike), booleans as true/false, times as `rfc3339`.
PostgreSQL's quoting (a cell with a comma, quote, CR or LF is quoted, quotes doubled) is the
csv module's minimal quoting; its rows end with LF, which csv_export.CrlfRows makes CRLF.

Every row, whatever it is, has the same named cells (`_SHAPE`, plus the statement's
`party_id` and `name`), so one cell list (`_cells`) renders them all: an open month's lines,
the adjustments reconcile computed (passed in as arrays), their totals by rule and per
currency; a closed month's frozen statement documents.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import asyncpg

from billing.csv_export import columns
from billing.months import Month
from billing.rates import Party
from billing.statements import NO_RATE, Line

Write = Callable[[bytes], Awaitable[None]]

_TABLE = {"family": "families", "teacher": "teachers"}
_FORMULA = "(61, 43, 45, 64, 9, 13)"  # code points of csv_export.FORMULA_STARTS: = + - @ TAB CR
_SHAPE = ("party_id", "name", "kind", "student_id", "student_name", "class_id", "title", "start", "billable",
          "measured", "billed", "rule", "rule_detail", "rate", "currency", "amount", "provisional", "corrected",
          "override", "reason", "reference", "error")


def _safe(value: str) -> str:
    """csv_export.safe_text: a text a spreadsheet would run gets a leading quote."""
    return f"CASE WHEN ascii({value}) IN {_FORMULA} THEN '''' || {value} WHEN {value} = '' THEN NULL ELSE {value} END"


def _text(value: str) -> str:
    return f"nullif({value}, '')"


def _flag(value: str) -> str:
    return f"CASE WHEN {value} THEN 'true' ELSE 'false' END"


def _rfc3339(value: str) -> str:
    """academy_common.events.rfc3339: UTC, microseconds only when there are any."""
    utc = f"{value} AT TIME ZONE 'UTC'"
    return (f"CASE WHEN date_trunc('second', {value}) = {value} THEN to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
            f"ELSE to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') END")


def _cells(party: Party, values: dict[str, str]) -> str:
    """`values` (of `_SHAPE`, NULL where missing) as the cells of csv_export.columns(party), in
    its order; payroll has no student cells."""
    cell = {name: values.get(name, "NULL") for name in _SHAPE}
    person = [cell["student_id"], _safe(cell["student_name"])] if party == "family" else []
    return ", ".join([
        "$3::text", cell["party_id"], _safe(cell["name"]), cell["kind"], *person, cell["class_id"],
        _safe(cell["title"]), cell["start"], cell["billable"], cell["measured"], cell["billed"], _text(cell["rule"]),
        _safe(cell["rule_detail"]), cell["rate"], _text(cell["currency"]), cell["amount"], cell["provisional"],
        cell["corrected"], cell["override"], _safe(cell["reason"]), _text(cell["reference"]), _safe(cell["error"])])


def _named(party: Party) -> list[str]:
    """Names for the rendered cells, where a query sorts by keys it does not output."""
    return [f"cell{i}" for i in range(len(columns(party)))]


async def _without_jit(conn: asyncpg.Connection) -> None:
    """JIT-compiling these many expressions costs seconds (more than a month's rows take)."""
    await conn.execute("SET LOCAL jit = off")


# -- open months ------------------------------------------------------------------------------

_ADJUSTMENT_COLUMNS = (
    ("party_id", "bigint"), ("class_id", "bigint"), ("title", "text"), ("scheduled_start", "timestamptz"),
    ("student_id", "bigint"), ("student_name", "text"), ("billable_seconds", "bigint"),
    ("billed_seconds", "bigint"), ("rule", "text"), ("rule_detail", "text"), ("rate_cents", "bigint"),
    ("currency", "text"), ("amount_cents", "bigint"), ("final", "boolean"), ("corrected", "boolean"),
    ("billable_override", "boolean"), ("correction_reason", "text"), ("reference_period", "text"))
_ADJUSTMENTS = "unnest({}) WITH ORDINALITY AS a({}, n)".format(
    ", ".join(f"${i}::{kind}[]" for i, (_, kind) in enumerate(_ADJUSTMENT_COLUMNS, start=5)),
    ", ".join(name for name, _ in _ADJUSTMENT_COLUMNS))
_MONTH_LINES = "l.party = $1 AND l.month = $2 AND l.counted"
_UNSORTED = 'NULL::text COLLATE "C"'


def _line(kind: str, table: str, title: str, student_name: str) -> dict[str, str]:
    """A line or an adjustment (columns as in attendance_lines, from `table`) in `_SHAPE`."""
    return {
        "party_id": f"{table}.party_id", "name": "o.name", "kind": kind, "student_id": f"{table}.student_id",
        "student_name": student_name, "class_id": f"{table}.class_id", "title": title,
        "start": _rfc3339(f"{table}.scheduled_start"), "billable": f"{table}.billable_seconds",
        "measured": f"{table}.billable_seconds", "billed": f"{table}.billed_seconds", "rule": f"{table}.rule",
        "rule_detail": f"{table}.rule_detail", "rate": f"{table}.rate_cents", "currency": f"{table}.currency",
        "amount": f"{table}.amount_cents", "provisional": _flag(f"NOT {table}.final"),
        "corrected": _flag(f"{table}.corrected"), "override": _flag(f"{table}.billable_override"),
        "reason": f"{table}.correction_reason", "error": f"CASE WHEN {table}.amount_cents IS NULL THEN $4::text END"}


def _open_query(party: Party) -> str:
    """Rows rendered where they are read (in parallel workers, when PostgreSQL runs some), each
    with its sort keys: statement (party id), part (lines, adjustments, totals by rule, totals),
    then the order within the part (the JSON's). Totals add up the lines and adjustments that
    have an amount, by currency and rule, and by currency."""
    owner = f"LEFT JOIN {_TABLE[party]} o ON o.{party}_id"
    line = _cells(party, _line("'line'", "l", "cl.title", "s.name"))
    adjustment = _cells(party, _line("'adjustment'", "a", "a.title", "a.student_name")
                        | {"reference": "a.reference_period"})
    total = _cells(party, {
        "party_id": "t.party_id", "name": "o.name", "kind": "CASE WHEN t.by_rule THEN 'rule_total' ELSE 'total' END",
        "billable": "t.billable", "measured": "t.billable", "billed": "t.billed", "rule": "t.rule",
        "currency": "t.currency", "amount": "t.amount"})
    columns = "party_id, currency, rule, billable_seconds, billed_seconds, amount_cents"
    cells = _named(party)
    return f"""
    SELECT {", ".join(cells)} FROM (
        SELECT l.party_id, 0 AS part, l.scheduled_start AS at, l.class_id AS c, l.person_key AS k, 0::bigint AS n,
               {_UNSORTED} AS sort_currency, {_UNSORTED} AS sort_rule, {line}
        FROM attendance_lines l
        LEFT JOIN classes cl ON cl.class_id = l.class_id LEFT JOIN students s ON s.student_id = l.student_id
        {owner} = l.party_id
        WHERE {_MONTH_LINES}
        UNION ALL
        SELECT a.party_id, 1, NULL, NULL, NULL, a.n, {_UNSORTED}, {_UNSORTED}, {adjustment}
        FROM {_ADJUSTMENTS} {owner} = a.party_id
        UNION ALL
        SELECT t.party_id, CASE WHEN t.by_rule THEN 2 ELSE 3 END, NULL, NULL, NULL, NULL, t.currency COLLATE "C",
               t.rule COLLATE "C", {total}
        FROM (SELECT party_id, currency, rule, grouping(rule) = 0 AS by_rule,
                     CASE WHEN grouping(rule) = 1 THEN sum(billable_seconds)::bigint END AS billable,
                     sum(billed_seconds)::bigint AS billed, sum(amount_cents)::bigint AS amount
              FROM (SELECT {columns} FROM attendance_lines l WHERE {_MONTH_LINES}
                    UNION ALL SELECT {columns} FROM {_ADJUSTMENTS}) AS x
              WHERE amount_cents IS NOT NULL AND currency IS NOT NULL
              GROUP BY party_id, GROUPING SETS ((currency, rule), (currency))) AS t
        {owner} = t.party_id
    ) AS u (party_id, part, at, c, k, n, sort_currency, sort_rule, {", ".join(cells)})
    ORDER BY party_id, part, at, c, k, n, sort_currency, sort_rule"""


async def copy_open_month(conn: asyncpg.Connection, party: Party, month: Month,
                          adjustments: Iterable[tuple[int, Line]], write: Write) -> None:
    """Every statement's rows of an open month: its lines, then `adjustments` (party id, line)
    in the order given, then its totals by rule and per currency; statements by party id."""
    columns: list[list] = [[] for _ in _ADJUSTMENT_COLUMNS]
    for party_id, line in adjustments:
        values = (party_id, line.class_id, line.class_title, line.scheduled_start, line.student_id,
                  line.student_name, line.billable_seconds, line.billed_seconds, line.rule, line.rule_detail,
                  line.hourly_rate_cents, line.currency, line.amount_cents, not line.provisional, line.corrected,
                  line.billable_override, line.correction_reason,
                  None if line.reference_period is None else str(line.reference_period))
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    await _without_jit(conn)
    await conn.copy_from_query(_open_query(party), party, month.first_day, str(month), NO_RATE, *columns,
                               output=write, format="csv")


# -- closed months ----------------------------------------------------------------------------

def _frozen_line() -> dict[str, str]:
    """A frozen line document `e` in `_SHAPE`; statements frozen before billing policies lack the
    policy fields (csv_export.statement_rows falls back the same way)."""
    def field(name: str, fallback: str) -> str:
        return f"CASE WHEN e ? '{name}' THEN e->>'{name}' ELSE {fallback} END"

    values = {cell: f"e->>'{key}'" for cell, key in (
        ("kind", "kind"), ("student_id", "student_id"), ("student_name", "student_name"), ("class_id", "class_id"),
        ("title", "class_title"), ("start", "scheduled_start"), ("billable", "billable_seconds"),
        ("rule_detail", "rule_detail"), ("rate", "hourly_rate_cents"), ("currency", "currency"),
        ("amount", "amount_cents"), ("provisional", "provisional"), ("reason", "correction_reason"),
        ("error", "error"))}
    return values | {
        "measured": field("measured_seconds", "e->>'billable_seconds'"),
        "billed": field("billed_seconds", "e->>'billable_seconds'"), "rule": field("rule", "'measured'"),
        "corrected": "coalesce(e->>'corrected', 'false')", "override": "coalesce(e->>'billable_override', 'false')",
        "reference": "e->'reference'->>'period'"}


def _frozen(values: dict[str, str]) -> str:
    """A select list of `_SHAPE` but the owner, NULL where `values` has nothing."""
    return ", ".join(f"{values.get(cell, 'NULL')} AS {cell}" for cell in _SHAPE[2:])


def _closed_query(party: Party) -> str:
    """The frozen documents' rows in their order: the lines, the totals by rule, the totals.

    Each document is read (detoasted) once, its parts taken out once (OFFSET 0 keeps them from
    being re-evaluated per row), and statements come in party order, so only each statement's
    own rows are sorted."""
    by_rule = _frozen({"kind": "'rule_total'", "billed": "e->>'billed_seconds'", "rule": "e->>'rule'",
                       "currency": "e->>'currency'", "amount": "e->>'amount_cents'"})
    measured = "e->>'billable_seconds'"
    total = _frozen({"kind": "'total'", "billable": measured, "measured": measured,
                     "billed": f"CASE WHEN e ? 'billed_seconds' THEN e->>'billed_seconds' ELSE {measured} END",
                     "currency": "e->>'currency'", "amount": "e->>'amount_cents'"})
    rendered = _cells(party, {name: f"r.{name}" for name in _SHAPE[2:]} | {"party_id": "d.id", "name": "d.name"})
    return f"""
    SELECT {rendered}
    FROM (SELECT ps.party_id, j.s->>'{party}_id' AS id, j.s->>'name' AS name, j.s->'lines' AS lines,
                 coalesce(j.s->'totals_by_rule', '[]') AS by_rule, j.s->'totals' AS totals
          FROM period_statements ps CROSS JOIN LATERAL (SELECT ps.statement || '{{}}'::jsonb AS s OFFSET 0) AS j
          WHERE ps.period = $1 AND ps.party = $2 ORDER BY ps.party_id OFFSET 0) AS d
    CROSS JOIN LATERAL (
        SELECT 0 AS part, x.n, {_frozen(_frozen_line())} FROM jsonb_array_elements(d.lines) WITH ORDINALITY AS x(e, n)
        UNION ALL
        SELECT 1, x.n, {by_rule} FROM jsonb_array_elements(d.by_rule) WITH ORDINALITY AS x(e, n)
        UNION ALL
        SELECT 2, x.n, {total} FROM jsonb_array_elements(d.totals) WITH ORDINALITY AS x(e, n)) AS r
    ORDER BY d.party_id, r.part, r.n"""


async def copy_closed_month(conn: asyncpg.Connection, party: Party, month: Month, write: Write) -> None:
    """Every frozen statement's rows, statements by party id, each as it was frozen."""
    await _without_jit(conn)
    await conn.copy_from_query(_closed_query(party), month.first_day, party, str(month), output=write, format="csv")
