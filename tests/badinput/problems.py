"""What every rejected request must look like: a 4xx application/problem+json with type/title/status."""
from __future__ import annotations

import json

import aiohttp

from tests.badinput.openapi_requests import Request


async def send(http: aiohttp.ClientSession, request: Request, headers: dict[str, str]) -> tuple[int, str, bytes]:
    headers = {**request.headers, **headers}
    if request.content_type:
        headers["Content-Type"] = request.content_type
    async with http.request(request.method, request.path, params=request.query, data=request.body,
                            headers=headers) as response:
        return response.status, response.content_type, await response.read()


def assert_problem(status: int, content_type: str, body: bytes, what: object = "") -> dict:
    assert 400 <= status < 500, f"{what}: {status} {body[:500]!r}"
    assert content_type == "application/problem+json", f"{what}: {status} {content_type} {body[:300]!r}"
    problem = json.loads(body)
    assert isinstance(problem.get("type"), str) and isinstance(problem.get("title"), str), problem
    assert problem.get("status") == status, problem
    return problem
