"""What billing does: each use case in its own transaction (HTTP) or the consumer's (the projection).

The projection writes the directory, classes and attendance lines into billing's tables, every
upsert guarded by the entity's version; pricing writes take the pricing lock first, so a rate
change and a line write never price a line twice.
"""
from __future__ import annotations

import asyncio
import hashlib
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import BinaryIO
from zoneinfo import ZoneInfo

import asyncpg
import structlog
from prometheus_client import Counter, Histogram

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
from billing.policies import DEFAULT_SCOPE, PolicyBook, facts_of, price
from billing.rates import PARTIES, Party, Rate
from billing.reports import (
    PLURAL,
    AlreadyClosed,
    MissingRates,
    MonthView,
    NotOver,
    OpenMonth,
    all_statements,
    month_view,
    report,
)
from billing.statements import canonical, id_field, summary_json

log = structlog.get_logger(__name__)

PERIODS_CLOSED = Counter("billing_periods_closed_total", "Billing months closed")
PRICING_CHUNK = 50_000  # lines a policy change re-prices per read and write
CLOSE_JOBS = Counter("billing_close_jobs_total", "Close jobs by what happened: requested, started, resumed, done, failed",
                     ["state"])
CLOSE_SECONDS = Histogram("billing_close_job_duration_seconds", "One run of a close job, claim to commit",
                          buckets=(0.1, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320))
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


async def set_policy(pool: asyncpg.Pool, party: Party, party_id: int | None, effective_from: datetime,
                     fields: dict, *, by: str) -> tuple[list[asyncpg.Record], int]:
    """The scope's policy history after the entry (party_id None: the default scope), and how
    many lines it re-priced (open months at once; closed ones through their adjustments)."""
    scope = DEFAULT_SCOPE if party_id is None else party_id
    async with pool.acquire() as conn, conn.transaction():
        await repo.lock_pricing(conn)
        await repo.put_policy(conn, party, scope, effective_from, fields, by)
        book = PolicyBook(await repo.policy_entries(conn, party))
        repriced = 0
        async for rows in repo.covered_pricing_facts(conn, party, party_id, effective_from, PRICING_CHUNK):
            repriced += await _price(conn, rows, book)
        history = await repo.policy_history(conn, party, scope)
    log.info("policy set", party=party, scope=scope, effective_from=rfc3339(effective_from), by=by,
             repriced_lines=repriced)
    return history, repriced


async def policy_history(pool: asyncpg.Pool, party: Party, party_id: int | None) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await repo.policy_history(conn, party, DEFAULT_SCOPE if party_id is None else party_id)


async def rate_history(pool: asyncpg.Pool, party: Party, party_id: int) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await repo.rate_history(conn, party, party_id)


async def period(pool: asyncpg.Pool, month: Month) -> asyncpg.Record | None:
    async with pool.acquire() as conn:
        return await repo.period(conn, month)


async def request_close(pool: asyncpg.Pool, month: Month, tz: ZoneInfo, *, by: str, now: datetime
                        ) -> asyncpg.Record:
    """The month's close job: the one already running or done, else a new one for the close
    worker to run (refused at once while the month is not over or a line has no rate)."""
    _, end = month.bounds(tz)
    if now < end:
        raise NotOver(f"{month} ends at {rfc3339(end)}")
    async with pool.acquire() as conn, conn.transaction():
        if (job := await repo.live_close_job(conn, month)) is not None:
            return job
        views = await _closing_views(conn, month)
        lines = sum(view.summary.lines for view in views.values())
        job = await repo.add_close_job(conn, uuid.uuid4(), month, by, lines)
        if job is None:  # a concurrent request added it first
            return await repo.live_close_job(conn, month)
    CLOSE_JOBS.labels("requested").inc()
    log.info("close job requested", job_id=str(job["job_id"]), period=str(month), by=by, lines_total=lines)
    return job


async def close_job(pool: asyncpg.Pool, job_id: uuid.UUID) -> asyncpg.Record | None:
    async with pool.acquire() as conn:
        return await repo.close_job(conn, job_id)


async def running_close_jobs(pool: asyncpg.Pool) -> list[uuid.UUID]:
    async with pool.acquire() as conn:
        return await repo.running_close_jobs(conn)


