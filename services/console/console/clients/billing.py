"""The billing API as the console uses it: month statements, CSV, rates, policies, the month close.

Policies and close jobs are newer than the rest of the API: the console reads them with `.get`
and shows "not available" when billing does not offer them (404/405)."""
from __future__ import annotations

from console.clients.upstream import Reply, Upstream, UpstreamError

REPORTS = {"families": "/monitoring/billing/families", "teachers": "/monitoring/payroll/teachers"}
RATES = {"families": "/billing/rates/families", "teachers": "/billing/rates/teachers"}


class BillingApi:
    def __init__(self, upstream: Upstream):
        self.api = upstream

    async def statements(self, party: str, year: int, month: int, limit: int, after: int = 0) -> dict:
        return await self.api.get(REPORTS[party], year=year, month=month, limit=limit, after=after)

    async def csv(self, party: str, year: int, month: int) -> bytes:
        reply = await self.api.call("GET", REPORTS[party], params={"year": year, "month": month},
                                    raw=True, accept="text/csv")
        return reply.body

    async def rates(self, party: str, party_id: int) -> dict:
        return await self.api.get(f"{RATES[party]}/{party_id}")

    async def set_rate(self, party: str, party_id: int, rate: dict) -> dict:
        return (await self.api.send("PUT", f"{RATES[party]}/{party_id}", rate)).body

    async def policy(self, party: str, which: str) -> dict | None:
        """`which` is `default` or an id; None when billing has no policies API."""
        try:
            return await self.api.get(f"/billing/policies/{party}/{which}")
        except UpstreamError as exc:
            if exc.status in (404, 405):
                return None
            raise

    async def set_policy(self, party: str, which: str, policy: dict) -> dict:
        return (await self.api.send("PUT", f"/billing/policies/{party}/{which}", policy)).body

    async def period(self, period: str) -> dict:
        return await self.api.get(f"/billing/periods/{period}")

    async def close(self, period: str) -> Reply:
        """202 with a Location of the close job (or 200/201 from a billing that closes at once)."""
        return await self.api.send("POST", f"/billing/periods/{period}/close")

    async def close_job(self, job_id: str) -> dict:
        return await self.api.get(f"/billing/close-jobs/{job_id}")
