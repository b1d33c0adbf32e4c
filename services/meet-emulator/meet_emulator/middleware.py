"""Cross-cutting behaviour of the Google endpoints: method ids, faults, quotas, stats, errors."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .errors import ApiError
from .faults import LOOP_TOKEN, malform
from .params import check_query, get_param
from .state import STATE_KEY

log = logging.getLogger("meet_emulator")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
GOOGLE_PREFIXES = ("/v1/", "/v2/")


@dataclass(frozen=True)
class GoogleMethod:
    id: str  # e.g. "conferenceRecords.participants.list"
    params: frozenset[str]
    bucket: str  # quota bucket: read | write | people


def google_method(method_id: str, *, params: tuple[str, ...] = (), bucket: str = "read") -> Callable[[Handler], Handler]:
    def decorate(handler: Handler) -> Handler:
        handler.google_method = GoogleMethod(method_id, frozenset(params), bucket)  # type: ignore[attr-defined]
        return handler

    return decorate


def caller(request: web.Request) -> str:
    """Who is calling: the bearer token value, else the access_token parameter, else 'anonymous'."""
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer ") and auth[7:].strip():
        return auth[7:].strip()
    return request.query.get("access_token") or "anonymous"


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(GOOGLE_PREFIXES):
        return await _google(request, handler)
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return ApiError(exc.status, exc.reason).response()


async def _google(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    method: GoogleMethod | None = getattr(request.match_info.handler, "google_method", None)
    method_id = method.id if method else "unknown"
    user = caller(request)
    try:
        response = await _call(request, handler, method, user)
    except ApiError as exc:
        response = exc.response()
    except Exception:  # a bug in the emulator: answer like Google would, keep the trace
        log.exception("emulator error on %s %s", request.method, request.path_qs)
        response = ApiError(500, "Internal error encountered.").response()
    state.stats.record(method_id, response.status, user)
    return response


async def _call(request: web.Request, handler: Handler, method: GoogleMethod | None, user: str) -> Any:
    state = request.app[STATE_KEY]
    faults = state.faults
    if faults.latency_ms:
        await asyncio.sleep(faults.latency_ms / 1000)
    if method is None:
        raise ApiError(404, f"Method not found: {request.method} {request.path}")
    if faults.require_auth and user == "anonymous":
        raise ApiError(
            401,
            "Request is missing required authentication credential. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential.",
        )
    injected = faults.take_error(method.id)
    if injected is not None:
        raise injected
    over_quota = state.quota.check(method.bucket, user, faults.quota)
    if over_quota is not None:
        raise over_quota
    check_query(request, method.params)
    token = get_param(request, "pageToken")
    if token == LOOP_TOKEN and faults.loops_pages:  # the looping token asks for the first page again
        kept = [(k, v) for k, v in request.query.items() if k not in ("pageToken", "page_token")]
        request = request.clone(rel_url=request.rel_url.with_query(kept))
    response = await handler(request)
    damage = faults.take_malformed(method.id)  # errors pass through (raised above) and use up nothing
    if damage is None or not isinstance(response, web.Response):
        return response
    spoilt = malform(json.loads(response.body), damage, token)
    if isinstance(spoilt, bytes):
        return web.Response(body=spoilt, status=200, content_type="application/json")
    return web.json_response(spoilt)
