"""A proxy between a Google API client and the emulator: records each request, may rewrite answers.

    async with MeetProxy(emu.url) as proxy:
        proxy.rewrite(r"/participants$", lambda body: ...)   # body: parsed JSON → new JSON / bytes
        client = MeetClient(meet_endpoint=proxy.url, people_endpoint=proxy.url)
        proxy.calls  →  [Call(at, method, path), ...]
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

import aiohttp
from aiohttp import web

Rewrite = Callable[[Any], Any]


@dataclass(frozen=True)
class Call:
    at: float  # time.monotonic() when the request arrived
    method: str
    path: str


class MeetProxy:
    def __init__(self, target: str):
        self.target = target.rstrip("/")
        self.calls: list[Call] = []
        self._rewrites: list[tuple[re.Pattern[str], Rewrite]] = []
        self.url = ""

    def rewrite(self, path_pattern: str, rewrite: Rewrite) -> None:
        """Answers whose path matches become `rewrite(json)` with status 200 (bytes go out as is)."""
        self._rewrites.append((re.compile(path_pattern), rewrite))

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._session = aiohttp.ClientSession()
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._session.close()
        await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        self.calls.append(Call(time.monotonic(), request.method, request.path))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self._session.request(request.method, self.target + request.path_qs, headers=headers,
                                         data=await request.read()) as answer:
            body, status = await answer.read(), answer.status
        for pattern, rewrite in self._rewrites:
            if pattern.search(request.path):
                changed = rewrite(json.loads(body))
                body = changed if isinstance(changed, bytes) else json.dumps(changed).encode()
                status = 200
        return web.Response(body=body, status=status, content_type="application/json")
