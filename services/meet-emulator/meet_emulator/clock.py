"""Injectable clocks. The emulator only ever asks ``clock.now()`` (aware UTC datetime)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from .timefmt import UTC


class Clock(Protocol):
    def now(self) -> datetime: ...

    def advance(self, seconds: float) -> None: ...

    @property
    def speed(self) -> float: ...


class ScaledClock:
    """Wall clock, optionally running ``speed`` times faster, plus manual jumps.

    now = anchor + (wall elapsed since anchoring) × speed + total advance().
    With speed 1 and no advance() it is the wall clock. Times are *emulated* times: with
    speed 60 an hour of emulated time passes in one wall minute.
    """

    def __init__(
        self,
        speed: float = 1.0,
        *,
        start: datetime | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self._wall = wall
        self._speed = float(speed)
        self._anchor_wall = wall()
        self._anchor = start.astimezone(UTC) if start else datetime.fromtimestamp(self._anchor_wall, UTC)

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        elapsed = (self._wall() - self._anchor_wall) * self._speed
        return self._anchor + timedelta(seconds=elapsed)

    def advance(self, seconds: float) -> None:
        """Jump emulated time forward (or back, if negative)."""
        self._anchor += timedelta(seconds=seconds)

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        now = self.now()
        self._anchor_wall = self._wall()
        self._anchor = now
        self._speed = float(speed)


class ManualClock:
    """A clock that only moves when told to (unit tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)).astimezone(UTC)

    @property
    def speed(self) -> float:
        return 1.0

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    def set(self, value: datetime) -> None:
        self._now = value.astimezone(UTC)
