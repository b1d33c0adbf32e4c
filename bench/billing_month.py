"""Billing month bench: one month of 1,000,000 attendance lines, answered over HTTP in < 1 s.

    .venv/bin/python -m bench.billing_month [--lines 1000000] [--families 10000] [--close]

Loads a fresh schema (migrated like the service does, lines by COPY, rates through the same
SQL the rates API uses), then times the bare SQL month aggregate and the HTTP month report
(first JSON page with the whole month's totals) of the real routes, and the full-month CSV
export over HTTP beside a bare `COPY` of the same lines. Then sets a billing policy on every
family (one entry each, by COPY) and a default-scope one through the policies use case, which
re-prices every family line (timed), and times the month report again, next to the no-policy
figure. With --close, also the close and the closed month's CSV. Needs only PostgreSQL
(DATABASE_URL); the schema is dropped at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg
from aiohttp import web

from academy_common.db import create_pool, migrate
from academy_common.http import create_app
from academy_common.logging import configure_logging
from academy_common.service import SERVICE_KEY
from billing import repository as repo
from billing.app import HERE, build
from billing.months import Month
from billing.rates import Rate
from billing.routes import routes
from billing.settings import Settings
from billing.statements import PartyAggregate
from billing.usecases import request_close, run_close_job, set_policy

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TIMEZONE = "Europe/Madrid"
MONTH = Month(2025, 10)
STUDENTS_PER_CLASS = 4
TOKEN = "bench-billing-token-01"
BARE_AGGREGATE = """
    SELECT party_id, currency, coalesce(sum(amount_cents), 0)::bigint AS amount_cents,
           sum(billable_seconds)::bigint AS billable_seconds, sum(billed_seconds)::bigint AS billed_seconds,
           count(*) AS lines,
           count(*) FILTER (WHERE NOT final) AS provisional_lines
    FROM attendance_lines WHERE party = 'family' AND month = $1 AND counted
    GROUP BY party_id, currency"""
# The CSV's floor: the month's family lines with the names and titles the CSV shows, streamed
# out of PostgreSQL as they lie (no sort, no rendering, no totals).
BARE_COPY = """
    SELECT f.family_id, f.name, l.student_id, s.name, l.class_id, c.title, l.scheduled_start, l.billable_seconds,
           l.billed_seconds, l.rule, l.rule_detail, l.rate_cents, l.currency, l.amount_cents, l.final, l.corrected,
           l.billable_override, l.correction_reason
    FROM attendance_lines l LEFT JOIN classes c USING (class_id) LEFT JOIN students s USING (student_id)
    LEFT JOIN families f ON f.family_id = l.party_id
    WHERE l.party = 'family' AND l.month = $1 AND l.counted"""


def rate_of(party: str, party_id: int, moment: datetime, midmonth: datetime) -> tuple[int, str] | tuple[None, None]:
    """The bench's rate plan: one family in a hundred has none; two in three change mid-month."""
    if party == "teacher":
        return 4000, "EUR"
    if party_id % 100 == 0:
        return None, None
    return (2700 if party_id % 3 and moment >= midmonth else 2500), "EUR"


