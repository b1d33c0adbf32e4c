"""Closing a billing month through the API: request the close job, wait for it, read the period."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tests.support.waiting import eventually

Call = Callable[..., Awaitable[tuple[int, Any]]]  # api(method, path, **kwargs) -> (status, body)


async def close_job(api: Call, period: str, *, timeout: float = 30, **kwargs: Any) -> dict:
    """POST the close (202 and a Location), then poll the job until it is no longer running."""
    status, job = await api("POST", f"/billing/periods/{period}/close", **kwargs)
    assert status == 202, job
    location = f"/billing/close-jobs/{job['job_id']}"
    finished: dict = {}

    async def over() -> bool:
        status, body = await api("GET", location, **kwargs)
        assert status == 200, body
        finished.update(body)
        return body["state"] != "running"

    await eventually(over, timeout=timeout, interval=0.05)
    return finished


async def close_month(api: Call, period: str, **kwargs: Any) -> dict:
    """Close the month and return its period document (GET /billing/periods/{period})."""
    job = await close_job(api, period, **kwargs)
    assert job["state"] == "done", job
    status, body = await api("GET", f"/billing/periods/{period}", **kwargs)
    assert status == 200 and body["checksum"] == job["checksum"], body
    return body
