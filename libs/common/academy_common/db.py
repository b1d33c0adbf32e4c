"""asyncpg pool per service schema, and the numbered-SQL migration runner."""
from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

import asyncpg
import structlog

log = structlog.get_logger(__name__)

COMMON_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{3,})_[\w-]+\.sql$")


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(dsn: str, schema: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections see the service's own schema first, and jsonb as Python."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        server_settings={"search_path": f"{schema},public", "timezone": "UTC"},
    )


def _migration_files(directory: Path) -> list[tuple[int, Path]]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise ValueError(f"migration {path} is not named NNN_name.sql")
        found.append((int(match.group(1)), path))
    versions = [v for v, _ in found]
    if len(versions) != len(set(versions)):
        raise ValueError(f"duplicate migration numbers in {directory}")
    return found


async def migrate(dsn: str, schema: str, migrations: Path | None) -> list[str]:
    """Apply the common migrations then the service's own, each once, into `schema`.

    Several replicas may start at once: a transaction-level advisory lock keyed on the schema
    serialises them, and each file runs in the same transaction as its bookkeeping row.
    """
    applied: list[str] = []
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema, "timezone": "UTC"})
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", zlib.crc32(schema.encode()))
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       source text NOT NULL, version int NOT NULL, name text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now(),
                       PRIMARY KEY (source, version))"""
            )
            done = {(r["source"], r["version"]) for r in await conn.fetch("SELECT source, version FROM schema_migrations")}
            sources = [("common", COMMON_MIGRATIONS)] + ([("service", migrations)] if migrations else [])
            for source, directory in sources:
                for version, path in _migration_files(directory):
                    if (source, version) in done:
                        continue
                    await conn.execute(path.read_text())
                    await conn.execute(
                        "INSERT INTO schema_migrations (source, version, name) VALUES ($1, $2, $3)",
                        source, version, path.name,
                    )
                    applied.append(f"{source}/{path.name}")
    finally:
        await conn.close()
    if applied:
        log.info("migrations applied", schema=schema, migrations=applied)
    return applied
