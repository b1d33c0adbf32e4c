"""The scheduler API as the console uses it: the directory, classes, the fetch status."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from console.clients.upstream import Upstream


class SchedulerApi:
    def __init__(self, upstream: Upstream):
        self.api = upstream

    async def upcoming_classes(self, limit: int, cursor: str | None = None) -> dict:
        """Classes that have not ended yet, by start."""
        return await self.api.get("/api/schedule/classes", upcoming_only="true", limit=limit, cursor=cursor)

    async def classes_starting(self, start_from: datetime, start_to: datetime, limit: int,
                               cursor: str | None = None) -> dict:
        """Classes whose scheduled start is in [start_from, start_to), ended or not, by start."""
        return await self.api.get("/api/schedule/classes", upcoming_only="false", limit=limit, cursor=cursor,
                                  **{"from": start_from.isoformat(), "to": start_to.isoformat()})

    async def all_classes(self, limit: int, cursor: str | None = None) -> dict:
        return await self.api.get("/api/schedule/classes", upcoming_only="false", limit=limit, cursor=cursor)

    async def lesson(self, class_id: int) -> dict:
        return await self.api.get(f"/api/schedule/classes/{class_id}")

    async def schedule(self, new_class: dict[str, Any]) -> dict:
        return (await self.api.send("POST", "/api/schedule/classes", new_class)).body

    async def cancel(self, class_id: int) -> dict:
        return (await self.api.send("POST", f"/api/schedule/classes/{class_id}/cancel")).body

    async def people(self, collection: str, limit: int, cursor: str | None = None) -> dict:
        """A page of `teachers`, `families` or `students`."""
        return await self.api.get(f"/api/{collection}", limit=limit, cursor=cursor)

    async def person(self, collection: str, person_id: int) -> dict:
        return await self.api.get(f"/api/{collection}/{person_id}")

    async def status(self) -> dict:
        return await self.api.get("/monitoring/status")