def line_rows(lines: int, families: int, teachers: int, start: datetime, end: datetime):
    """Student lines (and one teacher line per class) spread over [start, end), priced by the plan."""
    rng = random.Random(7)
    span = int((end - start).total_seconds() // 60)
    midmonth = start + timedelta(days=15)
    for class_id in range(1, lines // STUDENTS_PER_CLASS + 1):
        moment = start + timedelta(minutes=rng.randrange(span))
        for seat in range(STUDENTS_PER_CLASS):
            student_id = class_id * STUDENTS_PER_CLASS + seat
            family_id = rng.randrange(1, families + 1)
            seconds = rng.randrange(0, 3601)
            yield (class_id, f"student:{student_id}", "family", family_id, student_id, seconds, seconds,
                   rng.random() > 0.05, False, 1, moment, MONTH.first_day, False,
                   *rate_of("family", family_id, moment, midmonth))
        teacher_id = class_id % teachers + 1
        seconds = rng.randrange(3000, 3601)
        yield (class_id, f"teacher:{teacher_id}", "teacher", teacher_id, None, seconds, seconds,
               True, False, 1, moment, MONTH.first_day, False, 4000, "EUR")


async def load(conn: asyncpg.Connection, lines: int, families: int, teachers: int) -> None:
    start, end = MONTH.bounds(Settings(academy_timezone=TIMEZONE).timezone)
    midmonth = start + timedelta(days=15)
    columns = ["class_id", "person_key", "party", "party_id", "student_id", "billable_seconds", "billed_seconds", "final",
               "corrected", "version", "scheduled_start", "month", "cancelled", "rate_cents", "currency"]
    await conn.copy_records_to_table("attendance_lines", records=line_rows(lines, families, teachers, start, end),
                                     columns=columns)
    # Noise: the neighbouring months, so the month query has to pick its own range.
    for month_start, month in ((start - timedelta(days=30), Month(2025, 9)), (end, Month(2025, 11))):
        noise = [(10_000_000 + i + int(month_start.timestamp()), i % families + 1, i,
                  month_start + timedelta(minutes=i % 40_000)) for i in range(50_000)]
        await conn.copy_records_to_table("attendance_lines", columns=columns, records=[
            (class_id, f"student:{i}", "family", family_id, i, 1800, 1800, True, False, 1, moment, month.first_day, False,
             *rate_of("family", family_id, moment, midmonth)) for class_id, family_id, i, moment in noise])
    await conn.copy_records_to_table("classes", columns=["class_id", "title", "scheduled_start", "scheduled_end",
                                                         "status", "version"],
                                     records=[(c, f"Class {c}", start, start + timedelta(hours=1), "scheduled", 1)
                                              for c in range(1, lines // STUDENTS_PER_CLASS + 1)])
    await conn.copy_records_to_table("families", columns=["family_id", "name", "active", "version"],
                                     records=[(f, f"Family {f}", True, 1) for f in range(1, families + 1)])
    rates = [("family", f, start - timedelta(days=365), 2500) for f in range(1, families + 1) if f % 100]
    rates += [("family", f, midmonth, 2700) for f in range(1, families + 1) if f % 100 and f % 3]
    rates += [("teacher", t, start - timedelta(days=365), 4000) for t in range(1, teachers + 1)]
    await conn.copy_records_to_table("rates", columns=["party", "party_id", "effective_from", "hourly_rate_cents",
                                                       "currency", "updated_by"],
                                     records=[(*rate, "EUR", "bench") for rate in rates])
    await check_pricing(conn, start)
    await conn.execute("VACUUM ANALYZE attendance_lines")
    await conn.execute("ANALYZE")


async def check_pricing(conn: asyncpg.Connection, start: datetime) -> None:
    """The lines were priced by the plan; re-putting some rates through the rates API's own SQL
    re-prices their lines, which must change nothing."""
    checked = list(range(1, 51))
    query = "SELECT sum(rate_cents), count(*) FROM attendance_lines WHERE party = 'family' AND party_id = ANY($1)"
    before = await conn.fetchrow(query, checked)
    for family_id in checked:
        await repo.put_rate(conn, "family", family_id, Rate(start - timedelta(days=365), 2500, "EUR"), "bench")
    assert await conn.fetchrow(query, checked) == before, "the bench's rate plan disagrees with the service"
    misdated = await conn.fetchval(
        "SELECT count(*) FROM attendance_lines WHERE month <> local_month(scheduled_start, $1)", TIMEZONE)
    assert misdated == 0, "the bench dated lines in another month than the service would"


def family_policy(family_id: int) -> dict:
    """The bench's policies: every family its own entry, in four shapes."""
    return [{"rounding": {"unit_seconds": 900, "mode": "up"}},
            {"minimum_seconds": 1800, "rounding": {"unit_seconds": 60, "mode": "nearest"}},
            {"full_lesson_percent": 80},
            {"no_show_percent": 50, "late_cancel": {"within_hours": 24, "percent": 50}}][family_id % 4]


async def set_policies(pool: asyncpg.Pool, families: int, start: datetime) -> tuple[float, int]:
    """A policy entry for every family, then the default scope's through the use case, which
    re-prices every family line there is: (seconds of that PUT, lines it re-priced)."""
    async with pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO policies (party, party_id, effective_from, fields, updated_by)
               SELECT 'family', f, $1, (fields::text)::jsonb, 'bench' FROM unnest($2::bigint[], $3::text[]) AS p(f, fields)""",
            start - timedelta(days=365), list(range(1, families + 1)),
            [json.dumps(family_policy(f)) for f in range(1, families + 1)])
    started = time.perf_counter()
    _, repriced = await set_policy(pool, "family", None, start - timedelta(days=365),
                                   {"minimum_seconds": 900, "no_show_percent": 25}, by="bench")
    elapsed = time.perf_counter() - started
    async with pool.acquire() as conn:
        await conn.execute("VACUUM ANALYZE attendance_lines")
        await conn.execute("VACUUM ANALYZE month_totals")
    return elapsed, repriced


async def timed(fn, repeat: int) -> tuple[float, float]:
    """(first, median of the rest) in milliseconds."""
    times = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - started) * 1000)
    return times[0], statistics.median(times[1:])


async def bare_copy(pool: asyncpg.Pool) -> tuple[float, int]:
    """Seconds and bytes of BARE_COPY as CSV, in a repeatable-read transaction without JIT, like the export."""
    size = 0

    async def count(chunk: bytes) -> None:
        nonlocal size
        size += len(chunk)

    started = time.perf_counter()
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute("SET LOCAL jit = off")
        await conn.copy_from_query(BARE_COPY, MONTH.first_day, output=count, format="csv")
    return time.perf_counter() - started, size


async def serve(settings: Settings, pool: asyncpg.Pool) -> web.AppRunner:
    """The billing routes as the service serves them, without the broker (reports need none)."""
    service = build(settings)
    service.pool = pool
    app = create_app(tokens=settings.api_tokens, ready=service.ready, routes=routes, openapi=HERE / "openapi.yaml")
    app[SERVICE_KEY] = service
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


BARE_CLOSE = """
    CREATE TEMPORARY TABLE bare_close ON COMMIT DROP AS
    SELECT l.party, l.party_id, jsonb_agg(jsonb_build_object(
               'class_id', l.class_id, 'class_title', c.title, 'scheduled_start', l.scheduled_start,
               'student_id', l.student_id, 'billable_seconds', l.billable_seconds, 'hourly_rate_cents', l.rate_cents,
               'currency', l.currency, 'amount_cents', l.amount_cents, 'provisional', NOT l.final)
               ORDER BY l.scheduled_start, l.class_id, l.person_key) AS statement
    FROM attendance_lines l LEFT JOIN classes c ON c.class_id = l.class_id
    WHERE l.month = $1 AND l.counted GROUP BY l.party, l.party_id"""


async def bare_close(pool: asyncpg.Pool) -> float:
    """Seconds for the SQL floor of a close: every line of the month read once, one JSON
    document per statement built and stored, in one statement (then thrown away)."""
    async with pool.acquire() as conn:
        started = time.perf_counter()
        async with conn.transaction():
            await conn.execute(BARE_CLOSE, MONTH.first_day)
        return time.perf_counter() - started


async def close(settings: Settings, pool: asyncpg.Pool, families: int) -> tuple[float, float, int]:
    """(seconds to request the close job, seconds to run it, lines closed), once the families
    without a rate (the plan's one in a hundred, which a close refuses) have one."""
    start, _ = MONTH.bounds(settings.timezone)
    async with pool.acquire() as conn:
        for family_id in range(100, families + 1, 100):
            await repo.put_rate(conn, "family", family_id, Rate(start - timedelta(days=365), 0, "EUR"), "bench")
    started = time.perf_counter()
    job = await request_close(pool, MONTH, settings.timezone, by="bench", now=datetime.now(UTC))
    requested = time.perf_counter()
    assert await run_close_job(pool, job["job_id"], chunk=settings.export_chunk_size, progress_every_s=0.5)
    finished = time.perf_counter()
    async with pool.acquire() as conn:
        done = await repo.close_job(conn, job["job_id"])
    assert done["state"] == "done", done["error"]
    return requested - started, finished - requested, done["lines_done"]


async def main(lines: int, families: int, teachers: int, repeat: int, closing: bool = False) -> None:
    configure_logging("billing-bench", "WARNING", "console")
    schema = f"bench_billing_{uuid.uuid4().hex[:8]}"
    settings = Settings(database_url=DATABASE_URL, db_schema=schema, academy_timezone=TIMEZONE,
                        api_tokens={TOKEN: "billing"}, log_level="WARNING")
    await migrate(DATABASE_URL, schema, HERE / "migrations")
    pool = await create_pool(DATABASE_URL, schema, max_size=6)
    try:
        started = time.perf_counter()
        async with pool.acquire() as conn:
            await load(conn, lines, families, teachers)
            in_month = await conn.fetchval(
                "SELECT count(*) FROM attendance_lines WHERE party = 'family' AND month = $1", MONTH.first_day)
        print(f"loaded {in_month:,} family lines in {MONTH} (+ teacher lines and neighbouring months) "
              f"in {time.perf_counter() - started:.1f} s")

        async def bare_sql_aggregate() -> list:
            async with pool.acquire() as conn:
                return await conn.fetch(BARE_AGGREGATE, MONTH.first_day)

        async def month_totals() -> list:
            async with pool.acquire() as conn:
                return await repo.month_aggregate(conn, "family", MONTH)

        totals = {(a.party_id, a.currency): a for a in await month_totals()}
        assert totals == {(r["party_id"], r["currency"]): PartyAggregate(**r) for r in await bare_sql_aggregate()}, \
            "the running month totals disagree with the lines"

        runner = await serve(settings, pool)
        port = runner.addresses[0][1]
        headers = {"Authorization": f"Bearer {TOKEN}"}
        params = {"year": MONTH.year, "month": MONTH.month}
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", headers=headers) as http:
            async def http_report() -> None:
                async with http.get("/monitoring/billing/families", params=params) as response:
                    body = await response.json()
                    assert response.status == 200 and body["line_count"] >= lines, body.get("detail")

            async def csv_export() -> tuple[float, int]:
                """Seconds to the last byte of the families' CSV, and its size."""
                started = time.perf_counter()
                async with http.get("/monitoring/billing/families", params=params,
                                    headers={"Accept": "text/csv"}) as response:
                    size = len(await response.read())
                    assert response.status == 200
                return time.perf_counter() - started, size

            sql_first, sql_ms = await timed(bare_sql_aggregate, repeat)
            totals_first, totals_ms = await timed(month_totals, repeat)
            http_first, http_ms = await timed(http_report, repeat)
            bare_copy_s, bare_size = await bare_copy(pool)
            csv_s, size = await csv_export()
            reprice_s, repriced = await set_policies(pool, families, MONTH.bounds(settings.timezone)[0])
            policy_totals = {(a.party_id, a.currency): a for a in await month_totals()}
            assert policy_totals == {(r["party_id"], r["currency"]): PartyAggregate(**r)
                                     for r in await bare_sql_aggregate()}, "the running totals disagree after re-pricing"
            assert policy_totals != totals, "the policies changed nothing"
            policy_first, policy_ms = await timed(http_report, repeat)
            if closing:
                bare_s = await bare_close(pool)
                request_s, run_s, closed = await close(settings, pool, families)
                closed_csv_s, closed_size = await csv_export()
        await runner.cleanup()
        print(f"bare SQL month aggregate:  {sql_ms:7.0f} ms median of {repeat} (first {sql_first:.0f} ms)"
              f"  GROUP BY over the month's {in_month:,} lines")
        print(f"running month totals:      {totals_ms:7.0f} ms median of {repeat} (first {totals_first:.0f} ms)"
              f"  what the report reads instead (checked equal)")
        print(f"HTTP month report (JSON):  {http_ms:7.0f} ms median of {repeat} (first {http_first:.0f} ms)"
              f"  <- target < 1000 ms")
        print(f"bare SQL COPY of the lines:{bare_copy_s:7.1f} s  ({bare_size / 1e6:.0f} MB, unsorted, unrendered)")
        print(f"full-month CSV export:     {csv_s:7.1f} s  ({size / 1e6:.0f} MB over HTTP, {csv_s / bare_copy_s:.1f}x the "
              f"bare COPY)  <- target <= 5 s")
        print(f"policy PUT (default scope): {reprice_s:6.1f} s  re-priced {repriced:,} family lines, a policy on each "
              f"of the {families:,} families (informational)")
        print(f"HTTP month report, policies: {policy_ms:5.0f} ms median of {repeat} (first {policy_first:.0f} ms)"
              f"  <- target < 1000 ms; without policies {http_ms:.0f} ms")
        if closing:
            print(f"bare SQL close reference:  {bare_s:7.1f} s  one statement: every line read, a jsonb per statement")
            print(f"closing the month:         {request_s + run_s:7.1f} s  ({closed:,} lines: request {request_s:.2f} s,"
                  f" job {run_s:.1f} s)  <- target <= 10 s")
            print(f"closed month's CSV export: {closed_csv_s:7.1f} s  ({closed_size / 1e6:.0f} MB, from the frozen "
                  f"statements)")
    finally:
        await pool.close()
        conn = await asyncpg.connect(DATABASE_URL)
        try:
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        finally:
            await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="family lines in the month")
    parser.add_argument("--families", type=int, default=10_000)
    parser.add_argument("--teachers", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--close", action="store_true", help="also time closing the month (a close job, beside a bare SQL reference)")
    args = parser.parse_args()
    asyncio.run(main(args.lines, args.families, args.teachers, args.repeat, args.close))
