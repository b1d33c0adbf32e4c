"""What the scheduler does: each use case opens its transaction, takes its locks, writes its events.

Creating a class talks to the Meet API first, outside any transaction: a failed call stores
nothing. The checks then run again under the teacher's lock, with the class and its
class.scheduled event written in one transaction. Every directory change is stored with its
`<kind>.upserted` event in one transaction (outbox).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import asyncpg
import structlog

from academy_common import outbox
from academy_common.bus import PermanentError
from academy_common.contracts import ClassFinalized, FetchFailed
from scheduler import messages, ticker
from scheduler.classes import (
    ClassChanges,
    Plan,
    StudentRef,
    TeacherRef,
    cancel,
    check_editable,
    check_no_overlap,
    check_roster,
    check_timing,
    realize,
    revise,
)
from scheduler.directory import STUDENT, Changes, Entry, Kind, apply
from scheduler.errors import Conflict, NotFound
from scheduler.meet import Spaces, obtain_space
from scheduler.repository import classes as classes_repo
from scheduler.repository import directory as directory_repo
from scheduler.repository import occurrences as occurrences_repo
from scheduler.settings import Settings
from scheduler.ticker import Clock, Emitted

log = structlog.get_logger(__name__)


class Context(Protocol):
    """What the use cases run with (the service in production, see `scheduler.app`)."""

    pool: asyncpg.Pool
    settings: Settings
    meet: Spaces
    clock: Clock


# -- classes ---------------------------------------------------------------------------------

async def _check(conn: asyncpg.Connection, plan: Plan, ctx: Context, *,
                 exclude: int | None = None) -> tuple[TeacherRef, dict[int, StudentRef]]:
    """Every rule a plan must pass; returns the roster it names."""
    check_timing(plan, ctx.clock(), ctx.settings.start_tolerance_s)
    teacher, students = await classes_repo.load_refs(conn, plan)
    check_roster(plan, teacher, students)
    check_no_overlap(plan, await classes_repo.clashes(conn, plan, exclude=exclude))
    return teacher, students


async def schedule_class(ctx: Context, plan: Plan, meeting_code: str | None) -> dict:
    async with ctx.pool.acquire() as conn:
        teacher, _ = await _check(conn, plan, ctx)
    space = await obtain_space(ctx.meet, meeting_code, teacher.email)
    async with ctx.pool.acquire() as conn, conn.transaction():
        await classes_repo.lock_teacher(conn, plan.teacher_id)
        teacher, students = await _check(conn, plan, ctx)
        class_id = await classes_repo.add(conn, plan, space)
        cls = realize(plan, class_id=class_id, version=1, space=space, teacher=teacher, students=students)
        await outbox.enqueue(conn, messages.class_changed("class.scheduled", cls, ctx.clock()))
    log.info("class scheduled", class_id=class_id, space_name=space.name, start=plan.start.isoformat())
    return await class_view(ctx, class_id)


async def update_class(ctx: Context, class_id: int, changes: ClassChanges) -> dict:
    async with ctx.pool.acquire() as conn, conn.transaction():
        current, started = await classes_repo.get(conn, class_id, for_update=True)
        now = ctx.clock()
        check_editable(current, started, now)
        plan = revise(current, changes)
        if plan != current.plan:
            await classes_repo.lock_teacher(conn, plan.teacher_id)
            teacher, students = await _check(conn, plan, ctx, exclude=class_id)
            cls = realize(plan, class_id=class_id, version=current.version + 1, space=current.space,
                          teacher=teacher, students=students)
            await classes_repo.save(conn, cls)
            await outbox.enqueue(conn, messages.class_changed("class.updated", cls, now))
            log.info("class updated", class_id=class_id, version=cls.version)
    return await class_view(ctx, class_id)


async def cancel_class(ctx: Context, class_id: int) -> dict:
    async with ctx.pool.acquire() as conn, conn.transaction():
        current, started = await classes_repo.get(conn, class_id, for_update=True)
        now = ctx.clock()
        cancelled = cancel(current, started, now)
        if cancelled is not None:
            await classes_repo.save(conn, cancelled)
            await outbox.enqueue(conn, messages.class_changed("class.cancelled", cancelled, now))
            log.info("class cancelled", class_id=class_id, version=cancelled.version)
    return await class_view(ctx, class_id)


def _retry_window(ctx: Context) -> timedelta:
    return timedelta(seconds=ctx.settings.policy.retry_window_s)


async def class_views(ctx: Context, **filters: Any) -> list[dict]:
    """What the API shows of the classes `filters` select (see `repository.classes.views`)."""
    async with ctx.pool.acquire() as conn:
        return await classes_repo.views(conn, ctx.clock(), _retry_window(ctx), **filters)


async def class_view(ctx: Context, class_id: int) -> dict:
    views = await class_views(ctx, class_id=class_id)
    if not views:
        raise NotFound(f"class {class_id} does not exist")
    return views[0]


# -- directory -------------------------------------------------------------------------------

async def add_entry(ctx: Context, kind: Kind, *, name: str, email: str, family_id: int | None) -> Entry:
    async with ctx.pool.acquire() as conn, conn.transaction():
        entry = await directory_repo.add(conn, kind, name=name, email=email, family_id=family_id)
        await outbox.enqueue(conn, messages.upserted(entry, ctx.clock()))
    log.info(f"{kind.name} created", **{kind.id_key: entry.id})
    return entry


async def change_entry(ctx: Context, kind: Kind, entry_id: int, changes: Changes) -> Entry:
    """The entry after `changes` (as it was when they change nothing)."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        entry = await directory_repo.get(conn, kind, entry_id, for_update=True)
        changed = apply(entry, changes)
        if changed is not None:
            await _store_change(conn, entry, changed)
            await outbox.enqueue(conn, messages.upserted(changed, ctx.clock()))
            log.info(f"{kind.name} changed", **{kind.id_key: entry_id}, version=changed.version)
    return changed or entry


