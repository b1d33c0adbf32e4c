"""Half-open time intervals [start, end): union, clipping, length."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

ZERO = timedelta(0)


@dataclass(frozen=True, order=True)
class Interval:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"interval ends before it starts: {self.start} > {self.end}")

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def empty(self) -> bool:
        return self.end == self.start


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint intervals covering exactly the same instants; touching ones merge."""
    merged: list[Interval] = []
    for current in sorted(i for i in intervals if not i.empty):
        if merged and current.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Interval(last.start, max(last.end, current.end))
        else:
            merged.append(current)
    return merged


def clip(intervals: Iterable[Interval], window: Interval) -> list[Interval]:
    """The parts of `intervals` inside `window` (empty parts dropped)."""
    clipped = []
    for interval in intervals:
        start, end = max(interval.start, window.start), min(interval.end, window.end)
        if start < end:
            clipped.append(Interval(start, end))
    return clipped


def covered(intervals: Iterable[Interval]) -> timedelta:
    """Length of the union: time covered at least once (overlaps count once)."""
    return sum((i.length for i in union(intervals)), ZERO)


def whole_seconds(duration: timedelta) -> int:
    """Seconds, rounded down: a started second is not a second attended (billing relies on it)."""
    return duration // timedelta(seconds=1)
