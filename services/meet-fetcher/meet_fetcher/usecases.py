"""What the fetcher does: one fetch and its answer on the bus, and pruning the caches.

A fetch is the complete snapshot of a class's conference records, or a MeetApiError. Every listing runs to its last page; any failure (after the client's retries) aborts the whole
fetch, so a partial snapshot never leaves this module. The rules deciding what may be reused
from the class's last snapshot are in `snapshot` (pure).
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import asyncpg
import structlog

from academy_common.bus import Bus
from academy_common.contracts import FetchRequested
from academy_common.meet_api import ConferenceRecord, MeetApiError, MeetClient, Participant
from meet_fetcher import snapshot as snap
from meet_fetcher.messages import failed_event, fetched_event
from meet_fetcher.repository import Cache

log = structlog.get_logger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class FetchResult:
    snapshot: snap.Snapshot
    fetched_at: datetime


class Fetcher:
    def __init__(self, client: MeetClient, cache: Cache | None, *, incremental: bool = True):
        """`cache` may be None only when not `incremental` (fetch everything, remember nothing)."""
        self.client, self.cache, self.incremental = client, cache, incremental

    async def fetch(self, request: FetchRequested) -> FetchResult:
        snapshot = await _Fetch(self, request).run()
        fetched_at = datetime.now(UTC)
        if self.incremental:
            await self.cache.save_snapshot(request.class_id, request.session_id, snapshot, fetched_at)
        return FetchResult(snapshot, fetched_at)


async def fetch_and_publish(bus: Bus, fetcher: Fetcher, request: FetchRequested,
                            request_id: str) -> tuple[str, dict]:
    """Publish the answer; return the outcome and what the fetch log line says about it."""
    try:
        result = await fetcher.fetch(request)
    except MeetApiError as error:
        await bus.publish(failed_event(request, request_id, error, datetime.now(UTC)))
        return "failed", {"error": error.as_dict(), "retryable": error.retryable}
    await bus.publish(fetched_event(request, request_id, result.snapshot, result.fetched_at))
    snapshot = result.snapshot
    return "ok", {"records": len(snapshot.records), "all_ended": snapshot.all_ended,
                  "participants": sum(len(r.participants) for r in snapshot.records)}


async def prune_caches(cache: Cache, snapshot_ttl: timedelta, interval_s: float) -> None:
    """Forever: drop expired snapshots and emails; a database outage only delays the next round."""
    while True:
        try:
            gone = await cache.prune(snapshot_ttl)
            if gone:
                log.info("caches pruned", rows=gone)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("cache pruning failed, will retry", error=repr(exc))
        await asyncio.sleep(interval_s)


class _Fetch:
    """The state of one fetch: the request, the previous snapshot, listings already made."""

    def __init__(self, fetcher: Fetcher, request: FetchRequested):
        self.client, self.cache, self.incremental = fetcher.client, fetcher.cache, fetcher.incremental
        self.request = request
        self.subject = request.organizer_email
        self.previous: snap.Snapshot | None = None
        self.listed: dict[str, list[Participant]] = {}

    async def run(self) -> snap.Snapshot:
        r = self.request
        space_name = r.space_name or (await self.client.get_space(r.meeting_code, subject=self.subject)).name
        if self.incremental:
            self.previous = await self.cache.last_snapshot(r.class_id, space_name)
        heads = await self._records(space_name)
        heads = [h for h in heads if snap.overlaps(h.start_time, h.end_time, r.window_start, r.window_end)]
        snapshot = snap.snapshot_of(space_name, await _all(self._record(head) for head in heads))
        return snap.with_emails(snapshot, await self._emails(snap.signed_in_users(snapshot)))

    async def _records(self, space_name: str) -> list[ConferenceRecord]:
        probe = snap.record_to_probe(self.previous, self.request.reason)
        if probe is not None:
            participants = await self._participants(probe.name)
            if snap.still_in_progress(participants):
                return [snap.record_head(r, space_name) for r in self.previous.records]
        return await self.client.list_conference_records(
            space_name, self.request.window_start, self.request.window_end, subject=self.subject)

    async def _record(self, head: ConferenceRecord) -> snap.RecordEntry:
        cached = self.previous.record(head.name) if self.previous else None
        if snap.record_settled(cached, head, self.request.reason):
            return cached
        cached_participants = {p.name: p for p in cached.participants} if cached else {}
        participants = await self._participants(head.name)
        entries = await _all(self._participant(p, cached_participants.get(p.name)) for p in participants)
        return snap.record_entry(head, entries)

    async def _participants(self, record_name: str) -> list[Participant]:
        if record_name not in self.listed:
            self.listed[record_name] = await self.client.list_participants(record_name, subject=self.subject)
        return self.listed[record_name]

    async def _participant(self, fresh: Participant, cached: snap.ParticipantEntry | None) -> snap.ParticipantEntry:
        if snap.sessions_reusable(cached, fresh, self.request.reason):
            sessions = cached.sessions
        else:
            sessions = snap.session_entries(await self.client.list_sessions(fresh.name, subject=self.subject))
        return snap.participant_entry(fresh, sessions)

    async def _emails(self, users: list[str]) -> dict[str, str | None]:
        known = await self.cache.emails(users) if self.incremental and users else {}
        missing = [u for u in users if u not in known]
        if missing:
            resolved = await self.client.emails(missing, subject=self.subject)
            if self.incremental:
                await self.cache.save_emails(resolved)
            known.update(resolved)
        return known


async def _all(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    """Run concurrently; the first failure cancels the others and is raised as itself."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(a) for a in awaitables]
    except BaseExceptionGroup as failed:
        raise _first_leaf(failed) from None
    return [t.result() for t in tasks]


def _first_leaf(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error