async def _store_change(conn: asyncpg.Connection, before: Entry, after: Entry) -> None:
    if after.kind is STUDENT and after.family_id != before.family_id:
        await directory_repo.check_family(conn, after.family_id)
    await directory_repo.save(conn, after)


async def find_entries(ctx: Context, kind: Kind, **filters: Any) -> list[Entry]:
    async with ctx.pool.acquire() as conn:
        return await directory_repo.find(conn, kind, **filters)


async def get_entry(ctx: Context, kind: Kind, entry_id: int) -> Entry:
    async with ctx.pool.acquire() as conn:
        return await directory_repo.get(conn, kind, entry_id)


# -- monitoring ------------------------------------------------------------------------------

async def sync_participants(ctx: Context, class_id: int) -> Emitted:
    emitted = await ticker.request_manual(ctx.pool, class_id, ctx.settings.policy, ctx.clock())
    log.info("manual sync requested", class_id=class_id, request_id=emitted.occurrence.event_id)
    return emitted


async def sync_all_active(ctx: Context) -> list[Emitted]:
    now = ctx.clock()
    requested = []
    for class_id in await occurrences_repo.active_class_ids(ctx.pool, now):
        try:
            requested.append(await ticker.request_manual(ctx.pool, class_id, ctx.settings.policy, now))
        except Conflict:  # cancelled since the listing: nothing to sync
            continue
    log.info("manual sync of active classes requested", classes=[e.occurrence.class_id for e in requested])
    return requested


@dataclass(frozen=True)
class JobsStatus:
    now: datetime
    last_run: asyncpg.Record | None
    last_requests: dict[str, datetime | None]
    phase_counts: dict[str, int]
    failed_class_ids: list[int]


async def jobs_status(ctx: Context) -> JobsStatus:
    now, window = ctx.clock(), _retry_window(ctx)
    run = await occurrences_repo.last_run(ctx.pool)
    async with ctx.pool.acquire() as conn:
        counts = await classes_repo.phase_counts(conn, now, window)
        failed = await classes_repo.failed_class_ids(conn, now, window)
    return JobsStatus(now, run, await occurrences_repo.last_requests(ctx.pool, ticker.FETCH_REASONS), counts, failed)


# -- what the scheduler hears back (each in the bus handler's transaction) -------------------

async def record_fetch_failure(conn: asyncpg.Connection, failure: FetchFailed) -> None:
    """Record the error on the class, and on the request it answers (the ticker's retry backoff reads it)."""
    error: dict[str, Any] = {**failure.error.model_dump(), "request_id": failure.request_id,
                             "reason": failure.reason, "retryable": failure.retryable}
    if not await classes_repo.record_fetch_failure(conn, failure.class_id, failure.request_id,
                                                   failure.failed_at, failure.retryable, error):
        raise PermanentError(f"meet.fetch_failed for unknown class {failure.class_id}")
    log.warning("fetch failed", class_id=failure.class_id, request_id=failure.request_id,
                reason=failure.reason, retryable=failure.retryable, error=failure.error.message)


async def finalize_class(conn: asyncpg.Connection, final: ClassFinalized) -> None:
    """The class is complete: no more retries (a later re-finalization keeps the first time)."""
    if not await classes_repo.mark_finalized(conn, final.class_id, final.finalized_at):
        raise PermanentError(f"attendance.class.finalized for unknown class {final.class_id}")
    log.info("class finalized", class_id=final.class_id, session_id=final.session_id)
