"""What billing does: each use case in its own transaction (HTTP) or the consumer's (the projection).

The projection writes the directory, classes and attendance lines into billing's tables, every
upsert guarded by the entity's version; pricing writes take the pricing lock first, so a rate
change and a line write never price a line twice.
"""
from __future__ import annotations

import hashlib
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import BinaryIO
from zoneinfo import ZoneInfo

import asyncpg
import structlog
from prometheus_client import Counter

from academy_common.bus import PermanentError
from academy_common.contracts import (
    AttendanceLog,
    ClassFinalized,
    ClassSnapshot,
    FamilyUpserted,
    StudentUpserted,
    TeacherUpserted,
)
from academy_common.events import rfc3339
from billing import csv_copy
from billing import repository as repo
from billing.csv_export import CrlfRows, grand_total_rows, render
from billing.messages import in_billable_years
from billing.months import Month
from billing.rates import PARTIES, Party, Rate
from billing.reports import (
    AlreadyClosed,
    MissingRates,
    MonthView,
    NotOver,
    OpenMonth,
    all_statements,
    month_view,
    report,
)
from billing.statements import canonical, summary_json

log = structlog.get_logger(__name__)

PERIODS_CLOSED = Counter("billing_periods_closed_total", "Billing months closed")
SPOOL_MEMORY_BYTES = 4 * 1024 * 1024  # a CSV export larger than this spools to a temporary file


class FamilyUnknown(RuntimeError):
    """A student's line cannot be billed yet: retried, as student.upserted may still be on its way."""


# -- month reports, rates, periods (HTTP) -----------------------------------------------------

async def month_report(pool: asyncpg.Pool, party: Party, month: Month, tz: ZoneInfo, *, after: int,
                       limit: int) -> dict:
    """One page of the month's statements, read from one snapshot."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        view = await month_view(conn, party, month)
        statements, next_after = await view.page(conn, after, limit)
    return report(view, party, tz, statements, next_after)


@asynccontextmanager
async def csv_spool(pool: asyncpg.Pool, party: Party, month: Month) -> AsyncIterator[BinaryIO]:
    """The whole month as CSV (every statement's lines and totals, then the grand totals) in a
    temporary file, positioned at its start, closed when the block ends.

    Read in one snapshot and written out before anyone sends it: the connection is back in
    the pool before the first byte goes to the client, so a slow reader holds a file, not a
    connection (memory up to SPOOL_MEMORY_BYTES, then disk). The statements' rows stream from
    PostgreSQL (billing.csv_copy); header and grand totals are rendered here.
    """
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES) as spool:
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            view = await month_view(conn, party, month)
            spool.write(render(party, [], header=True).encode())
            await _copy_statements(conn, view, party, spool)
            spool.write(render(party, grand_total_rows(party, str(month), view.head())).encode())
        spool.seek(0)
        yield spool


async def _copy_statements(conn: asyncpg.Connection, view: MonthView, party: Party, spool: BinaryIO) -> None:
    crlf = CrlfRows()

    async def write(chunk: bytes) -> None:
        spool.write(crlf(chunk))

    if isinstance(view, OpenMonth):
        await csv_copy.copy_open_month(conn, party, view.month, view.ordered_adjustments(), write)
    else:
        await csv_copy.copy_closed_month(conn, party, view.month, write)


async def set_rate(pool: asyncpg.Pool, party: Party, party_id: int, rate: Rate, *, by: str
                   ) -> tuple[list[asyncpg.Record], int]:
    """The party's rate history after `rate`, and how many open lines it repriced."""
    async with pool.acquire() as conn, conn.transaction():
        await repo.lock_pricing(conn)
        repriced = await repo.put_rate(conn, party, party_id, rate, by=by)
        history = await repo.rate_history(conn, party, party_id)
    return history, repriced


async def rate_history(pool: asyncpg.Pool, party: Party, party_id: int) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await repo.rate_history(conn, party, party_id)


async def period(pool: asyncpg.Pool, month: Month) -> asyncpg.Record | None:
    async with pool.acquire() as conn:
        return await repo.period(conn, month)


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


async def adopt_timezone(pool: asyncpg.Pool, zone: str) -> None:
    """Re-date the lines when ACADEMY_TIMEZONE changed since they were written."""
    async with pool.acquire() as conn, conn.transaction():
        await repo.lock_pricing(conn)
        moved = await repo.adopt_timezone(conn, zone)
    if moved:
        log.warning("ACADEMY_TIMEZONE changed: lines re-dated", timezone=zone, lines=moved)


# -- the projection (each in the consumer's transaction) ---------------------------------------

_UPSERT_ENTRY = {FamilyUpserted: repo.upsert_family, StudentUpserted: repo.upsert_student,
                 TeacherUpserted: repo.upsert_teacher}


async def project_entry(conn: asyncpg.Connection, entry: FamilyUpserted | StudentUpserted | TeacherUpserted) -> bool:
    return await _UPSERT_ENTRY[type(entry)](conn, entry)


async def project_class(conn: asyncpg.Connection, snapshot: ClassSnapshot, *, cancelled: bool, zone: str) -> bool:
    in_billable_years(snapshot.scheduled_start, snapshot.scheduled_end)
    await repo.lock_pricing(conn)
    applied = await repo.upsert_class(conn, snapshot, cancelled, zone)
    log.info("class projected", class_id=snapshot.class_id, version=snapshot.version, applied=applied)
    return applied


async def project_log(conn: asyncpg.Connection, entry: AttendanceLog, zone: str) -> bool:
    await repo.lock_pricing(conn)
    return await _apply_log(conn, entry, zone)


async def project_finalized(conn: asyncpg.Connection, finalized: ClassFinalized, zone: str) -> bool:
    """Every log of the finalized class; whether any changed a line."""
    if any(entry.class_id != finalized.class_id for entry in finalized.logs):
        raise PermanentError("a log of another class in attendance.class.finalized")
    await repo.lock_pricing(conn)
    applied = [await _apply_log(conn, entry, zone) for entry in finalized.logs]
    return any(applied)


async def _apply_log(conn: asyncpg.Connection, entry: AttendanceLog, zone: str) -> bool:
    in_billable_years(entry.scheduled_start)
    if entry.role == "guest":  # listed by attendance, never billed
        return False
    party, party_id = await _billed_party(conn, entry)
    applied = await repo.upsert_line(conn, party, party_id, entry, zone)
    log.info("attendance line projected", class_id=entry.class_id, person_key=entry.person_key,
             version=entry.version, applied=applied)
    return applied


async def _billed_party(conn: asyncpg.Connection, entry: AttendanceLog) -> tuple[Party, int]:
    if entry.role == "teacher":
        if entry.teacher_id is None:
            raise PermanentError("a teacher log without teacher_id")
        return "teacher", entry.teacher_id
    if entry.student_id is None:
        raise PermanentError("a student log without student_id")
    family_id = entry.family_id or await repo.family_of(conn, entry.class_id, entry.student_id)
    if family_id is None:
        raise FamilyUnknown(f"family of student {entry.student_id} not known yet")
    return "family", family_id
