"""All of billing's SQL: the projection, rates, month aggregates and closed periods."""
from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence

import asyncpg

from academy_common.contracts import AttendanceLog, ClassSnapshot, FamilyUpserted, StudentUpserted, TeacherUpserted
from billing.months import Month
from billing.rates import Party, Rate
from billing.statements import Line, PartyAggregate

Key = tuple[int, str]  # (class_id, person_key): one line


async def lock_pricing(conn: asyncpg.Connection) -> None:
    """Serialise everything that prices lines (and closing) within this schema.

    A line written while a rate changes could otherwise keep the old price: each statement
    prices with the rates it can see, and a concurrent transaction's are not visible yet.
    """
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '.pricing', 0))")


# -- directory ----------------------------------------------------------------------------

async def upsert_family(conn: asyncpg.Connection, m: FamilyUpserted) -> bool:
    return bool(await conn.fetchval(
        """INSERT INTO families (family_id, name, email, active, version) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (family_id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email,
               active = EXCLUDED.active, version = EXCLUDED.version
           WHERE families.version < EXCLUDED.version RETURNING true""",
        m.family_id, m.name, m.email, m.active, m.version))


async def upsert_student(conn: asyncpg.Connection, m: StudentUpserted) -> bool:
    return bool(await conn.fetchval(
        """INSERT INTO students (student_id, family_id, name, email, active, version) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (student_id) DO UPDATE SET family_id = EXCLUDED.family_id, name = EXCLUDED.name,
               email = EXCLUDED.email, active = EXCLUDED.active, version = EXCLUDED.version
           WHERE students.version < EXCLUDED.version RETURNING true""",
        m.student_id, m.family_id, m.name, m.email, m.active, m.version))


async def upsert_teacher(conn: asyncpg.Connection, m: TeacherUpserted) -> bool:
    return bool(await conn.fetchval(
        """INSERT INTO teachers (teacher_id, name, email, active, version) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (teacher_id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email,
               active = EXCLUDED.active, version = EXCLUDED.version
           WHERE teachers.version < EXCLUDED.version RETURNING true""",
        m.teacher_id, m.name, m.email, m.active, m.version))


# -- classes and attendance lines -----------------------------------------------------------

_REPRICE = """
UPDATE attendance_lines l SET (rate_cents, currency) = (
    SELECT r.hourly_rate_cents, r.currency FROM rates r
    WHERE r.party = l.party AND r.party_id = l.party_id AND r.effective_from <= l.scheduled_start
    ORDER BY r.effective_from DESC LIMIT 1)
WHERE """


async def upsert_class(conn: asyncpg.Connection, m: ClassSnapshot, cancelled: bool, zone: str) -> bool:
    """The class as of its newest version; its lines follow its start (and month) and status."""
    status = "cancelled" if cancelled else m.status
    applied = await conn.fetchval(
        """INSERT INTO classes (class_id, title, scheduled_start, scheduled_end, teacher_id, status, version)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (class_id) DO UPDATE SET title = EXCLUDED.title, scheduled_start = EXCLUDED.scheduled_start,
               scheduled_end = EXCLUDED.scheduled_end, teacher_id = EXCLUDED.teacher_id,
               status = EXCLUDED.status, version = EXCLUDED.version
           WHERE classes.version < EXCLUDED.version RETURNING true""",
        m.class_id, m.title, m.scheduled_start, m.scheduled_end,
        m.teacher.teacher_id if m.teacher else None, status, m.version)
    if not applied:
        return False
    await conn.execute("DELETE FROM class_students WHERE class_id = $1", m.class_id)
    await conn.executemany("INSERT INTO class_students (class_id, student_id, family_id) VALUES ($1, $2, $3)",
                           [(m.class_id, s.student_id, s.family_id) for s in m.students])
    await conn.execute(
        """UPDATE attendance_lines SET scheduled_start = $2, month = local_month($2, $4), cancelled = $3
           WHERE class_id = $1""",
        m.class_id, m.scheduled_start, cancelled, zone)
    await conn.execute(_REPRICE + "l.class_id = $1", m.class_id)
    return True


async def family_of(conn: asyncpg.Connection, class_id: int, student_id: int) -> int | None:
    """The family a student's line bills when the log does not say: the class roster, else the directory."""
    return await conn.fetchval(
        """SELECT coalesce(
               (SELECT family_id FROM class_students WHERE class_id = $1 AND student_id = $2),
               (SELECT family_id FROM students WHERE student_id = $2))""",
        class_id, student_id)


