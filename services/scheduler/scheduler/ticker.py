"""The ticker: applies what `timetable.due` says, class by class, exactly once across replicas.

Each class is advanced in one transaction: lock the class row, read its progress, insert each
due occurrence with ON CONFLICT DO NOTHING and, only for the rows inserted, write the event to
the outbox. A replica that dies mid-tick rolls back that class only; the next tick (of any
replica) finds the same occurrences still due and emits them.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import structlog
from prometheus_client import Counter

from academy_common import outbox
from scheduler import messages
from scheduler.errors import Conflict
from scheduler.repository import occurrences as repo
from scheduler.settings import Settings
from scheduler.timetable import Occurrence, TickPolicy, due, manual

log = structlog.get_logger(__name__)

TICKS = Counter("scheduler_ticks_total", "Ticker runs")
FETCH_REQUESTS = Counter("scheduler_fetch_requests_total", "class.fetch_requested events emitted", ["reason"])
TRANSITIONS = Counter("scheduler_transitions_total", "class.started / class.ended events emitted", ["kind"])
FETCH_REASONS = ("active", "final", "retry", "manual")
for _reason in FETCH_REASONS:  # every series exists from the start, at 0
    FETCH_REQUESTS.labels(_reason)
for _kind in ("started", "ended"):
    TRANSITIONS.labels(_kind)

Clock = Callable[[], datetime]
# The database or the network is gone: no point trying the other classes of this tick.
_UNREACHABLE = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError)


@dataclass(frozen=True)
class Emitted:
    occurrence: Occurrence
    session_id: str

    def describe(self) -> dict:
        o = self.occurrence
        return {"class_id": o.class_id, "session_id": self.session_id, "request_id": o.event_id,
                "reason": o.reason, "attempt": o.attempt}


async def tick(pool: asyncpg.Pool, policy: TickPolicy, now: datetime) -> tuple[int, int]:
    """Advance every class that may owe something at `now`: (classes looked at, events emitted)."""
    retry_window = timedelta(seconds=policy.retry_window_s)
    ids = await repo.candidate_ids(pool, now, retry_window)
    emitted = 0
    for class_id in ids:
        with structlog.contextvars.bound_contextvars(class_id=class_id):
            try:
                emitted += len(await advance(pool, class_id, policy, now))
            except _UNREACHABLE:
                raise
            except Exception:  # one broken class must not stop the others
                log.exception("could not advance class")
    TICKS.inc()
    return len(ids), emitted


async def advance(pool: asyncpg.Pool, class_id: int, policy: TickPolicy, now: datetime) -> list[Emitted]:
    async with pool.acquire() as conn, conn.transaction():
        emitted = await _advance(conn, await repo.locked_class(conn, class_id), policy, now)
    _count(emitted)
    return emitted


async def request_manual(pool: asyncpg.Pool, class_id: int, policy: TickPolicy, now: datetime) -> Emitted:
    """A fetch request with reason `manual` (after any transition that is due, e.g. the start)."""
    async with pool.acquire() as conn, conn.transaction():
        row = await repo.locked_class(conn, class_id)
        if row["status"] == "cancelled":
            raise Conflict(f"class {class_id} is cancelled")
        if now < row["start_at"]:
            raise Conflict(f"class {class_id} has not started yet")
        emitted = await _advance(conn, row, policy, now)
        seq = await repo.next_manual_seq(conn)
        emitted += await _emit(conn, row, [manual(class_id, seq, now)], now)
    _count(emitted)
    return emitted[-1]


async def run(pool: asyncpg.Pool, settings: Settings, clock: Clock) -> None:
    """The background job: tick every TICK_INTERVAL_S and record the run for /monitoring/status."""
    log.info("ticker job", tick_interval_s=settings.tick_interval_s, fetch_interval_s=settings.fetch_interval_s,
             retry_interval_s=settings.retry_interval_s, retry_max_gap_s=settings.retry_max_gap_s,
             retry_window_days=settings.retry_window_days)
    while True:
        started = clock()
        try:
            classes, emitted = await tick(pool, settings.policy, started)
            await repo.record_run(pool, started, clock(), classes, emitted)
        except (*_UNREACHABLE, asyncpg.PostgresError) as exc:
            log.warning("tick failed, will retry", error=f"{type(exc).__name__}: {exc}")
        await asyncio.sleep(settings.tick_interval_s)


async def _advance(conn: asyncpg.Connection, row: asyncpg.Record, policy: TickPolicy,
                   now: datetime) -> list[Emitted]:
    progress = await repo.progress(conn, row)
    return await _emit(conn, row, due(progress, now, policy), now)


async def _emit(conn: asyncpg.Connection, row: asyncpg.Record, occurrences: list[Occurrence],
                now: datetime) -> list[Emitted]:
    live = messages.LiveClass(
        class_id=row["id"], session_id=messages.session_id(row["id"]),
        start=row["start_at"], end=row["end_at"], space_name=row["space_name"],
        meeting_code=row["meeting_code"], organizer_email=row["organizer_email"])
    emitted: list[Emitted] = []
    for occurrence in occurrences:
        if not await repo.insert_occurrence(conn, occurrence, now):
            continue
        if occurrence.kind == "started":
            await repo.open_session(conn, live.class_id, live.session_id, now)
        elif occurrence.kind == "ended":
            await repo.close_session(conn, live.class_id, now)
        await outbox.enqueue(conn, messages.occurred(occurrence, live, now))
        emitted.append(Emitted(occurrence, live.session_id))
        log.info("class occurrence", class_id=live.class_id, kind=occurrence.kind, reason=occurrence.reason,
                 seq=occurrence.seq, event_id=occurrence.event_id)
    return emitted


def _count(emitted: list[Emitted]) -> None:
    """Metrics only after the commit: a rolled-back transaction emitted nothing."""
    for e in emitted:
        if e.occurrence.kind == "fetch":
            FETCH_REQUESTS.labels(e.occurrence.reason).inc()
        else:
            TRANSITIONS.labels(e.occurrence.kind).inc()
