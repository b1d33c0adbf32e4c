"""A month's statements (live or frozen) page by page, as the reports and the period close read them.

An open month is computed from the projection on every request: the month's running totals
(kept by the database on every line write), the page's lines, and the adjustments that the
first open month after a closed one carries. A closed month is served from the statements
frozen when it closed, unchanged.
"""
from __future__ import annotations

import bisect
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

import asyncpg

from academy_common.events import rfc3339
from billing import repository as repo
from billing.months import Month
from billing.rates import PARTIES, Party
from billing.reconcile import Billed, Current, reconcile
from billing.statements import Line, Statement, Summary, statement_json, summarize, summary_json

PLURAL = {"family": "families", "teacher": "teachers"}
LINE_BATCH = 5000  # lines per fetch when a whole month is read in one pass


class AlreadyClosed(Exception):
    pass


class NotOver(Exception):
    pass


class MissingRates(Exception):
    def __init__(self, unpriced: dict[Party, list[int]]):
        super().__init__("lines without a rate in force")
        self.unpriced = unpriced


class MonthView(Protocol):
    month: Month

    def head(self) -> dict: ...

    async def page(self, conn: asyncpg.Connection, after: int, limit: int) -> tuple[list[dict], int | None]: ...


@dataclass
class OpenMonth:
    party: Party
    month: Month
    summary: Summary
    party_ids: tuple[int, ...]
    adjustments: list[tuple[repo.Key, int, Line]]  # (line, family or teacher, adjustment) landing here
    reconciled: list[repo.Key]  # candidate lines whose corrections belong to this month
    unpriced: list[int]  # who has lines here that no rate in force can price

    @classmethod
    async def load(cls, conn: asyncpg.Connection, party: Party, month: Month, closed: frozenset[Month]) -> OpenMonth:
        aggregates = await repo.month_aggregate(conn, party, month)
        reconciled, adjustments = await _adjustments(conn, party, month, closed)
        summary = summarize(aggregates, ((party_id, line) for _, party_id, line in adjustments))
        ids = sorted({a.party_id for a in aggregates} | {party_id for _, party_id, _ in adjustments})
        unpriced = {a.party_id for a in aggregates if a.currency is None}
        unpriced |= {party_id for _, party_id, line in adjustments if line.error}
        return cls(party, month, summary, tuple(ids), adjustments, reconciled, sorted(unpriced))

    def head(self) -> dict:
        return {"status": "open", "closed_at": None, "closed_by": None, "checksum": None,
                **summary_json(self.summary)}

    async def page(self, conn: asyncpg.Connection, after: int, limit: int) -> tuple[list[dict], int | None]:
        remaining = [i for i in self.party_ids if i > after]
        chosen = remaining[:limit]
        statements = await self.statements(conn, chosen)
        return [statement_json(s) for s in statements], chosen[-1] if len(remaining) > limit else None

    def ordered_adjustments(self) -> list[tuple[int, Line]]:
        """(party id, adjustment) in the order a statement lists them, after its lines."""
        return [(party_id, line) for _, party_id, line in sorted(self.adjustments, key=_adjustment_order)]

    async def statements(self, conn: asyncpg.Connection, party_ids: list[int]) -> list[Statement]:
        lines = await repo.month_lines(conn, self.party, party_ids, self.month)
        return self._statements(party_ids, lines, await repo.names(conn, self.party, party_ids))

    async def stream(self, conn: asyncpg.Connection, chunk: int) -> AsyncIterator[list[dict]]:
        """Every statement, `chunk` at a time, from one pass over the month's lines (needs a transaction)."""
        rows = RowsAhead(repo.month_line_rows(conn, self.party, self.month, batch=LINE_BATCH))
        for start in range(0, len(self.party_ids), chunk):
            party_ids = list(self.party_ids[start:start + chunk])
            lines: dict[int, list[Line]] = {}
            for r in await rows.through(party_ids[-1]):
                lines.setdefault(r["party_id"], []).append(repo.line_of(r))
            statements = self._statements(party_ids, lines, await repo.names(conn, self.party, party_ids))
            yield [statement_json(s) for s in statements]

    def _statements(self, party_ids: list[int], lines: dict[int, list[Line]], names: dict[int, str]
                    ) -> list[Statement]:
        wanted = set(party_ids)
        for party_id, adjustment in self.ordered_adjustments():
            if party_id in wanted:
                lines.setdefault(party_id, []).append(adjustment)
        return [Statement(self.party, i, names.get(i), tuple(lines.get(i, []))) for i in party_ids]


