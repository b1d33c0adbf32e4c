"""Use cases: a month's statements (live or frozen) page by page or as CSV, and closing a month.

An open month is computed from the projection on every request: the month's running totals
(kept by the database on every line write), the page's lines, and the adjustments that the
first open month after a closed one carries. A closed month is served from the statements
frozen when it closed, unchanged.
"""
from __future__ import annotations

import hashlib
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol
from zoneinfo import ZoneInfo

import asyncpg
import structlog
from prometheus_client import Counter

from academy_common.events import rfc3339
from billing import repository as repo
from billing.csv_export import grand_total_rows, render, statement_rows
from billing.months import Month
from billing.rates import PARTIES, Party
from billing.reconcile import Billed, Current, reconcile
from billing.statements import Line, Statement, Summary, canonical, statement_json, summarize, summary_json

log = structlog.get_logger(__name__)

PERIODS_CLOSED = Counter("billing_periods_closed_total", "Billing months closed")
PLURAL = {"family": "families", "teacher": "teachers"}
SPOOL_MEMORY_BYTES = 4 * 1024 * 1024  # a CSV export larger than this spools to a temporary file


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

    async def statements(self, conn: asyncpg.Connection, party_ids: list[int]) -> list[Statement]:
        lines = await repo.month_lines(conn, self.party, party_ids, self.month)
        names = await repo.names(conn, self.party, party_ids)
        wanted = set(party_ids)
        for _, party_id, adjustment in sorted(self.adjustments, key=_adjustment_order):
            if party_id in wanted:
                lines.setdefault(party_id, []).append(adjustment)
        return [Statement(self.party, i, names.get(i), tuple(lines.get(i, []))) for i in party_ids]


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
    after: int | None = 0
    while after is not None:
        documents, after = await view.page(conn, after, chunk)
        yield documents


@asynccontextmanager
async def csv_spool(pool: asyncpg.Pool, party: Party, month: Month, *, chunk: int) -> AsyncIterator[BinaryIO]:
    """The whole month as CSV (every statement's lines and totals, then the grand totals) in a
    temporary file, positioned at its start, closed when the block ends.

    Read in one snapshot and written out before anyone sends it: the connection is back in
    the pool before the first byte goes to the client, so a slow reader holds a file, not a
    connection (memory up to SPOOL_MEMORY_BYTES, then disk).
    """
    period = str(month)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES) as spool:
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            view = await month_view(conn, party, month)
            spool.write(render(party, [], header=True).encode())
            async for documents in all_statements(conn, view, chunk):
                spool.write(render(party, [row for d in documents for row in statement_rows(party, period, d)]).encode())
            spool.write(render(party, grand_total_rows(party, period, view.head())).encode())
        spool.seek(0)
        yield spool


# -- closing ------------------------------------------------------------------------------

async def close_month(pool: asyncpg.Pool, month: Month, tz: ZoneInfo, *, by: str, now: datetime,
                      chunk: int) -> asyncpg.Record:
    """Freeze both the family bills and the payroll of `month`, with one checksum over them.

    Refused while the month is not over or while a line has no rate; allowed with
    provisional lines (their later final figures come as adjustments).
    """
    _, end = month.bounds(tz)
    if now < end:
        raise NotOver(f"{month} ends at {rfc3339(end)}")
    async with pool.acquire() as conn, conn.transaction():
        await repo.lock_pricing(conn)
        if await repo.period(conn, month) is not None:
            raise AlreadyClosed(str(month))
        closed = await repo.closed_months(conn)
        views = {party: await OpenMonth.load(conn, party, month, closed) for party in PARTIES}
        if any(view.unpriced for view in views.values()):
            raise MissingRates({party: view.unpriced for party, view in views.items() if view.unpriced})
        await repo.open_period(conn, month, by)
        digest = hashlib.sha256()
        for party, view in views.items():
            async for documents in all_statements(conn, view, chunk):
                for document in documents:
                    digest.update(canonical(document))
                await repo.freeze_statements(conn, month, party, documents)
            await repo.freeze_adjustments(conn, month, party, view.adjustments)
        await repo.freeze_lines(conn, month)
        await repo.settle(conn, month, [key for view in views.values() for key in view.reconciled])
        summary = {party: summary_json(view.summary) for party, view in views.items()}
        record = await repo.finish_period(conn, month, digest.hexdigest(), summary)
    PERIODS_CLOSED.inc()
    log.info("period closed", period=str(month), checksum=record["checksum"], by=by,
             provisional_lines=sum(v.summary.provisional_lines for v in views.values()))
    return record


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
        billable_seconds=r["billable_seconds"], hourly_rate_cents=r["rate_cents"], currency=r["currency"],
        amount_cents=r["amount_cents"], final=r["final"], corrected=r["corrected"],
        billable_override=r["billable_override"], correction_reason=r["correction_reason"])


def _billed(r: asyncpg.Record) -> Billed:
    return Billed(party_id=r["party_id"], currency=r["currency"], billable_seconds=r["billable_seconds"],
                  amount_cents=r["amount_cents"], origin=Month.from_date(r["origin_period"]))


def _adjustment_order(adjustment: tuple[repo.Key, int, Line]) -> tuple:
    _, _, line = adjustment
    return (line.reference_period, line.scheduled_start, line.class_id, line.currency or "")
