"""The attendance API as the console uses it: logs, corrections, guests and their mappings."""
from __future__ import annotations

from datetime import datetime

from console.clients.upstream import Upstream


class AttendanceApi:
    def __init__(self, upstream: Upstream):
        self.api = upstream

    async def logs_of_class(self, class_id: int, limit: int = 500) -> list[dict]:
        return (await self.api.get("/monitoring/attendance-logs", class_id=class_id, limit=limit))["items"]

    async def logs_between(self, start: datetime, end: datetime, limit: int,
                           cursor: str | None = None) -> dict:
        return await self.api.get("/monitoring/attendance-logs", limit=limit, cursor=cursor,
                                  **{"from": start.isoformat(), "to": end.isoformat()})

    async def log(self, log_id: int) -> dict:
        return await self.api.get(f"/monitoring/attendance-logs/{log_id}")

    async def correct(self, log_id: int, correction: dict) -> dict:
        return (await self.api.send("POST", f"/monitoring/attendance-logs/{log_id}/corrections", correction)).body

    async def unmatched(self, limit: int, cursor: str | None = None, class_id: int | None = None) -> dict:
        return await self.api.get("/monitoring/unmatched", limit=limit, cursor=cursor, class_id=class_id)

    async def map(self, mapping: dict) -> dict:
        return (await self.api.send("POST", "/monitoring/unmatched/mappings", mapping)).body
