"""The emulator's own control API under /emulator (not part of Google's API), plus /healthz."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .errors import ApiError, invalid_argument
from .scenario import ScenarioError
from .state import STATE_KEY, EmulatorState
from .timefmt import format_timestamp
from .visibility import effective_end


def _state(request: web.Request) -> EmulatorState:
    return request.app[STATE_KEY]


async def _json(request: web.Request) -> Any:
    try:
        return json.loads(await request.text() or "{}")
    except ValueError:
        raise invalid_argument("body is not valid JSON") from None


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def post_scenario(request: web.Request) -> web.Response:
    data = await _json(request)
    if not isinstance(data, dict):
        raise invalid_argument("a scenario must be a JSON object")
    try:
        summary = _state(request).load(data)
    except ScenarioError as exc:
        raise invalid_argument(f"invalid scenario: {exc}") from None
    return web.json_response(summary)


async def post_people(request: web.Request) -> web.Response:
    try:
        names = _state(request).add_people(await _json(request))
    except ScenarioError as exc:
        raise invalid_argument(f"invalid people: {exc}") from None
    return web.json_response({"people": names})


async def delete_state(request: web.Request) -> web.Response:
    _state(request).reset()
    return web.json_response({})


async def get_state(request: web.Request) -> web.Response:
    """Everything the emulator knows, including the future (debugging aid)."""
    world = _state(request).world
    ts = lambda value: format_timestamp(value) if value else None
    return web.json_response(
        {
            "now": ts(world.now()),
            "people": [vars(p) for p in world.people.values()],
            "spaces": [
                {"name": s.name, "meeting_code": s.meeting_code, "config": s.config} for s in world.spaces.values()
            ],
            "conferences": [
                {
                    "name": c.name,
                    "space": f"spaces/{c.space_id}",
                    "start": ts(c.start),
                    "end": ts(c.end),
                    "visible_after_s": c.visible_after.total_seconds(),
                    "participants": [
                        {
                            "name": c.participant_name(p),
                            "kind": p.kind.value,
                            "user_id": p.user_id,
                            "display_name": p.display_name,
                            "sessions": [
                                {"name": c.session_name(p, s), "join": ts(s.start), "leave": ts(effective_end(s, c))}
                                for s in p.sessions
                            ],
                        }
                        for p in c.participants
                    ],
                }
                for c in world.conferences.values()
            ],
        }
    )


async def get_faults(request: web.Request) -> web.Response:
    return web.json_response(_state(request).faults.to_dict())


async def post_faults(request: web.Request) -> web.Response:
    state = _state(request)
    try:
        state.set_faults(await _json(request))
    except ValueError as exc:
        raise invalid_argument(f"invalid faults: {exc}") from None
    return web.json_response(state.faults.to_dict())


async def delete_faults(request: web.Request) -> web.Response:
    _state(request).clear_faults()
    return web.json_response({})


async def get_stats(request: web.Request) -> web.Response:
    return web.json_response(_state(request).stats.snapshot())


async def delete_stats(request: web.Request) -> web.Response:
    _state(request).stats.reset()
    return web.json_response({})


async def get_clock(request: web.Request) -> web.Response:
    clock = _state(request).world.clock
    return web.json_response({"now": format_timestamp(clock.now()), "speed": clock.speed})


async def post_clock(request: web.Request) -> web.Response:
    """``{"advance_s": 3600}`` jumps emulated time; ``{"speed": 60}`` changes the rate."""
    data = await _json(request)
    clock = _state(request).world.clock
    if not isinstance(data, dict) or set(data) - {"advance_s", "speed"}:
        raise invalid_argument('expected {"advance_s": seconds} and/or {"speed": factor}')
    try:
        if "speed" in data:
            set_speed = getattr(clock, "set_speed", None)
            if set_speed is None:
                raise ApiError(400, "this clock has a fixed speed", "FAILED_PRECONDITION")
            set_speed(float(data["speed"]))
        if "advance_s" in data:
            clock.advance(float(data["advance_s"]))
    except (TypeError, ValueError) as exc:
        raise invalid_argument(str(exc)) from None
    return web.json_response({"now": format_timestamp(clock.now()), "speed": clock.speed})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/healthz", healthz)
    r.add_post("/emulator/scenario", post_scenario)
    r.add_post("/emulator/people", post_people)
    r.add_get("/emulator/state", get_state)
    r.add_delete("/emulator/state", delete_state)
    r.add_get("/emulator/faults", get_faults)
    r.add_post("/emulator/faults", post_faults)
    r.add_delete("/emulator/faults", delete_faults)
    r.add_get("/emulator/stats", get_stats)
    r.add_delete("/emulator/stats", delete_stats)
    r.add_get("/emulator/clock", get_clock)
    r.add_post("/emulator/clock", post_clock)
