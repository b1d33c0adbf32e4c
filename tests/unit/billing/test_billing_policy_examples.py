"""The worked examples of docs/billing-api.md ("Billing policies"), read from the document and priced."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from billing.policies import Entry, Facts, parse_fields, price, resolve

DOC = Path(__file__).resolve().parents[3] / "docs" / "billing-api.md"
LESSON = 3600
RATE_CENTS = 3000
HOUR = 3600


def examples() -> list[list[str]]:
    text = DOC.read_text().split("### Worked examples", 1)[1]
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def facts(party: str, measured: int, situation: str) -> Facts:
    base = {"party": party, "measured_seconds": measured, "scheduled_seconds": LESSON,
            "teacher_attended": True, "students_came": True}
    if situation.startswith("cancelled ") and situation.endswith(" h before"):
        hours = int(situation.split()[1])
        return Facts(**base | {"cancelled": True, "cancel_lead_seconds": hours * HOUR})
    return Facts(**base | {
        "attended": {},
        "absent, the teacher attended": {},
        "absent, no meeting found": {"no_meeting_found": True},
        "corrected by an admin": {"corrected": True},
        "no student came": {"students_came": False},
    }[situation])


def test_the_document_has_its_examples():
    assert len(examples()) >= 15


@pytest.mark.parametrize("row", examples(), ids=lambda row: f"{row[0]} {row[2]} {row[3]}")
def test_worked_example(row):
    policy_json, party, measured, situation, billed, rule, amount, detail = row
    fields = parse_fields(party, json.loads(policy_json.strip("`")))
    policy = resolve([], [Entry(datetime(2026, 1, 1, tzinfo=UTC), fields)], datetime(2026, 3, 10, tzinfo=UTC))
    priced = price(facts(party, int(measured), situation), policy)
    assert (priced.billed_seconds, priced.rule, priced.rule_detail) == (int(billed), rule, detail)
    assert (priced.billed_seconds * RATE_CENTS * 2 + 3600) // 7200 == int(amount)  # the SQL's round half-up
