"""SQL for the directory: teachers, families and students."""
from __future__ import annotations

import asyncpg

from scheduler.directory import FAMILY, STUDENT, Entry, Kind
from scheduler.errors import Conflict, Invalid, NotFound

_TABLES = {"teacher": "teachers", "family": "families", "student": "students"}


def _columns(kind: Kind) -> str:
    return "id, name, email, active, version" + (", family_id" if kind is STUDENT else "")


def _entry(kind: Kind, row: asyncpg.Record) -> Entry:
    return Entry(kind, **dict(row))


async def add(conn: asyncpg.Connection, kind: Kind, *, name: str, email: str,
              family_id: int | None = None) -> Entry:
    if kind is STUDENT:
        await check_family(conn, family_id)
        sql = "INSERT INTO students (name, email, family_id) VALUES ($1, $2, $3)"
        args: tuple = (name, email, family_id)
    else:
        sql, args = f"INSERT INTO {_TABLES[kind.name]} (name, email) VALUES ($1, $2)", (name, email)
    try:
        row = await conn.fetchrow(f"{sql} RETURNING {_columns(kind)}", *args)
    except asyncpg.UniqueViolationError:
        raise Conflict(f"another {kind.name} already has the email {email}") from None
    return _entry(kind, row)


async def get(conn: asyncpg.Connection, kind: Kind, entry_id: int, *, for_update: bool = False) -> Entry:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {_columns(kind)} FROM {_TABLES[kind.name]} WHERE id = $1{lock}", entry_id)
    if row is None:
        raise NotFound(f"{kind.name} {entry_id} does not exist")
    return _entry(kind, row)


async def find(conn: asyncpg.Connection, kind: Kind, *, active: bool | None = None,
               family_id: int | None = None, after: int = 0, limit: int | None = None) -> list[Entry]:
    """Entries by id, from just after `after`, at most `limit` (all without one)."""
    terms, args = ["id > $1", "($2::boolean IS NULL OR active = $2)"], [after, active, limit]
    if kind is STUDENT:
        terms.append("($4::bigint IS NULL OR family_id = $4)")
        args.append(family_id)
    rows = await conn.fetch(
        f"SELECT {_columns(kind)} FROM {_TABLES[kind.name]} WHERE {' AND '.join(terms)} ORDER BY id LIMIT $3", *args)
    return [_entry(kind, r) for r in rows]


async def save(conn: asyncpg.Connection, entry: Entry) -> None:
    table = _TABLES[entry.kind.name]
    try:
        await conn.execute(
            f"UPDATE {table} SET name = $2, email = $3, active = $4, version = $5, updated_at = now()"
            + (", family_id = $6" if entry.kind is STUDENT else "") + " WHERE id = $1",
            entry.id, entry.name, entry.email, entry.active, entry.version,
            *((entry.family_id,) if entry.kind is STUDENT else ()),
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"another {entry.kind.name} already has the email {entry.email}") from None


async def check_family(conn: asyncpg.Connection, family_id: int | None) -> None:
    """A student can only join an existing, active family."""
    active = await conn.fetchval("SELECT active FROM families WHERE id = $1 FOR SHARE", family_id)
    if active is None:
        raise Invalid(f"{FAMILY.name} {family_id} does not exist")
    if not active:
        raise Invalid(f"{FAMILY.name} {family_id} is inactive")
