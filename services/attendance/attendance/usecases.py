"""What attendance does, each in the caller's transaction: store input, recompute, publish changes."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import asyncpg
import structlog

from academy_common import outbox
from academy_common.contracts import ClassEnded, ClassSnapshot, ClassStarted, ParticipantsFetched
from attendance import repository
from attendance.content import LogWrite, StoredLog, effective_content, payload, reconcile
from attendance.corrections import Correction, apply, audited
from attendance.identity import email_identity, identity_keys, participant_identity, user_identity
from attendance.merge import compute_logs, considered, finality
from attendance.messages import DirectoryUpserted, Incoming, class_finalized, entry, log_updated, touch
from attendance.metrics import LOGS_UPDATED
from attendance.model import ClassContext, ClassState, ConferenceRecord, Policy, Roster, latest_entries

log = structlog.get_logger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class LogNotFound(LookupError):
    pass


class UnknownPerson(LookupError):
    pass


class NotAGuest(ValueError):
    """Only a guest log (still in the class) can be mapped to a roster member."""


@dataclass(frozen=True)
class Recomputed:
    outcome: str  # pending_class | cancelled | no_snapshot | changed | unchanged
    changed_logs: int = 0
    finalized: bool = False


async def ingest(conn: asyncpg.Connection, messages: Sequence[Incoming], *, policy: Policy,
                 now: datetime) -> dict[int, Recomputed]:
    """Store what the messages say, then recompute once each class they changed: a newer class
    snapshot (roster, window, status), any participant snapshot, or a newer directory entry of
    a roster member (every class of theirs, final ones too: corrections are kept, and billing
    turns a change in a closed month into an adjustment). Meet data is kept whatever we know
    of the class; its logs follow once the class snapshot has arrived."""
    await repository.share_mappings(conn)
    entries = latest_entries(entry(m) for m in messages if isinstance(m, DirectoryUpserted))
    following = await repository.classes_of(conn, await repository.save_directory(conn, entries))
    for_classes = [m for m in messages if not isinstance(m, DirectoryUpserted)]
    await repository.lock_classes(conn, [touch(m) for m in for_classes], also=following)
    changed: set[int] = set(following)
    for message in for_classes:
        if isinstance(message, ClassSnapshot):
            if await repository.apply_class_snapshot(conn, message, cancelled=message.cancelled):
                changed.add(message.class_id)
            else:
                log.info("stale class snapshot ignored", class_id=message.class_id, version=message.version)
        elif isinstance(message, ClassStarted | ClassEnded):
            await repository.record_lifecycle(conn, message)
    fetched = [m for m in messages if isinstance(m, ParticipantsFetched)]
    await repository.store_snapshots(conn, fetched)
    changed.update(m.class_id for m in fetched)
    return await recompute_classes(conn, changed, policy, now)


@dataclass(frozen=True)
class ClassPlan:
    ctx: ClassContext  # with the final reason once final
    writes: list[LogWrite]
    finalizing: bool
    cancelled: bool = False


def plan(state: ClassState, records: list[ConferenceRecord], roster: Roster, mappings: Mapping[str, str],
         stored: Mapping[str, StoredLog], policy: Policy) -> ClassPlan:
    """The class's logs as its Meet data says now, against what is stored. A cancelled class
    has no attendance: logs computed before the cancellation arrived are vacated, so the
    outcome is the same in whichever order the events come; it is never finalized."""
    ctx = state.context()
    if state.cancelled:
        return ClassPlan(ctx, reconcile(ctx, stored, [], final=state.final), finalizing=False, cancelled=True)
    if not state.final:
        found = bool(considered(records, state.window, policy.join_window, state.space_name))
        ctx = replace(ctx, final_reason=finality(state.window, state.fetch, policy.finalize_grace, call_found=found))
    final = state.final or ctx.final_reason is not None
    computed = compute_logs(state.window, roster, records, mappings, policy, fetched_at=state.fetch.last_fetched_at,
                            final=final, space_name=state.space_name)
    return ClassPlan(ctx, reconcile(ctx, stored, computed, final=final), finalizing=final and not state.final)


async def recompute_classes(conn: asyncpg.Connection, class_ids: Iterable[int], policy: Policy,
                            now: datetime) -> dict[int, Recomputed]:
    """Recompute every log of the classes under their row locks; outbox an event per changed
    log, and `attendance.class.finalized` the first time a class is final."""
    class_ids = sorted(set(class_ids))
    states = await repository.class_states(conn, class_ids)
    results = {class_id: Recomputed("pending_class") for class_id in class_ids if class_id not in states}
    ready = []
    for state in states.values():
        waiting = state.waiting_for()
        if waiting:
            results[state.class_id] = Recomputed(waiting)
        else:
            ready.append(state)
    if ready:
        results.update(await _save(conn, await _plan_all(conn, ready, policy), now))
    return results


async def _plan_all(conn: asyncpg.Connection, ready: list[ClassState], policy: Policy) -> list[ClassPlan]:
    ids = [state.class_id for state in ready]
    records = await repository.load_records(conn, ids)
    rosters = await repository.load_rosters(conn, ids)
    directory = await repository.load_directory(
        conn, (m.person_key for roster in rosters.values() for m in roster.members))
    mappings = await repository.load_mappings(
        conn, (key for found in records.values() for r in found for p in r.participants for key in identity_keys(p)))
    in_class = await repository.load_class_mappings(conn, ids)
    stored = await repository.lock_logs(conn, ids)
    return [plan(s, records[s.class_id], rosters[s.class_id].following(directory),
                 {**mappings, **in_class[s.class_id]}, stored[s.class_id], policy) for s in ready]


async def _save(conn: asyncpg.Connection, plans: list[ClassPlan], now: datetime) -> dict[int, Recomputed]:
    """The logs of every plan in one statement, then their events through the outbox."""
    log_ids = await repository.save_logs(conn, [(p.ctx, w) for p in plans for w in p.writes])
    finalizing = [(p.ctx.class_id, p.ctx.final_reason) for p in plans if p.finalizing]
    if finalizing:
        await repository.mark_final(conn, finalizing, now)
    events, results = [], {}
    for p in plans:
        class_id = p.ctx.class_id
        updates = [log_updated(payload(log_ids[class_id, w.person_key], w.version, w.content))
                   for w in p.writes if w.changed]
        events += updates
        if p.finalizing:
            events.append(class_finalized(p.ctx, now, await repository.class_payloads(conn, class_id)))
        outcome = "cancelled" if p.cancelled else "changed" if updates else "unchanged"
        results[class_id] = Recomputed(outcome, len(updates), p.finalizing)
        log.info("class recomputed", class_id=class_id, logs=len(p.writes), changed=len(updates),
                 finalized=p.finalizing)
    await outbox.enqueue(conn, *events)
    LOGS_UPDATED.inc(sum(r.changed_logs for r in results.values()))
    return results


async def correct_log(conn: asyncpg.Connection, log_id: int, correction: Correction, *, requested_by: str) -> None:
    """Override a log's values; the audit row keeps what was shown and what was computed."""
    found = await repository.lock_log(conn, log_id)
    if found is None:
        raise LogNotFound(log_id)
    state, stored = found
    overrides = apply(stored.overrides, correction, state.window, stored.computed["attended_seconds"])
    await repository.add_correction(conn, log_id, correction, requested_by,
                                    before=audited(stored.content), computed=audited(stored.computed))
    content = effective_content(stored.computed, overrides)
    version = stored.version + 1 if content != stored.content else stored.version
    await repository.save_corrected(conn, log_id, version, overrides, content)
    if version != stored.version:
        await outbox.enqueue(conn, log_updated(payload(log_id, version, content)))
        LOGS_UPDATED.inc()
    log.info("log corrected", log_id=log_id, class_id=state.class_id, version=version)


