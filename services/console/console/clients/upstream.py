"""Calls to one upstream API with the signed-in user's token; every failure becomes an UpstreamError."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from prometheus_client import Counter

UPSTREAM_CALLS = Counter("console_upstream_calls_total", "Calls from the console to an API",
                         ["api", "method", "outcome"])


@dataclass
class UpstreamError(Exception):
    """An API answered with a problem, or could not be reached (status 503, title says so)."""

    api: str
    status: int
    title: str
    detail: str = ""
    errors: list[dict] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.api}: {self.title}" + (f" ({self.detail})" if self.detail else "")

    @property
    def field_errors(self) -> dict[str, str]:
        """{field: message} from a 422's `errors`, for messages next to the form's inputs."""
        return {e.get("field", "").split(".")[-1]: e.get("message", "") for e in self.errors if e.get("field")}


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class Upstream:
    """One API (`api` names it in messages) at `base_url`, as the holder of `token`."""

    def __init__(self, http: aiohttp.ClientSession, api: str, base_url: str, token: str, timeout_s: float):
        self.http, self.api, self.base_url = http, api, base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"}
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def get(self, path: str, **params: Any) -> Any:
        return (await self.call("GET", path, params=params)).body

    async def send(self, method: str, path: str, body: dict | None = None) -> Reply:
        return await self.call(method, path, body=body)

    async def call(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None,
                   raw: bool = False, accept: str | None = None) -> Reply:
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        try:
            async with self.http.request(method, self.base_url + path, params=query, json=body,
                                         headers={**self.headers, **({"Accept": accept} if accept else {})},
                                         timeout=self.timeout) as response:
                data = await response.read()
                reply = Reply(response.status, data if raw else _json(data), dict(response.headers))
        except (aiohttp.ClientError, TimeoutError) as exc:
            UPSTREAM_CALLS.labels(self.api, method, "unreachable").inc()
            raise UpstreamError(self.api, 503, f"the {self.api} service cannot be reached",
                                type(exc).__name__) from None
        UPSTREAM_CALLS.labels(self.api, method, str(reply.status)).inc()
        if reply.status >= 400:
            problem = _json(data) if raw else reply.body
            raise _problem(self.api, reply.status, problem if isinstance(problem, dict) else {})
        return reply


def _json(data: bytes) -> Any:
    try:
        return json.loads(data) if data else None
    except ValueError:
        return None


def _problem(api: str, status: int, problem: dict) -> UpstreamError:
    title = str(problem.get("title") or f"HTTP {status}")
    errors = problem.get("errors") if isinstance(problem.get("errors"), list) else []
    return UpstreamError(api, status, title, str(problem.get("detail") or ""), errors)
