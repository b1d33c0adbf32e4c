"""Read side of the HTTP API: pages of logs (keyset on scheduled_start, log_id), one log in full."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from academy_common import pagination
from academy_common.events import rfc3339
from attendance.content import payload
from attendance.corrections import audited


@dataclass(frozen=True)
class LogFilter:
    session_id: str | None = None
    class_id: int | None = None
    user_email: str | None = None
    start_from: datetime | None = None  # scheduled_start >= start_from
    start_to: datetime | None = None  # scheduled_start < start_to
    guests_only: bool = False


def _where(f: LogFilter, after: tuple[datetime, int] | None) -> tuple[str, list]:
    conditions, args = ["NOT removed"], []

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    if f.session_id is not None:
        conditions.append(f"session_id = {arg(f.session_id)}")
    if f.class_id is not None:
        conditions.append(f"class_id = {arg(f.class_id)}")
    if f.user_email is not None:
        conditions.append(f"lower(email) = lower({arg(f.user_email)})")
    if f.start_from is not None:
        conditions.append(f"scheduled_start >= {arg(f.start_from)}")
    if f.start_to is not None:
        conditions.append(f"scheduled_start < {arg(f.start_to)}")
    if f.guests_only:
        conditions.append("role = 'guest'")
    if after is not None:
        conditions.append(f"(scheduled_start, log_id) > ({arg(after[0])}, {arg(after[1])})")
    return " AND ".join(conditions), args


async def page_of_logs(pool: asyncpg.Pool, f: LogFilter, *, limit: int, cursor: str | None) -> pagination.Page:
    """Raises pagination.BadCursor for a cursor this API did not hand out."""
    where, args = _where(f, pagination.decode(cursor, datetime, int) if cursor else None)
    rows = await pool.fetch(
        f"""SELECT log_id, version, content, scheduled_start, participant_kind, meet_user FROM attendance_logs
            WHERE {where} ORDER BY scheduled_start, log_id LIMIT {limit + 1}""",
        *args,
    )
    return pagination.page(rows, limit, lambda r: _item(r, guest=f.guests_only),
                           lambda r: (r["scheduled_start"], r["log_id"]))


def _item(row: asyncpg.Record, *, guest: bool) -> dict:
    item = payload(row["log_id"], row["version"], row["content"])
    if guest:
        item.update(participant_kind=row["participant_kind"], meet_user=row["meet_user"])
    return item


async def log_detail(pool: asyncpg.Pool, log_id: int) -> dict | None:
    row = await pool.fetchrow(
        """SELECT log_id, version, content, computed, sessions, participant_kind, meet_user
           FROM attendance_logs WHERE log_id = $1""",
        log_id,
    )
    if row is None:
        return None
    corrections = await pool.fetch(
        """SELECT correction_id, billable_seconds, status, reason, allow_above_attended, requested_by, before,
                  computed, created_at
           FROM log_corrections WHERE log_id = $1 ORDER BY correction_id""",
        log_id,
    )
    return {
        **payload(row["log_id"], row["version"], row["content"]),
        "participant_kind": row["participant_kind"], "meet_user": row["meet_user"],
        "computed": audited(row["computed"]),
        "sessions": row["sessions"],
        "corrections": [{**dict(c), "created_at": rfc3339(c["created_at"])} for c in corrections],
    }