async def upsert_line(conn: asyncpg.Connection, party: Party, party_id: int, log: AttendanceLog, zone: str) -> bool:
    """The line as of the log's newest version, dated and priced by its class when known; a
    removed log's line is kept (its version still counts) but, like a cancelled one, not billed."""
    applied = await conn.fetchval(
        """INSERT INTO attendance_lines AS l (class_id, person_key, log_id, party, party_id, student_id,
               billable_seconds, billed_seconds, final, corrected, removed, version, scheduled_start, month,
               cancelled, billable_override, correction_reason)
           SELECT $1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11, s.start, local_month(s.start, $13), s.cancelled,
                  $14, $15
           FROM (SELECT coalesce(c.scheduled_start, $12) AS start, coalesce(c.status = 'cancelled', false) AS cancelled
                 FROM (SELECT 1) AS one LEFT JOIN classes c ON c.class_id = $1) AS s
           ON CONFLICT (class_id, person_key) DO UPDATE SET log_id = EXCLUDED.log_id, party = EXCLUDED.party,
               party_id = EXCLUDED.party_id, student_id = EXCLUDED.student_id,
               billable_seconds = EXCLUDED.billable_seconds, billed_seconds = EXCLUDED.billed_seconds,
               final = EXCLUDED.final,
               corrected = EXCLUDED.corrected, removed = EXCLUDED.removed, version = EXCLUDED.version,
               scheduled_start = EXCLUDED.scheduled_start, month = EXCLUDED.month, cancelled = EXCLUDED.cancelled,
               billable_override = EXCLUDED.billable_override, correction_reason = EXCLUDED.correction_reason
           WHERE l.version < EXCLUDED.version RETURNING true""",
        log.class_id, log.person_key, log.log_id, party, party_id, log.student_id, log.billable_seconds,
        log.final, log.corrected, log.removed, log.version, log.scheduled_start, zone,
        log.billable_override, log.correction_reason if log.corrected else None)
    if applied:
        await conn.execute(_REPRICE + "l.class_id = $1 AND l.person_key = $2", log.class_id, log.person_key)
    return bool(applied)


async def adopt_timezone(conn: asyncpg.Connection, zone: str) -> int:
    """Re-date every line if ACADEMY_TIMEZONE changed since the lines were written (closed
    months keep their frozen statements); returns how many lines moved."""
    previous = await conn.fetchval("SELECT timezone FROM billing_state")
    if previous == zone:
        return 0
    status = await conn.execute(
        "UPDATE attendance_lines SET month = local_month(scheduled_start, $1) "
        "WHERE month IS DISTINCT FROM local_month(scheduled_start, $1)", zone)
    await conn.execute("INSERT INTO billing_state (timezone) VALUES ($1) "
                       "ON CONFLICT (singleton) DO UPDATE SET timezone = EXCLUDED.timezone", zone)
    return int(status.split()[-1])


# -- rates ----------------------------------------------------------------------------------

async def put_rate(conn: asyncpg.Connection, party: Party, party_id: int, rate: Rate, by: str) -> int:
    """Add (or replace, same effective_from) a rate entry and re-price the lines it may cover."""
    await conn.execute(
        """INSERT INTO rates (party, party_id, effective_from, hourly_rate_cents, currency, updated_by)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (party, party_id, effective_from) DO UPDATE SET
               hourly_rate_cents = EXCLUDED.hourly_rate_cents, currency = EXCLUDED.currency,
               updated_at = now(), updated_by = EXCLUDED.updated_by""",
        party, party_id, rate.effective_from, rate.hourly_rate_cents, rate.currency, by)
    status = await conn.execute(
        _REPRICE + "l.party = $1 AND l.party_id = $2 AND l.scheduled_start >= $3",
        party, party_id, rate.effective_from)
    return int(status.split()[-1])


