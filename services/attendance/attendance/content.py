"""What a log says on the bus and in the API, and which logs changed since they were stored.

A log's `content` is its `attendance.log.updated` payload without `log_id` and `version`.
Its version grows, and an event goes out, only when that content changes.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from academy_common.events import rfc3339
from attendance.corrections import Overrides
from attendance.model import ClassContext, ComputedLog

_NOTHING_ATTENDED = {
    "first_join": None, "last_leave": None, "joins": 0, "attended_seconds": 0, "billable_seconds": 0,
    "status": "absent", "late": False, "left_early": False,
}


@functools.lru_cache(maxsize=1024)  # the same for every log of the class; callers copy it
def _class_fields(ctx: ClassContext) -> dict:
    return {
        "class_id": ctx.class_id, "session_id": ctx.session_id,
        "scheduled_start": rfc3339(ctx.window.start), "scheduled_end": rfc3339(ctx.window.end),
        "final_reason": ctx.final_reason,
    }


def computed_content(ctx: ClassContext, log: ComputedLog, *, final: bool) -> dict:
    """The log as the sessions say, before any correction."""
    p = log.person
    return {
        **_class_fields(ctx),
        "person_key": p.person_key, "role": p.role,
        "teacher_id": p.teacher_id, "student_id": p.student_id, "family_id": p.family_id,
        "email": p.email, "display_name": p.display_name,
        "first_join": rfc3339(log.first_join), "last_leave": rfc3339(log.last_leave), "joins": log.joins,
        "attended_seconds": log.attended_seconds, "billable_seconds": log.billable_seconds,
        "status": log.status, "late": log.late, "left_early": log.left_early,
        "final": final, "corrected": False, "billable_override": False, "correction_reason": None,
        "removed": False,
    }


def vacated(ctx: ClassContext, previous: dict, *, final: bool) -> dict:
    """A log whose person no longer belongs to the class (left the roster, or a guest now
    identified): kept with its id, emptied and marked removed so no consumer counts it twice."""
    return {**previous, **_class_fields(ctx), **_NOTHING_ATTENDED, "final": final, "removed": True}


def effective_content(computed: dict, overrides: Overrides) -> dict:
    """The computed log under the overrides. `billable_override`: billing more than was
    attended, which only an explicit correction can do (or later data that undid the attendance)."""
    billable = computed["billable_seconds"] if overrides.billable_seconds is None else overrides.billable_seconds
    return {
        **computed,
        "billable_seconds": billable,
        "status": overrides.status or computed["status"],
        "corrected": overrides.corrected,
        "billable_override": billable > computed["attended_seconds"],
        "correction_reason": overrides.reason if overrides.corrected else None,
    }


def payload(log_id: int, version: int, content: dict) -> dict:
    return {"log_id": log_id, "version": version, **content}


@dataclass(frozen=True)
class StoredLog:
    log_id: int
    version: int
    computed: dict
    content: dict
    overrides: Overrides = field(default_factory=Overrides)


@dataclass(frozen=True)
class LogWrite:
    person_key: str
    log_id: int | None  # None: a new log
    version: int
    computed: dict
    content: dict
    log: ComputedLog | None  # None: vacated
    changed: bool


def reconcile(ctx: ClassContext, stored: Mapping[str, StoredLog], computed: Sequence[ComputedLog], *,
              final: bool) -> list[LogWrite]:
    """One write per log of the class, new or stored; `changed` ones get a new version."""
    writes = []
    fresh = {log.person.person_key: log for log in computed}
    for key in [*fresh, *(k for k in stored if k not in fresh)]:
        log, before = fresh.get(key), stored.get(key)
        if log is not None:
            base = computed_content(ctx, log, final=final)
        else:
            base = vacated(ctx, before.computed, final=final)
        content = effective_content(base, before.overrides if before else Overrides())
        if before is None:
            writes.append(LogWrite(key, None, 1, base, content, log, changed=True))
        else:
            changed = content != before.content
            version = before.version + 1 if changed else before.version
            writes.append(LogWrite(key, before.log_id, version, base, content, log, changed))
    return writes
