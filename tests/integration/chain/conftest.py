"""Attendance and billing in-process on one exchange (each with its own schema), fed as the
scheduler and the fetcher would feed them."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from academy_common.bus import Bus
from academy_common.events import new_event
from attendance.app import build as build_attendance
from attendance.settings import Settings as AttendanceSettings
from billing.app import build as build_billing
from billing.settings import Settings as BillingSettings
from tests.support.services import BILLING, isolated_settings, running


@pytest.fixture
async def chain(database_url, amqp_url, unique) -> AsyncIterator[Chain]:
    common = {"database_url": database_url, "amqp_url": amqp_url, "unique": unique}
    attendance_settings = isolated_settings(AttendanceSettings, **common, db_schema=f"{unique}_attendance")
    billing_settings = isolated_settings(BillingSettings, **common, db_schema=f"{unique}_billing")
    async with running(build_attendance, attendance_settings), running(build_billing, billing_settings) as billing:
        bus = await Bus.connect(amqp_url, exchange=billing_settings.bus_exchange, publish_timeout=5)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{billing.port}") as http:
            yield Chain(bus, http)
        await bus.close(drain_timeout=1)


class Chain:
    def __init__(self, bus: Bus, http: aiohttp.ClientSession):
        self.bus, self.http = bus, http

    async def publish(self, type: str, data: dict) -> None:
        await self.bus.publish(new_event(type, data, source="/test"))

    async def billing(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.http.request(method, path, headers=BILLING, **kwargs) as response:
            return response.status, await response.json(content_type=None)

    async def family_bills(self, year: int, month: int) -> dict[int, list[tuple[str, int, int]]]:
        """family_id → its lines as (kind, billable_seconds, amount_cents)."""
        status, body = await self.billing("GET", "/monitoring/billing/families", params={"year": year, "month": month})
        assert status == 200, body
        return {f["family_id"]: [(line["kind"], line["billable_seconds"], line["amount_cents"]) for line in f["lines"]]
                for f in body["families"]}
