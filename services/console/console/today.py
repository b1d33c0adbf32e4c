"""The Today board's rules (no I/O): which day, each class's state, who is in the call, and
the teacher-missing flag."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

# The scheduler's phases, as the board names them.
STATE_OF_PHASE = {"scheduled": "scheduled", "active": "in_progress", "awaiting_data": "ended",
                  "failed": "ended", "complete": "final", "cancelled": "cancelled"}
STATE_LABELS = {"scheduled": "Scheduled", "in_progress": "In progress", "ended": "Ended",
                "final": "Final", "cancelled": "Cancelled"}


@dataclass(frozen=True)
class Row:
    class_id: int
    title: str
    start: datetime
    end: datetime
    state: str
    teacher: str
    in_call: tuple[str, ...]
    teacher_missing: bool
    fetch_problem: str | None


def day_of(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The academy's calendar day around `now`, as [start, end) instants."""
    local = now.astimezone(zone).date()
    start = datetime.combine(local, time(), zone)
    return start, datetime.combine(local + timedelta(days=1), time(), zone)


def in_call(logs: list[dict]) -> tuple[str, ...]:
    """Who is in the call now: a provisional log that has joined and not left."""
    return tuple(sorted(_name(log) for log in logs
                        if not log.get("final") and log.get("first_join") and not log.get("last_leave")))


def teacher_missing(lesson: dict, logs: list[dict], now: datetime, after: timedelta) -> bool:
    """The class started `after` ago or more, is not over or cancelled, and its teacher never joined."""
    if lesson.get("phase") in ("cancelled", "complete", "scheduled"):
        return False
    if now < _instant(lesson["scheduled_start"]) + after:
        return False
    return not any(log.get("role") == "teacher" and log.get("first_join") for log in logs)


def fetch_problem(lesson: dict) -> str | None:
    fetch = lesson.get("fetch") or {}
    error = fetch.get("last_error")
    if lesson.get("phase") == "failed":
        return "no attendance: the fetch window passed" + (f" ({error.get('message')})" if error else "")
    return f"last fetch failed: {error.get('message') or error.get('kind')}" if error else None


def row(lesson: dict, logs: list[dict], now: datetime, after: timedelta) -> Row:
    return Row(lesson["id"], lesson["title"], _instant(lesson["scheduled_start"]), _instant(lesson["scheduled_end"]),
               STATE_OF_PHASE.get(lesson.get("phase", ""), "scheduled"), (lesson.get("teacher") or {}).get("name", ""),
               in_call(logs), teacher_missing(lesson, logs, now, after), fetch_problem(lesson))


def board(lessons: list[dict], logs_by_class: dict[int, list[dict]], day: tuple[datetime, datetime],
          now: datetime, after: timedelta) -> list[Row]:
    """Today's classes by start (then id): those whose start falls in `day`."""
    start, end = day
    todays = [lesson for lesson in lessons if start <= _instant(lesson["scheduled_start"]) < end]
    rows = [row(lesson, logs_by_class.get(lesson["id"], []), now, after) for lesson in todays]
    return sorted(rows, key=lambda r: (r.start, r.class_id))


def _name(log: dict) -> str:
    return log.get("display_name") or log.get("email") or "someone"


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)