async def map_identity(conn: asyncpg.Connection, *, meet_user: str | None, email: str | None, person_key: str,
                       policy: Policy, now: datetime) -> list[int]:
    """Remember that a Meet identity is a roster person and recompute every class it was seen in."""
    await repository.own_mappings(conn)
    if not await repository.person_known(conn, person_key):
        raise UnknownPerson(person_key)
    identities = [*([user_identity(meet_user)] if meet_user else []), *([email_identity(email)] if email else [])]
    await repository.save_mappings(conn, identities, person_key)
    class_ids = await repository.classes_seeing(conn, [meet_user] if meet_user else [], [email] if email else [])
    await recompute_classes(conn, class_ids, policy, now)
    log.info("identity mapped", identities=identities, person_key=person_key, classes=class_ids)
    return class_ids


async def map_guest(conn: asyncpg.Connection, *, log_id: int, person_key: str, policy: Policy,
                    now: datetime) -> list[int]:
    """Map a guest of one class (an anonymous or phone participant has no account or email to
    remember) to a member of that class's roster, and recompute the class."""
    await repository.own_mappings(conn)
    found = await repository.guest_participants(conn, log_id)
    if found is None:
        raise LogNotFound(log_id)
    class_id, participants = found
    if not participants:
        raise NotAGuest(f"attendance log {log_id} is not a guest's seen in its class")
    if not await repository.on_roster(conn, class_id, person_key):
        raise UnknownPerson(person_key)
    await repository.save_class_mappings(conn, class_id, [participant_identity(p) for p in participants], person_key)
    await recompute_classes(conn, [class_id], policy, now)
    log.info("guest mapped", log_id=log_id, class_id=class_id, person_key=person_key)
    return [class_id]