async def run_close_job(pool: asyncpg.Pool, job_id: uuid.UUID, *, chunk: int, progress_every_s: float) -> bool:
    """Run the job if it is still running and no other replica runs it; whether this one did.

    The whole close is one transaction: killed midway, it leaves the month open and the job
    running, for the next replica to start again from the beginning. A close that fails
    (a line lost its rate meanwhile) fails the job, and a new request may follow.
    """
    started = time.perf_counter()
    async with pool.acquire() as conn, conn.transaction():
        job = await repo.claim_close_job(conn, job_id)
        if job is None:
            return False
        month = Month.from_date(job["period"])
        context = {"job_id": str(job_id), "period": str(month)}
        async with pool.acquire() as side:
            runs = await repo.count_close_run(side, job_id)
        log.info("close job resumed" if runs > 1 else "close job started", runs=runs, **context)
        CLOSE_JOBS.labels("resumed" if runs > 1 else "started").inc()
        progress = _Progress(pool, job_id, progress_every_s)
        try:
            record, lines, provisional = await _close(pool, conn, month, job["requested_by"], chunk, progress)
            await repo.finish_close_job(conn, job_id, lines, record["checksum"])
        except (AlreadyClosed, MissingRates) as exc:  # refused before the close wrote anything
            await repo.fail_close_job(conn, job_id, _refusal(month, exc))
            CLOSE_JOBS.labels("failed").inc()
            log.warning("close job failed", error=_refusal(month, exc), **context)
            return True
    seconds = time.perf_counter() - started
    CLOSE_SECONDS.observe(seconds)
    CLOSE_JOBS.labels("done").inc()
    PERIODS_CLOSED.inc()
    log.info("close job finished", checksum=record["checksum"], lines=lines, provisional_lines=provisional,
             seconds=round(seconds, 3), **context)
    return True


async def fail_close_job(pool: asyncpg.Pool, job_id: uuid.UUID, error: str) -> None:
    """Give up on a job that crashed for another reason than a refusal (logged by the caller)."""
    async with pool.acquire() as conn:
        await repo.fail_close_job(conn, job_id, error)
    CLOSE_JOBS.labels("failed").inc()


async def _closing_views(conn: asyncpg.Connection, month: Month) -> dict[Party, OpenMonth]:
    """Both parties' open month, refused if it is closed or a line cannot be priced."""
    if await repo.period(conn, month) is not None:
        raise AlreadyClosed(str(month))
    closed = await repo.closed_months(conn)
    views = {party: await OpenMonth.load(conn, party, month, closed) for party in PARTIES}
    if any(view.unpriced for view in views.values()):
        raise MissingRates({party: view.unpriced for party, view in views.items() if view.unpriced})
    return views


async def _close(pool: asyncpg.Pool, conn: asyncpg.Connection, month: Month, by: str, chunk: int,
                 progress: _Progress) -> tuple[asyncpg.Record, int, int]:
    """Freeze both the family bills and the payroll of `month`, with one checksum over them;
    (the period, lines frozen, provisional lines among them). Allowed with provisional lines
    (their later final figures come as adjustments)."""
    await repo.lock_pricing(conn)
    views = await _closing_views(conn, month)
    await repo.open_period(conn, month, by)
    digest, done, ready = hashlib.sha256(), 0, asyncio.Queue(maxsize=4)
    async with asyncio.TaskGroup() as group:
        group.create_task(_read_statements(pool, await repo.export_snapshot(conn), views, chunk, ready))
        while (item := await ready.get()) is not None:
            party, documents = item
            for _, text, _ in documents:
                digest.update(text)
            await repo.freeze_statements(conn, month, party, [(party_id, text) for party_id, text, _ in documents])
            done += sum(lines for _, _, lines in documents)
            await progress.report(done)
    for party, view in views.items():
        await repo.freeze_adjustments(conn, month, party, view.adjustments)
    await repo.freeze_lines(conn, month)
    await repo.settle(conn, [key for view in views.values() for key in view.reconciled])
    summary = {party: summary_json(view.summary) for party, view in views.items()}
    record = await repo.finish_period(conn, month, digest.hexdigest(), summary)
    return record, done, sum(v.summary.provisional_lines for v in views.values())


