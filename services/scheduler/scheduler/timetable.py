"""What the ticker owes a class at a given moment: a pure function of the class's progress.

Every transition and every fetch request is an `Occurrence` with a natural key
(class_id, kind, reason, seq). The adapter inserts occurrences with ON CONFLICT DO NOTHING and
emits the event only for the rows it inserted, with an id derived from the key, so replicas
racing on the same class emit each occurrence exactly once.

Fetch slots:
- active: slot n is due at start + n·FETCH_INTERVAL while the class runs; after downtime only
  the current slot is due (each snapshot is complete, missed ones add nothing);
- final: once, at the end;
- retry: slot n is due at end + RETRY_INTERVAL·2^(n−1), gaps capped at RETRY_MAX_GAP, while
  within RETRY_WINDOW of the end and the class is not finalized. A slot that passed before the
  last request went out is covered by it. When the fetcher reports that the last final/retry
  request failed (and retrying can help), the next retry is due as soon as the backoff allows:
  RETRY_INTERVAL·2^(f−1) after that request, f being the failures in a row.
  A retry after which no retry slot is due within RETRY_WINDOW is the `last_attempt`: the
  request says so, the snapshot answering it too, and attendance finalizes a class whose call
  was never found (reason `no_meeting_found`) on it — never earlier, so it never gives up on
  a call that may still show up.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from academy_common.events import deterministic_id

Kind = Literal["started", "ended", "fetch"]
Reason = Literal["", "active", "final", "retry", "manual"]

_US = 1_000_000


def _us(seconds: float) -> int:
    return max(1, round(seconds * _US))


def _elapsed_us(since: datetime, now: datetime) -> int:
    return (now - since) // timedelta(microseconds=1)


@dataclass(frozen=True)
class TickPolicy:
    fetch_interval_s: float
    retry_interval_s: float
    retry_max_gap_s: float
    retry_window_s: float

    def retry_gap_us(self, n: int) -> int:
        """The wait before retry n (n ≥ 1): RETRY_INTERVAL, then doubling, never above the cap."""
        interval, cap = _us(self.retry_interval_s), _us(self.retry_max_gap_s)
        if n <= 2:
            return min(interval, cap)
        # Doubling overflows nothing here: n is bounded by the window, the exponent by the cap.
        exponent = min(n - 2, cap.bit_length())
        return min(interval << exponent, cap)

    def backoff_us(self, failures_in_a_row: int) -> int:
        exponent = min(max(failures_in_a_row - 1, 0), _us(self.retry_max_gap_s).bit_length())
        return min(_us(self.retry_interval_s) << exponent, _us(self.retry_max_gap_s))


def retry_offset_us(n: int, policy: TickPolicy) -> int:
    """How long after the end retry slot n (n ≥ 1) is due."""
    offset, k = 0, 0
    while k < n:
        k += 1
        gap = policy.retry_gap_us(k)
        if gap == _us(policy.retry_max_gap_s):  # from here on every gap is the cap
            return offset + (n - k + 1) * gap
        offset += gap
    return offset


def retry_slot(elapsed_us: int, policy: TickPolicy) -> int:
    """The last retry slot due `elapsed_us` after the end (0: none yet)."""
    n, offset = 0, 0
    while True:
        gap = policy.retry_gap_us(n + 1)
        if gap == _us(policy.retry_max_gap_s):
            return n + max(0, (elapsed_us - offset) // gap)
        if offset + gap > elapsed_us:
            return n
        n, offset = n + 1, offset + gap


@dataclass(frozen=True)
class Attempt:
    """A final or retry fetch request already sent, and what the fetcher said about it."""

    reason: Literal["final", "retry"]
    seq: int
    requested_at: datetime
    failed_at: datetime | None = None
    retryable: bool = True


@dataclass(frozen=True)
class Progress:
    """What the ticker knows about one class (attempts in the order they were sent)."""

    class_id: int
    start: datetime
    end: datetime
    cancelled: bool = False
    finalized: bool = False
    started: bool = False
    ended: bool = False
    last_active_seq: int | None = None
    attempts: tuple[Attempt, ...] = ()


@dataclass(frozen=True)
class Occurrence:
    class_id: int
    kind: Kind
    reason: Reason
    seq: int
    due_at: datetime
    last_attempt: bool = field(default=False, compare=False)  # not part of the natural key

    @property
    def event_id(self) -> str:
        return deterministic_id("scheduler", self.class_id, self.kind, self.reason, self.seq)

    @property
    def attempt(self) -> int:
        """1 for the final request, n + 1 for retry n; every other request is its own first try."""
        return self.seq + 1 if self.reason == "retry" else 1


def due(progress: Progress, now: datetime, policy: TickPolicy) -> list[Occurrence]:
    """Occurrences due at `now` and not yet emitted, in the order they must go out."""
    p = progress
    if p.cancelled or now < p.start:
        return []
    found: list[Occurrence] = []
    if not p.started:
        found.append(Occurrence(p.class_id, "started", "", 0, p.start))
    if now < p.end:
        active = _active(p, now, policy)
        return found + ([active] if active else [])
    if not p.ended:
        found.append(Occurrence(p.class_id, "ended", "", 0, p.end))
    if p.finalized:
        return found
    if not p.attempts:
        return found + [Occurrence(p.class_id, "fetch", "final", 0, p.end)]
    retry = _retry(p, now, policy)
    return found + ([retry] if retry else [])


def manual(class_id: int, seq: int, now: datetime) -> Occurrence:
    return Occurrence(class_id, "fetch", "manual", seq, now)


def _active(p: Progress, now: datetime, policy: TickPolicy) -> Occurrence | None:
    interval = _us(policy.fetch_interval_s)
    slot = _elapsed_us(p.start, now) // interval
    if p.last_active_seq is not None and slot <= p.last_active_seq:
        return None
    return Occurrence(p.class_id, "fetch", "active", slot, p.start + timedelta(microseconds=slot * interval))


def _retry(p: Progress, now: datetime, policy: TickPolicy) -> Occurrence | None:
    elapsed = _elapsed_us(p.end, now)
    if elapsed > _us(policy.retry_window_s):
        return None
    last = p.attempts[-1]
    last_seq = max((a.seq for a in p.attempts if a.reason == "retry"), default=0)
    candidates: list[tuple[int, datetime]] = []
    slot = retry_slot(elapsed, policy)
    slot_due = p.end + timedelta(microseconds=retry_offset_us(slot, policy))
    if slot > last_seq and slot_due > last.requested_at:
        candidates.append((slot, slot_due))
    if last.failed_at is not None and last.retryable:
        backoff = timedelta(microseconds=policy.backoff_us(_failures_in_a_row(p.attempts)))
        early = max(last.failed_at, last.requested_at + backoff)
        if early <= now:
            candidates.append((last_seq + 1, early))
    if not candidates:
        return None
    seq, due_at = max(candidates)
    return Occurrence(p.class_id, "fetch", "retry", seq, due_at, last_attempt=is_last_retry(seq, policy))


def is_last_retry(seq: int, policy: TickPolicy) -> bool:
    """No retry slot after `seq` is due strictly within the window (one due exactly at its
    edge may be missed by a tick: then this one must already say it is the last)."""
    return retry_offset_us(seq + 1, policy) >= _us(policy.retry_window_s)


def _failures_in_a_row(attempts: tuple[Attempt, ...]) -> int:
    count = 0
    for attempt in reversed(attempts):
        if attempt.failed_at is None:
            break
        count += 1
    return count