class RowsAhead:
    """Rows ordered by party_id, taken up to a party at a time; the rows past it wait."""

    def __init__(self, batches: AsyncIterator[list[asyncpg.Record]]):
        self._batches, self._rows = batches, []

    async def through(self, last_party_id: int) -> list[asyncpg.Record]:
        taken = []
        while True:
            if not self._rows:
                self._rows = await anext(self._batches, [])
                if not self._rows:
                    return taken
            if self._rows[-1]["party_id"] <= last_party_id:
                taken += self._rows
                self._rows = []
                continue
            cut = bisect.bisect_right(self._rows, last_party_id, key=_party_id)
            taken += self._rows[:cut]
            self._rows = self._rows[cut:]
            return taken


def _party_id(row: asyncpg.Record) -> int:
    return row["party_id"]


@dataclass
class ClosedMonth:
    party: Party
    month: Month
    record: asyncpg.Record

    def head(self) -> dict:
        return {"status": "closed", "closed_at": rfc3339(self.record["closed_at"]),
                "closed_by": self.record["closed_by"], "checksum": self.record["checksum"],
                **self.record["summary"][self.party]}

    async def page(self, conn: asyncpg.Connection, after: int, limit: int) -> tuple[list[dict], int | None]:
        documents = await repo.frozen_statements(conn, self.month, self.party, after, limit + 1)
        more = len(documents) > limit
        documents = documents[:limit]
        return documents, documents[-1][f"{self.party}_id"] if more else None


async def month_view(conn: asyncpg.Connection, party: Party, month: Month) -> MonthView:
    record = await repo.period(conn, month)
    if record is not None:
        return ClosedMonth(party, month, record)
    return await OpenMonth.load(conn, party, month, await repo.closed_months(conn))


def report(view: MonthView, party: Party, tz: ZoneInfo, statements: list[dict], next_after: int | None) -> dict:
    return {"period": str(view.month), "timezone": tz.key, **view.head(), PLURAL[party]: statements,
            "next_after": next_after}


async def all_statements(conn: asyncpg.Connection, view: MonthView, chunk: int) -> AsyncIterator[list[dict]]:
    """Every statement of the month, `chunk` at a time, in the caller's transaction."""
    if isinstance(view, OpenMonth):
        async for documents in view.stream(conn, chunk):
            yield documents
        return
    after: int | None = 0
    while after is not None:
        documents, after = await view.page(conn, after, chunk)
        yield documents


def period_document(month: Month, record: asyncpg.Record | None) -> dict:
    if record is None:
        return {"period": str(month), "status": "open"}
    summary = record["summary"]
    return {
        "period": str(month), "status": "closed", "closed_at": rfc3339(record["closed_at"]),
        "closed_by": record["closed_by"], "checksum": record["checksum"],
        "provisional_lines": sum(s["provisional_lines"] for s in summary.values()),
        "adjustment_lines": sum(s["adjustment_lines"] for s in summary.values()),
        **{PLURAL[party]: summary[party] for party in PARTIES},
    }


# -- helpers ----------------------------------------------------------------------------------

async def _adjustments(conn: asyncpg.Connection, party: Party, month: Month, closed: frozenset[Month]
                       ) -> tuple[list[repo.Key], list[tuple[repo.Key, int, Line]]]:
    """Reconcile every candidate line; keep those whose corrections belong to `month`."""
    if not closed:
        return [], []
    rows = await repo.candidates(conn, party, closed)
    billed = await repo.billed(conn, ((r["class_id"], r["person_key"]) for r in rows))
    reconciled, adjustments = [], []
    for r in rows:
        key = (r["class_id"], r["person_key"])
        outcome = reconcile(_current(r), [_billed(b) for b in billed.get(key, [])], closed)
        if outcome.target == month:
            reconciled.append(key)
            adjustments += [(key, party_id, line) for party_id, line in outcome.adjustments]
    return reconciled, adjustments


def _current(r: asyncpg.Record) -> Current:
    return Current(
        party=r["party"], party_id=r["party_id"], class_id=r["class_id"], person_key=r["person_key"],
        class_title=r["title"], scheduled_start=r["scheduled_start"], month=Month.from_date(r["month"]),
        student_id=r["student_id"], student_name=r["student_name"], cancelled=r["cancelled"], removed=r["removed"],
        billable_seconds=r["billable_seconds"], billed_seconds=r["billed_seconds"],
        rule=r["rule"], rule_detail=r["rule_detail"], hourly_rate_cents=r["rate_cents"], currency=r["currency"],
        amount_cents=r["amount_cents"], final=r["final"], corrected=r["corrected"],
        billable_override=r["billable_override"], correction_reason=r["correction_reason"])


def _billed(r: asyncpg.Record) -> Billed:
    return Billed(party_id=r["party_id"], currency=r["currency"], billable_seconds=r["billable_seconds"],
                  billed_seconds=r["billed_seconds"], amount_cents=r["amount_cents"],
                  origin=Month.from_date(r["origin_period"]))


def _adjustment_order(adjustment: tuple[repo.Key, int, Line]) -> tuple:
    _, _, line = adjustment
    return (line.reference_period, line.scheduled_start, line.class_id, line.currency or "")
