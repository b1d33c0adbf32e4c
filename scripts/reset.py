"""`make reset`: drop the local development database and RabbitMQ vhost, so the next
`make run` starts from a fresh demo academy. It says what it will delete and asks first
(`make reset YES=1`, or `--yes`, does not ask). It touches nothing but those two: never a
server that is not on this machine, the default vhost `/`, or PostgreSQL's own databases.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import urllib.parse

import asyncpg

from scripts import preflight

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
PROTECTED_DATABASES = {"postgres", "template0", "template1", ""}


def refusal(database_url: str, amqp_url: str) -> str | None:
    """Why this reset must not run, or None."""
    for variable, url in (("DATABASE_URL", database_url), ("AMQP_URL", amqp_url)):
        if urllib.parse.urlsplit(url).hostname not in LOCAL_HOSTS:
            return f"{variable} names a server that is not on this machine; reset only deletes local state"
    if preflight.database_of(database_url) in PROTECTED_DATABASES:
        return "DATABASE_URL names one of PostgreSQL's own databases; point it at the development one"
    if preflight.vhost_of(amqp_url) == "/":
        return "AMQP_URL names the default vhost `/`, which other programs share; use a vhost of its own"
    return None


async def drop_database(database_url: str) -> None:
    parts = urllib.parse.urlsplit(database_url)
    admin = await asyncpg.connect(urllib.parse.urlunsplit(parts._replace(path="/postgres")),
                                  timeout=preflight.CONNECT_TIMEOUT_S)
    try:
        name = preflight.database_of(database_url).replace('"', '""')
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def delete_vhost(vhost: str) -> str | None:
    """None once the vhost is gone (or was not there); else why not."""
    try:
        done = subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False, capture_output=True,
                              text=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"rabbitmqctl could not run ({type(exc).__name__}); delete vhost {vhost!r} yourself"
    if done.returncode != 0 and "not_found" not in (done.stdout + done.stderr).lower():
        return f"rabbitmqctl could not delete vhost {vhost!r}: {(done.stderr or done.stdout).strip()[:200]}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--yes", action="store_true", help="do not ask")
    args = parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL", preflight.DEFAULT_DATABASE_URL)
    amqp_url = os.environ.get("AMQP_URL", preflight.DEFAULT_AMQP_URL)
    if why := refusal(database_url, amqp_url):
        return preflight.report("make reset", [why])
    print(f"make reset deletes the {preflight.describe(database_url, amqp_url)}, "
          "with every record, queue and message in them.")
    if not args.yes:
        try:
            answer = input("Type yes to delete them: ")
        except EOFError:
            answer = ""
        if answer.strip().lower() != "yes":
            print("nothing deleted")
            return 1
    try:
        asyncio.run(drop_database(database_url))
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        why = f"PostgreSQL did not drop the database ({type(exc).__name__}): is it running? (make infra)"
        return preflight.report("make reset", [why])
    if problem := delete_vhost(preflight.vhost_of(amqp_url)):
        return preflight.report("make reset", [problem])
    print("deleted; `make run` starts a fresh demo academy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
