"""Helpers of the scheduler integration tests: a clock the test moves, a bus tap, an academy."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from academy_common.events import CloudEvent
from scheduler import ticker
from tests.support.services import ADMIN
from tests.support.waiting import counted, eventually

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = T0):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class BusTap:
    """Every event published on the test's exchange, in arrival order."""

    def __init__(self) -> None:
        self.events: list[CloudEvent] = []
        self._published_before = _published()  # create the tap once its queue is bound

    def of(self, event_type: str, **data: Any) -> list[CloudEvent]:
        return [e for e in self.events
                if e.type == event_type and all(e.data.get(k) == v for k, v in data.items())]

    async def wait(self, event_type: str, count: int = 1, **data: Any) -> list[CloudEvent]:
        await eventually(lambda: len(self.of(event_type, **data)) >= count, timeout=10)
        return self.of(event_type, **data)


class Academy:
    """Directory and classes through the HTTP API, as an admin would set them up."""

    def __init__(self, http: aiohttp.ClientSession, clock: FakeClock):
        self.http, self.clock = http, clock
        self._n = 0

    def _email(self, who: str) -> str:
        self._n += 1
        return f"{who}{self._n}@school.org"

    async def post(self, path: str, body: dict, status: int = 201) -> dict:
        response = await self.http.post(path, json=body, headers=ADMIN)
        payload = await response.json()
        assert response.status == status, payload
        return payload

    async def teacher(self, name: str = "Ada") -> dict:
        return await self.post("/api/teachers", {"name": name, "email": self._email("teacher")})

    async def family(self, name: str = "Lovelace") -> dict:
        return await self.post("/api/families", {"name": name, "email": self._email("family")})

    async def student(self, family_id: int, name: str = "Bo") -> dict:
        return await self.post("/api/students", {"name": name, "email": self._email("student"),
                                                 "family_id": family_id})

    async def klass(self, *, start_in: timedelta = timedelta(hours=1), minutes: int = 60,
                    teacher_id: int | None = None, student_ids: list[int] | None = None, **extra: Any) -> dict:
        if teacher_id is None:
            teacher_id = (await self.teacher())["teacher_id"]
        if student_ids is None:
            family = await self.family()
            student_ids = [(await self.student(family["family_id"]))["student_id"]]
        body = {"title": "Algebra 1", "teacher_id": teacher_id, "student_ids": student_ids,
                "start": (self.clock() + start_in).isoformat(), "duration_minutes": minutes, **extra}
        return await self.post("/api/schedule/classes", body)


async def settle(service, tap: BusTap) -> None:
    """Wait until the outbox relay has published everything committed so far, and the tap has
    received every event published (and confirmed) in this process since it was bound."""
    await eventually(lambda: _outbox_empty(service))
    await eventually(lambda: len(tap.events) >= _published() - tap._published_before)


def _published() -> float:
    return counted("bus_messages_published_total")


async def _outbox_empty(service) -> bool:
    return await service.pool.fetchval("SELECT count(*) FROM outbox") == 0


async def tick_at(service, when: datetime) -> int:
    """One tick of the service's ticker as if the clock said `when`: the events it emitted."""
    _, emitted = await ticker.tick(service.pool, service.settings.policy, when)
    return emitted