async def rate_history(conn: asyncpg.Connection, party: Party, party_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT effective_from, hourly_rate_cents, currency, updated_at, updated_by FROM rates
           WHERE party = $1 AND party_id = $2 ORDER BY effective_from""",
        party, party_id)


# -- open months ------------------------------------------------------------------------------

async def month_aggregate(conn: asyncpg.Connection, party: Party, month: Month) -> list[PartyAggregate]:
    """The month's lines summed per family (teacher) and currency, from the running totals."""
    rows = await conn.fetch(
        """SELECT party_id, nullif(currency, '') AS currency, amount_cents, billable_seconds, billed_seconds, lines,
                  provisional_lines
           FROM month_totals WHERE party = $1 AND month = $2""",
        party, month.first_day)
    return [PartyAggregate(**row) for row in rows]


_LINE_COLUMNS = """l.party_id, l.class_id, c.title, l.scheduled_start, l.student_id, s.name AS student_name,
    l.billable_seconds, l.billed_seconds, l.rule, l.rule_detail, l.rate_cents, l.currency, l.amount_cents, l.final,
    l.corrected, l.billable_override, l.correction_reason"""
_MONTH_LINES = f"""SELECT {_LINE_COLUMNS} FROM attendance_lines l
    LEFT JOIN classes c ON c.class_id = l.class_id
    LEFT JOIN students s ON s.student_id = l.student_id
    WHERE l.party = $1 AND l.month = $2 AND l.counted {{}}
    ORDER BY l.party_id, l.scheduled_start, l.class_id, l.person_key"""


def line_of(r: asyncpg.Record) -> Line:
    """A month line as the statements show it, from a row of `_LINE_COLUMNS`."""
    return Line(
        kind="line", class_id=r["class_id"], class_title=r["title"], scheduled_start=r["scheduled_start"],
        student_id=r["student_id"], student_name=r["student_name"], billable_seconds=r["billable_seconds"],
        billed_seconds=r["billed_seconds"], rule=r["rule"], rule_detail=r["rule_detail"],
        hourly_rate_cents=r["rate_cents"], currency=r["currency"], amount_cents=r["amount_cents"],
        provisional=not r["final"], corrected=r["corrected"], billable_override=r["billable_override"],
        correction_reason=r["correction_reason"])


async def month_lines(conn: asyncpg.Connection, party: Party, party_ids: Sequence[int], month: Month
                      ) -> dict[int, list[Line]]:
    rows = await conn.fetch(_MONTH_LINES.format("AND l.party_id = ANY($3::bigint[])"),
                            party, month.first_day, list(party_ids))
    lines: dict[int, list[Line]] = {}
    for r in rows:
        lines.setdefault(r["party_id"], []).append(line_of(r))
    return lines


async def month_line_rows(conn: asyncpg.Connection, party: Party, month: Month, *, batch: int
                          ) -> AsyncIterator[list[asyncpg.Record]]:
    """Every line of the month in statement order, `batch` rows at a time from one cursor
    (inside the caller's transaction): one pass over the month instead of a query per page."""
    cursor = await conn.cursor(_MONTH_LINES.format(""), party, month.first_day)
    while rows := await cursor.fetch(batch):
        yield rows


async def names(conn: asyncpg.Connection, party: Party, party_ids: Sequence[int]) -> dict[int, str]:
    table = {"family": "families", "teacher": "teachers"}[party]
    rows = await conn.fetch(f"SELECT {party}_id AS id, name FROM {table} WHERE {party}_id = ANY($1::bigint[])",
                            list(party_ids))
    return {r["id"]: r["name"] for r in rows}


_CANDIDATE_COLUMNS = """l.class_id, l.person_key, l.party, l.party_id, c.title, l.scheduled_start, l.month,
    l.student_id, s.name AS student_name, l.cancelled, l.removed, l.billable_seconds, l.billed_seconds,
    l.rule, l.rule_detail, l.rate_cents, l.currency, l.amount_cents, l.final, l.corrected, l.billable_override, l.correction_reason"""


async def candidates(conn: asyncpg.Connection, party: Party, closed: Iterable[Month]) -> list[asyncpg.Record]:
    """Lines that may owe an adjustment: changed since a close accounted for them, or late
    (never accounted for, yet in a closed month: above its watermark)."""
    return await conn.fetch(
        f"""SELECT {_CANDIDATE_COLUMNS} FROM attendance_lines l
            LEFT JOIN classes c ON c.class_id = l.class_id LEFT JOIN students s ON s.student_id = l.student_id
            WHERE l.party = $1 AND l.revision > l.settled_revision
            UNION ALL
            SELECT {_CANDIDATE_COLUMNS} FROM periods p
            JOIN attendance_lines l ON l.month = p.period AND l.revision > p.settled_through
                 AND l.settled_revision IS NULL
            LEFT JOIN classes c ON c.class_id = l.class_id LEFT JOIN students s ON s.student_id = l.student_id
            WHERE l.party = $1 AND p.period = ANY($2::date[])""",
        party, [m.first_day for m in closed])


async def billed(conn: asyncpg.Connection, keys: Iterable[Key]) -> dict[Key, list[asyncpg.Record]]:
    keys = list(keys)
    rows = await conn.fetch(
        """SELECT class_id, person_key, party_id, currency, billable_seconds, billed_seconds, amount_cents,
                  origin_period
           FROM closed_lines JOIN unnest($1::bigint[], $2::text[]) AS k(class_id, person_key)
                USING (class_id, person_key)""",
        [k[0] for k in keys], [k[1] for k in keys])
    found: dict[Key, list[asyncpg.Record]] = {}
    for r in rows:
        found.setdefault((r["class_id"], r["person_key"]), []).append(r)
    return found


# -- closed periods -------------------------------------------------------------------------

async def closed_months(conn: asyncpg.Connection) -> frozenset[Month]:
    return frozenset(Month.from_date(r["period"]) for r in await conn.fetch("SELECT period FROM periods"))


async def period(conn: asyncpg.Connection, month: Month) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT period, closed_at, closed_by, checksum, summary FROM periods WHERE period = $1", month.first_day)


async def frozen_statements(conn: asyncpg.Connection, month: Month, party: Party, after: int, limit: int
                            ) -> list[dict]:
    rows = await conn.fetch(
        """SELECT statement FROM period_statements WHERE period = $1 AND party = $2 AND party_id > $3
           ORDER BY party_id LIMIT $4""",
        month.first_day, party, after, limit)
    return [r["statement"] for r in rows]


async def open_period(conn: asyncpg.Connection, month: Month, by: str) -> None:
    """The period row first (the frozen rows reference it); checksum and summary come last.

    Its watermark is the last line revision handed out: under the pricing lock no line write
    is in flight, so every line of the month at or below it is what this close accounts for.
    """
    await conn.execute(
        """INSERT INTO periods (period, closed_by, checksum, summary, settled_through)
           SELECT $1, $2, '', '{}', CASE WHEN is_called THEN last_value ELSE 0 END FROM line_revision""",
        month.first_day, by)


async def export_snapshot(conn: asyncpg.Connection) -> str:
    return await conn.fetchval("SELECT pg_export_snapshot()")


async def import_snapshot(conn: asyncpg.Connection, snapshot: str) -> None:
    """See what the exporting transaction saw (first statement of a repeatable read transaction)."""
    await conn.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")  # a server-made token: no parameters here


async def freeze_statements(conn: asyncpg.Connection, month: Month, party: Party,
                            documents: Sequence[tuple[int, bytes]]) -> None:
    """Store (party_id, canonical JSON) documents with one COPY: the bytes hashed are the bytes
    stored, encoded once."""
    prefix = f"{month.first_day},{party},".encode()
    rows = b"".join(prefix + str(party_id).encode() + b',"' + text.rstrip(b"\n").replace(b'"', b'""') + b'"\n'
                    for party_id, text in documents)
    await conn.copy_to_table("period_statements", source=io.BytesIO(rows), format="csv",
                             columns=["period", "party", "party_id", "statement"])


async def freeze_lines(conn: asyncpg.Connection, month: Month) -> None:
    """What the closing month charges for its lines that an earlier close settled explicitly;
    the others are settled by the period's watermark (see migration 006)."""
    await conn.execute(
        """INSERT INTO closed_lines (period, class_id, person_key, kind, party, party_id, currency,
               billable_seconds, billed_seconds, amount_cents, origin_period)
           SELECT $1, class_id, person_key, 'line', party, party_id, currency, billable_seconds, billed_seconds,
                  amount_cents, $1
           FROM attendance_lines WHERE month = $1 AND counted AND settled_revision IS NOT NULL""",
        month.first_day)


async def freeze_adjustments(conn: asyncpg.Connection, month: Month, party: Party,
                             adjustments: Iterable[tuple[Key, int, Line]]) -> None:
    await conn.executemany(
        """INSERT INTO closed_lines (period, class_id, person_key, kind, party, party_id, currency,
               billable_seconds, billed_seconds, amount_cents, origin_period)
           VALUES ($1, $2, $3, 'adjustment', $4, $5, $6, $7, $8, $9, $10)""",
        [(month.first_day, key[0], key[1], party, party_id, line.currency, line.billable_seconds,
          line.billed_seconds, line.amount_cents, line.reference_period.first_day) for key, party_id, line in adjustments])


async def settle(conn: asyncpg.Connection, keys: Iterable[Key]) -> None:
    """Mark the reconciled keys accounted for (the month's own lines are, by its watermark)."""
    keys = list(keys)
    await conn.execute(
        """UPDATE attendance_lines l SET settled_revision = l.revision
           FROM unnest($1::bigint[], $2::text[]) AS k(class_id, person_key)
           WHERE l.class_id = k.class_id AND l.person_key = k.person_key""",
        [k[0] for k in keys], [k[1] for k in keys])


async def finish_period(conn: asyncpg.Connection, month: Month, checksum: str, summary: dict) -> asyncpg.Record:
    return await conn.fetchrow(
        """UPDATE periods SET checksum = $2, summary = $3, closed_at = now() WHERE period = $1
           RETURNING period, closed_at, closed_by, checksum, summary""",
        month.first_day, checksum, summary)


# -- close jobs -------------------------------------------------------------------------------

_JOB_COLUMNS = """job_id, period, state, lines_total, lines_done, checksum, requested_by, requested_at, runs,
    finished_at, error"""


async def add_close_job(conn: asyncpg.Connection, job_id: uuid.UUID, month: Month, by: str, lines_total: int
                        ) -> asyncpg.Record | None:
    """A running job for the month, unless it already has one running or done (None then)."""
    return await conn.fetchrow(
        f"""INSERT INTO close_jobs (job_id, period, state, lines_total, requested_by)
            VALUES ($1, $2, 'running', $3, $4)
            ON CONFLICT (period) WHERE state <> 'failed' DO NOTHING RETURNING {_JOB_COLUMNS}""",
        job_id, month.first_day, lines_total, by)


async def live_close_job(conn: asyncpg.Connection, month: Month) -> asyncpg.Record | None:
    """The month's job that is running or done."""
    return await conn.fetchrow(
        f"SELECT {_JOB_COLUMNS} FROM close_jobs WHERE period = $1 AND state <> 'failed'", month.first_day)


async def close_job(conn: asyncpg.Connection, job_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_JOB_COLUMNS} FROM close_jobs WHERE job_id = $1", job_id)


async def running_close_jobs(conn: asyncpg.Connection) -> list[uuid.UUID]:
    rows = await conn.fetch("SELECT job_id FROM close_jobs WHERE state = 'running' ORDER BY requested_at")
    return [r["job_id"] for r in rows]


async def claim_close_job(conn: asyncpg.Connection, job_id: uuid.UUID) -> asyncpg.Record | None:
    """The job, if it is still running and no other replica runs it: the claim is a
    transaction-level advisory lock, so it ends with the job's transaction, however that ends
    (a replica killed mid-close leaves nothing held)."""
    if not await conn.fetchval(
            "SELECT pg_try_advisory_xact_lock(hashtextextended(current_schema() || '.close-job.' || ($1::uuid)::text, 0))",
            job_id):
        return None
    return await conn.fetchrow(f"SELECT {_JOB_COLUMNS} FROM close_jobs WHERE job_id = $1 AND state = 'running'",
                               job_id)


async def count_close_run(conn: asyncpg.Connection, job_id: uuid.UUID) -> int:
    """Another start of the job (committed at once, outside the job's transaction); how many so far."""
    return await conn.fetchval("UPDATE close_jobs SET runs = runs + 1 WHERE job_id = $1 RETURNING runs", job_id)


async def close_job_progress(conn: asyncpg.Connection, job_id: uuid.UUID, lines_done: int) -> None:
    await conn.execute("UPDATE close_jobs SET lines_done = $2 WHERE job_id = $1 AND state = 'running'",
                       job_id, lines_done)


async def finish_close_job(conn: asyncpg.Connection, job_id: uuid.UUID, lines: int, checksum: str) -> None:
    await conn.execute(
        """UPDATE close_jobs SET state = 'done', lines_total = $2, lines_done = $2, checksum = $3,
               finished_at = now(), error = NULL
           WHERE job_id = $1""",
        job_id, lines, checksum)


async def fail_close_job(conn: asyncpg.Connection, job_id: uuid.UUID, error: str) -> None:
    await conn.execute(
        "UPDATE close_jobs SET state = 'failed', finished_at = now(), error = $2 WHERE job_id = $1 AND state = 'running'",
        job_id, error)
