"""What attendance does, each in the caller's transaction: store input, recompute, publish changes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import asyncpg
import structlog

from academy_common import outbox

from attendance import repository
from attendance.content import effective_content, payload, reconcile
from attendance.corrections import Correction, apply, audited
from attendance.identity import email_identity, identity_keys, user_identity
from attendance.merge import compute_logs, is_final
from attendance.messages import ClassSnapshot, ParticipantsFetched, class_finalized, log_updated
from attendance.metrics import LOGS_UPDATED
from attendance.model import Policy

log = structlog.get_logger(__name__)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class LogNotFound(LookupError):
    pass


class UnknownPerson(LookupError):
    pass


@dataclass(frozen=True)
class Recomputed:
    outcome: str  # pending_class | cancelled | no_snapshot | changed | unchanged
    changed_logs: int = 0
    finalized: bool = False


async def recompute_class(conn: asyncpg.Connection, class_id: int, policy: Policy, now: datetime) -> Recomputed:
    """Recompute every log of the class under its row lock; outbox an event per changed log,
    and `attendance.class.finalized` the first time the class is final."""
    state = await repository.lock_class(conn, class_id)
    waiting = "pending_class" if state is None else state.waiting_for()
    if waiting:
        return Recomputed(waiting)
    records = await repository.load_records(conn, class_id)
    roster = await repository.load_roster(conn, class_id)
    mappings = await repository.load_mappings(
        conn, (key for r in records for p in r.participants for key in identity_keys(p)))
    final = state.final or is_final(state.window, state.fetch, policy.finalize_grace)
    computed = compute_logs(state.window, roster, records, mappings, policy, fetched_at=state.fetch.last_fetched_at,
                            final=final, space_name=state.space_name)
    ctx = state.context()
    writes = reconcile(ctx, await repository.lock_logs(conn, class_id), computed, final=final)
    log_ids = await repository.save_logs(conn, ctx, writes)
    updates = [log_updated(payload(log_ids[w.person_key], w.version, w.content)) for w in writes if w.changed]
    await outbox.enqueue(conn, *updates)
    LOGS_UPDATED.inc(len(updates))
    finalizing = final and not state.final
    if finalizing:
        await repository.mark_final(conn, class_id, now)
        await outbox.enqueue(conn, class_finalized(ctx, now, await repository.class_payloads(conn, class_id)))
    log.info("class recomputed", class_id=class_id, logs=len(computed), changed=len(updates), final=final,
             finalized=finalizing)
    return Recomputed("changed" if updates else "unchanged", len(updates), finalizing)


async def apply_class_snapshot(conn: asyncpg.Connection, snapshot: ClassSnapshot, *, cancelled: bool,
                               policy: Policy, now: datetime) -> Recomputed | None:
    """A newer class snapshot (roster, window, status) recomputes the class; an older one is ignored."""
    await repository.share_mappings(conn)
    if not await repository.apply_class_snapshot(conn, snapshot, cancelled=cancelled):
        log.info("stale class snapshot ignored", class_id=snapshot.class_id, version=snapshot.version)
        return None
    return await recompute_class(conn, snapshot.class_id, policy, now)


async def record_participants(conn: asyncpg.Connection, snapshot: ParticipantsFetched, *, policy: Policy,
                              now: datetime) -> Recomputed:
    """Store the snapshot's sessions whatever we know of the class; logs follow once we know it."""
    await repository.share_mappings(conn)
    await repository.store_snapshot(conn, snapshot)
    return await recompute_class(conn, snapshot.class_id, policy, now)


async def correct_log(conn: asyncpg.Connection, log_id: int, correction: Correction, *, requested_by: str) -> None:
    """Override a log's values; the audit row keeps what was shown and what was computed."""
    found = await repository.lock_log(conn, log_id)
    if found is None:
        raise LogNotFound(log_id)
    state, stored = found
    overrides = apply(stored.overrides, correction, state.window)
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
    for class_id in class_ids:  # ascending ids: a fixed lock order
        await recompute_class(conn, class_id, policy, now)
    log.info("identity mapped", identities=identities, person_key=person_key, classes=class_ids)
    return class_ids
