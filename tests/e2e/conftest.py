"""The whole system as separate processes (scripts/system.py) against the Meet emulator."""
from __future__ import annotations

import contextlib

import pytest_asyncio

from scripts.system import SERVICES, System, free_port
from tests.support.isolation import isolation  # noqa: F401 (for modules that need a run of their own)

TOKENS = "admin=e2e-admin-token-0001,billing=e2e-billing-token-01,viewer=e2e-viewer-token-001"
ADMIN = {"Authorization": "Bearer e2e-admin-token-0001"}
BILLING = {"Authorization": "Bearer e2e-billing-token-01"}
FAST = {
    "TICK_INTERVAL_S": "0.2", "FETCH_INTERVAL_S": "4", "RETRY_INTERVAL_S": "2", "RETRY_MAX_GAP_S": "4",
    "FINALIZE_GRACE_S": "60", "LATE_THRESHOLD_S": "5", "EARLY_LEAVE_THRESHOLD_S": "5",
    "OUTBOX_POLL_S": "0.2", "CONSUMER_RETRY_DELAY_S": "0.5", "ACADEMY_TIMEZONE": "UTC", "LOG_FORMAT": "json",
}


class LogBook:
    """Keeps every line the processes print, to show on failure."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, name: str, line: str) -> None:
        self.lines.append(f"{name}: {line}")

    def tail(self, n: int = 80) -> str:
        return "\n".join(self.lines[-n:])


@contextlib.asynccontextmanager
async def running_system(database_url: str, amqp_url: str, env: dict[str, str] | None = None, **options):
    """A started System on free ports with a LogBook (shown if start fails); stops it cleanly after."""
    logbook = LogBook()
    system = System(database_url=database_url, amqp_url=amqp_url, api_tokens=TOKENS, env={**FAST, **(env or {})},
                    ports={name: free_port() for name in SERVICES}, sink=logbook, **options)
    system.logbook = logbook
    try:
        await system.start()
    except Exception:
        print(logbook.tail(200))
        await system.stop()
        raise
    try:
        yield system
    finally:
        codes = await system.stop()
    assert all(code == 0 for code in codes.values()), f"unclean stop {codes}\n{logbook.tail()}"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def system(database_url, amqp_url):
    async with running_system(database_url, amqp_url) as started:
        yield started
