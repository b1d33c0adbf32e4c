"""Assemble the aiohttp application: Google Meet v2 + People v1 + the /emulator control API."""

from __future__ import annotations

from aiohttp import web

from . import api_meet, api_people, control
from .clock import Clock, ScaledClock
from .middleware import error_middleware
from .state import STATE_KEY, EmulatorState
from .world import World


def create_app(state: EmulatorState | None = None, *, clock: Clock | None = None, seed: int | None = None) -> web.Application:
    """A fresh app; pass ``state`` to share it, or a ``clock``/``seed`` for a new world."""
    if state is None:
        state = EmulatorState(World(clock or ScaledClock(), seed=seed))
    app = web.Application(middlewares=[error_middleware])
    app[STATE_KEY] = state
    api_meet.add_routes(app)
    api_people.add_routes(app)
    control.add_routes(app)
    return app