async def _read_statements(pool: asyncpg.Pool, snapshot: str, views: dict[Party, OpenMonth], chunk: int,
                           ready: asyncio.Queue) -> None:
    """Put the statements on `ready` as (party, [(party_id, canonical JSON, lines)]), `chunk`
    at a time, in order, then None. Read on a connection of their own in the close's
    snapshot: the database reads the next chunk while the close's connection stores one."""
    async with pool.acquire() as reader, reader.transaction(isolation="repeatable_read", readonly=True):
        await repo.import_snapshot(reader, snapshot)
        for party, view in views.items():
            async for documents in all_statements(reader, view, chunk):
                await ready.put((party, [(d[id_field(party)], canonical(d), d["line_count"]) for d in documents]))
    await ready.put(None)


class _Progress:
    """lines_done of a running job, written beside its transaction (committed at once, for
    the pollers) at most every `every_s` seconds."""

    def __init__(self, pool: asyncpg.Pool, job_id: uuid.UUID, every_s: float):
        self._pool, self._job_id, self._every_s, self._last = pool, job_id, every_s, time.monotonic()

    async def report(self, lines_done: int) -> None:
        if time.monotonic() - self._last < self._every_s:
            return
        async with self._pool.acquire() as conn:
            await repo.close_job_progress(conn, self._job_id, lines_done)
        self._last = time.monotonic()


def _refusal(month: Month, exc: Exception) -> str:
    if isinstance(exc, MissingRates):
        return f"{month} has lines without a rate in force: " + "; ".join(
            f"{PLURAL[party]} {', '.join(map(str, ids))}" for party, ids in exc.unpriced.items())
    return f"{month} is already closed"


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


async def project_class(conn: asyncpg.Connection, snapshot: ClassSnapshot, *, cancelled_at: datetime | None,
                        zone: str) -> bool:
    """`cancelled_at`: when the class was cancelled (None while it is not)."""
    in_billable_years(snapshot.scheduled_start, snapshot.scheduled_end)
    await repo.lock_pricing(conn)
    applied = await repo.upsert_class(conn, snapshot, cancelled_at, zone)
    if applied:
        await _price_class(conn, snapshot.class_id)
    log.info("class projected", class_id=snapshot.class_id, version=snapshot.version, applied=applied)
    return applied


async def project_log(conn: asyncpg.Connection, entry: AttendanceLog, zone: str) -> bool:
    await repo.lock_pricing(conn)
    applied = await _apply_log(conn, entry, zone)
    if applied:
        await _price_class(conn, entry.class_id)
    return applied


async def project_finalized(conn: asyncpg.Connection, finalized: ClassFinalized, zone: str) -> bool:
    """Every log of the finalized class; whether any changed a line."""
    if any(entry.class_id != finalized.class_id for entry in finalized.logs):
        raise PermanentError("a log of another class in attendance.class.finalized")
    await repo.lock_pricing(conn)
    applied = [await _apply_log(conn, entry, zone) for entry in finalized.logs]
    if any(applied):
        await _price_class(conn, finalized.class_id)
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


async def _price_class(conn: asyncpg.Connection, class_id: int) -> None:
    """A line's price depends on the other lines of its class (no-show, no students): all of them."""
    rows = await repo.class_pricing_facts(conn, class_id)
    parties = {(row["party"], row["party_id"]) for row in rows}
    await _price(conn, rows, PolicyBook(await repo.policy_entries_of(conn, parties)))


async def _price(conn: asyncpg.Connection, rows: list[asyncpg.Record], book: PolicyBook) -> int:
    """Price each line by the policy in force at its class start; write those that changed."""
    changed = []
    for row in rows:
        priced = price(facts_of(row), book.policy(row["party"], row["party_id"], row["scheduled_start"]))
        if (priced.billed_seconds, priced.rule, priced.rule_detail) != (row["billed_seconds"], row["rule"],
                                                                         row["rule_detail"]):
            changed.append(((row["class_id"], row["person_key"]), priced.billed_seconds, priced.rule,
                            priced.rule_detail))
    if changed:
        await repo.write_prices(conn, changed)
    return len(changed)


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
