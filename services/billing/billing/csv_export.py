"""CSV for spreadsheets: one row per line, per statement its totals by rule and per currency, grand totals.

`statement_rows` defines the rows from the JSON documents the API serves (live or frozen), so
CSV and JSON always say the same; the export itself renders the same rows in PostgreSQL
(billing.csv_copy, held equal to this byte for byte by the tests), only the header and the
grand totals come from here. Text cells that a spreadsheet would run as a formula (starting
with = + - @, a tab or a carriage return) get a leading single quote; numbers are ours and
stay numbers, so a negative adjustment remains -1200. Quoting (commas, quotes, newlines) is
the csv module's RFC 4180 minimal quoting, rows end with CRLF.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from billing.rates import Party

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def columns(party: Party) -> list[str]:
    person = ["student_id", "student_name"] if party == "family" else []
    return ["period", f"{party}_id", f"{party}_name", "kind", *person, "class_id", "class_title",
            "scheduled_start", "billable_seconds", "measured_seconds", "billed_seconds", "rule", "rule_detail",
            "hourly_rate_cents", "currency", "amount_cents", "provisional", "corrected", "billable_override",
            "correction_reason", "reference_period", "error"]


def safe_text(value: str | None) -> str | None:
    if value and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def statement_rows(party: Party, period: str, statement: dict) -> list[list[Any]]:
    """The statement's lines, its totals by rule, then its totals (one per currency), as rows
    in `columns(party)` order. Statements frozen before billing policies lack the policy
    fields: they were billed as measured."""
    owner = [period, statement[f"{party}_id"], safe_text(statement["name"])]
    rows = []
    for line in statement["lines"]:
        person = [line["student_id"], safe_text(line["student_name"])] if party == "family" else []
        reference = line["reference"]
        measured = line["billable_seconds"]
        rows.append([*owner, line["kind"], *person, line["class_id"], safe_text(line["class_title"]),
                     line["scheduled_start"], measured, line.get("measured_seconds", measured),
                     line.get("billed_seconds", measured), line.get("rule", "measured"),
                     safe_text(line.get("rule_detail", "")), line["hourly_rate_cents"], line["currency"],
                     line["amount_cents"], _bool(line["provisional"]), _bool(line.get("corrected", False)),
                     _bool(line.get("billable_override", False)), safe_text(line.get("correction_reason")),
                     reference["period"] if reference else None, safe_text(line["error"])])
    rows += [rule_total_row(party, owner, total) for total in statement.get("totals_by_rule", [])]
    rows += [total_row(party, owner, "total", total) for total in statement["totals"]]
    return rows


def grand_total_rows(party: Party, period: str, summary: dict) -> list[list[Any]]:
    return [total_row(party, [period, None, None], "grand_total", total) for total in summary["totals"]]


def rule_total_row(party: Party, owner: list[Any], total: dict) -> list[Any]:
    person = [None, None] if party == "family" else []
    return [*owner, "rule_total", *person, None, None, None, None, None, total["billed_seconds"], total["rule"],
            None, None, total["currency"], total["amount_cents"], None, None, None, None, None, None]


def total_row(party: Party, owner: list[Any], kind: str, total: dict) -> list[Any]:
    person = [None, None] if party == "family" else []
    measured = total["billable_seconds"]
    return [*owner, kind, *person, None, None, None, measured, measured, total.get("billed_seconds", measured),
            None, None, None, total["currency"], total["amount_cents"], None, None, None, None, None, None]


def render(party: Party, rows: Iterable[list[Any]], *, header: bool = False) -> str:
    """CSV text (None is an empty cell); with `header`, the column names first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(columns(party))
    writer.writerows(rows)
    return buffer.getvalue()


def _bool(value: bool) -> str:
    return "true" if value else "false"


class CrlfRows:
    """COPY ends its rows with LF; the CSV ends them with CRLF. A LF inside a quoted cell is
    the cell's own and stays: every quote character flips in and out of a quoted cell (a
    doubled quote flips twice), so the LFs outside quotes are the row ends, across chunks."""

    def __init__(self) -> None:
        self.quoted = False

    def __call__(self, chunk: bytes) -> bytes:
        parts = chunk.split(b'"')
        outside = 1 if self.quoted else 0
        parts[outside::2] = [part.replace(b"\n", b"\r\n") for part in parts[outside::2]]
        if len(parts) % 2 == 0:
            self.quoted = not self.quoted
        return b'"'.join(parts)
