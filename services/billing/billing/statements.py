"""Statements: the lines a family (or teacher) is charged (or paid) for in a month, and totals.

Amounts are integer cents computed per line by the database (round half-up of
billable_seconds × hourly rate / 3600); everything here only adds them up, so a total is
always the exact sum of its lines.
"""
from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from academy_common.events import rfc3339
from billing.months import Month
from billing.rates import Party

NO_RATE = "no rate in force at the class start"
# A month's lines share their classes' starts: formatting each start once is a tenth of a close.
_start_text = functools.lru_cache(maxsize=1 << 16)(rfc3339)


@dataclass(frozen=True)
class Line:
    kind: str  # "line" | "adjustment"
    class_id: int
    class_title: str | None
    scheduled_start: datetime
    student_id: int | None  # family lines: whose attendance it is
    student_name: str | None
    billable_seconds: int  # measured: what attendance says is billable
    billed_seconds: int  # what the billing policy made of it; the amount prices these
    rule: str  # which rule of the policy decided billed_seconds (billing.policies)
    rule_detail: str  # the rule as a sentence: why billed_seconds are what they are
    hourly_rate_cents: int | None
    currency: str | None
    amount_cents: int | None  # None: the line cannot be priced (see `error`)
    provisional: bool
    corrected: bool = False
    billable_override: bool = False  # billed above attended by an admin's explicit override
    correction_reason: str | None = None  # while corrected: the latest correction's reason
    reference_period: Month | None = None  # adjustments: the month whose bill they correct

    @property
    def error(self) -> str | None:
        return NO_RATE if self.amount_cents is None else None


@dataclass(frozen=True)
class Total:
    currency: str
    amount_cents: int
    billable_seconds: int
    billed_seconds: int


@dataclass(frozen=True)
class RuleTotal:
    """What one rule contributed to a statement in one currency: how a bill explains itself."""

    currency: str
    rule: str
    lines: int
    billed_seconds: int
    amount_cents: int


@dataclass(frozen=True)
class Statement:
    party: Party
    party_id: int
    name: str | None
    lines: tuple[Line, ...] = field(default_factory=tuple)

    @property
    def totals(self) -> tuple[Total, ...]:
        return totals_of((line.currency, line.amount_cents, line.billable_seconds, line.billed_seconds)
                         for line in self.lines if line.error is None)

    @property
    def totals_by_rule(self) -> tuple[RuleTotal, ...]:
        parts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        for line in self.lines:
            if line.error is None and line.currency is not None:
                part = parts[(line.currency, line.rule)]
                part[0] += 1
                part[1] += line.billed_seconds
                part[2] += line.amount_cents
        return tuple(RuleTotal(currency, rule, *parts[(currency, rule)]) for currency, rule in sorted(parts))

    @property
    def provisional_lines(self) -> int:
        return sum(1 for line in self.lines if line.provisional)

    @property
    def error_lines(self) -> int:
        return sum(1 for line in self.lines if line.error is not None)


@dataclass(frozen=True)
class PartyAggregate:
    """The month's ordinary lines of one family or teacher in one currency, summed in SQL."""

    party_id: int
    currency: str | None  # None: lines without a rate in force
    amount_cents: int
    billable_seconds: int
    billed_seconds: int
    lines: int
    provisional_lines: int


@dataclass(frozen=True)
class Summary:
    totals: tuple[Total, ...]
    statements: int
    lines: int
    adjustment_lines: int
    provisional_lines: int
    error_lines: int


def totals_of(parts: Iterable[tuple[str | None, int | None, int, int]]) -> tuple[Total, ...]:
    """(currency, amount_cents, billable_seconds, billed_seconds) parts → one total per currency."""
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for currency, amount, measured, billed in parts:
        if currency is None or amount is None:
            continue
        total = sums[currency]
        total[0] += amount
        total[1] += measured
        total[2] += billed
    return tuple(Total(c, *sums[c]) for c in sorted(sums))


def summarize(aggregates: Iterable[PartyAggregate], adjustments: Iterable[tuple[int, Line]]) -> Summary:
    """The month's grand totals and counts, from the SQL aggregate plus the adjustment lines."""
    aggregates, adjustments = list(aggregates), list(adjustments)
    parties = {a.party_id for a in aggregates} | {party_id for party_id, _ in adjustments}
    priced = [(a.currency, a.amount_cents, a.billable_seconds, a.billed_seconds)
              for a in aggregates if a.currency is not None]
    priced += [(line.currency, line.amount_cents, line.billable_seconds, line.billed_seconds)
               for _, line in adjustments]
    return Summary(
        totals=totals_of(priced),
        statements=len(parties),
        lines=sum(a.lines for a in aggregates) + len(adjustments),
        adjustment_lines=len(adjustments),
        provisional_lines=sum(a.provisional_lines for a in aggregates)
        + sum(1 for _, line in adjustments if line.provisional),
        error_lines=sum(a.lines for a in aggregates if a.currency is None)
        + sum(1 for _, line in adjustments if line.error is not None),
    )


# -- JSON ---------------------------------------------------------------------------------

def id_field(party: Party) -> str:
    return f"{party}_id"


def line_json(line: Line, party: Party) -> dict:
    document: dict = {"kind": line.kind, "class_id": line.class_id, "class_title": line.class_title,
                      "scheduled_start": _start_text(line.scheduled_start)}
    if party == "family":
        document |= {"student_id": line.student_id, "student_name": line.student_name}
    return document | {
        "billable_seconds": line.billable_seconds,
        "measured_seconds": line.billable_seconds,
        "billed_seconds": line.billed_seconds,
        "rule": line.rule,
        "rule_detail": line.rule_detail,
        "hourly_rate_cents": line.hourly_rate_cents,
        "currency": line.currency,
        "amount_cents": line.amount_cents,
        "provisional": line.provisional,
        "corrected": line.corrected,
        "billable_override": line.billable_override,
        "correction_reason": line.correction_reason,
        "reference": None if line.reference_period is None
        else {"period": str(line.reference_period), "class_id": line.class_id},
        "error": line.error,
    }


def totals_json(totals: Iterable[Total]) -> list[dict]:
    return [{"currency": t.currency, "amount_cents": t.amount_cents, "billable_seconds": t.billable_seconds,
             "billed_seconds": t.billed_seconds} for t in totals]


def rule_totals_json(totals: Iterable[RuleTotal]) -> list[dict]:
    return [{"currency": t.currency, "rule": t.rule, "lines": t.lines, "billed_seconds": t.billed_seconds,
             "amount_cents": t.amount_cents} for t in totals]


def statement_json(statement: Statement) -> dict:
    return {
        id_field(statement.party): statement.party_id,
        "name": statement.name,
        "lines": [line_json(line, statement.party) for line in statement.lines],
        "totals": totals_json(statement.totals),
        "totals_by_rule": rule_totals_json(statement.totals_by_rule),
        "line_count": len(statement.lines),
        "provisional_lines": statement.provisional_lines,
        "error_lines": statement.error_lines,
    }


def summary_json(summary: Summary) -> dict:
    return {
        "totals": totals_json(summary.totals),
        "statement_count": summary.statements,
        "line_count": summary.lines,
        "adjustment_lines": summary.adjustment_lines,
        "provisional_lines": summary.provisional_lines,
        "error_lines": summary.error_lines,
    }


def canonical(document: dict) -> bytes:
    """The bytes a period checksum is made of: sorted keys, no spaces, UTF-8, one per line."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
