"""Test fixtures: run the emulator in the current event loop or in a background thread.

Async tests (the server shares the test's loop)::

    from meet_emulator.testing import run_emulator

    async def test_fetch():
        async with run_emulator(speed=1.0) as emu:          # port=0: a free port
            summary = emu.load({"conferences": [{"meeting_code": "abc-defg-hij", "start": "-10m",
                                                 "participants": [{"user_id": "1001", "email": "ada@x.org"}]}]})
            ...  # point clients at emu.url ("http://127.0.0.1:PORT/")
            emu.set_faults({"errors": [{"method": "conferenceRecords.list", "status": 503, "count": 1}]})
            assert emu.stats()["by_method"]["conferenceRecords.list"] == 2

Synchronous callers (google-api-python-client in plain threads)::

    with EmulatorThread(speed=1.0) as emu:
        service = googleapiclient.discovery.build("meet", "v2", **emu.client_kwargs())

Every control method (load, add_people, set_faults, clear_faults, stats, reset_stats, reset,
now, advance) is a plain synchronous call into the domain; on ``EmulatorThread`` it is
marshalled onto the emulator's loop, so it is safe from any thread. ``emu.world`` is the live
in-memory state: read it from the emulator's loop (or while no request is in flight).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Self, TypeVar

from aiohttp import web

from .app import create_app
from .clock import Clock, ScaledClock
from .state import EmulatorState
from .world import World

T = TypeVar("T")


class Emulator:
    """Handle on a running emulator (see module docs)."""

    def __init__(self, state: EmulatorState, url: str) -> None:
        self.state = state
        self.url = url  # with trailing slash, as client_options["api_endpoint"] wants it

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)

    @property
    def world(self) -> World:
        return self.state.world

    @property
    def clock(self) -> Clock:
        return self.state.world.clock

    def now(self) -> datetime:
        """The emulated 'now' (what relative scenario times are measured from)."""
        return self._call(self.state.world.now)

    def advance(self, seconds: float) -> None:
        """Jump emulated time forward by ``seconds`` (e.g. to the end of a class)."""
        self._call(self.state.world.clock.advance, seconds)

    def load(self, scenario: dict[str, Any]) -> dict[str, Any]:
        """Append a scenario; returns the names created. Raises ScenarioError (nothing applied)."""
        return self._call(self.state.load, scenario)

    def add_people(self, people: list[dict[str, Any]]) -> list[str]:
        return self._call(self.state.add_people, people)

    def set_faults(self, faults: dict[str, Any]) -> None:
        """Replace the fault config (see ``POST /emulator/faults``). Raises ValueError."""
        self._call(self.state.set_faults, faults)

    def clear_faults(self) -> None:
        self._call(self.state.clear_faults)

    def stats(self) -> dict[str, Any]:
        """``{"total", "by_method", "by_method_status", "by_user"}``."""
        return self._call(self.state.stats.snapshot)

    def reset_stats(self) -> None:
        self._call(self.state.stats.reset)

    def reset(self) -> None:
        """Forget all people, spaces, conferences, faults and counters."""
        self._call(self.state.reset)

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``googleapiclient.discovery.build("meet", "v2", **kw)`` (and people v1)."""
        from google.auth.credentials import AnonymousCredentials

        return {
            "static_discovery": True,
            "credentials": AnonymousCredentials(),
            "client_options": {"api_endpoint": self.url},
        }


@asynccontextmanager
async def run_emulator(
    *,
    speed: float = 1.0,
    port: int = 0,
    host: str = "127.0.0.1",
    clock: Clock | None = None,
    seed: int | None = None,
    scenario: dict[str, Any] | None = None,
) -> AsyncIterator[Emulator]:
    """Serve the emulator on ``host:port`` (0 = a free port) in the running loop."""
    state = EmulatorState(World(clock or ScaledClock(speed), seed=seed))
    if scenario:
        state.load(scenario)
    runner = web.AppRunner(create_app(state), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = runner.addresses[0][1]
        yield Emulator(state, f"http://{host}:{bound_port}/")
    finally:
        await runner.cleanup()


class EmulatorThread(Emulator):
    """The emulator on its own loop in a daemon thread, for synchronous code.

    ``with EmulatorThread(speed=1.0) as emu: ...`` or ``start()`` / ``stop()``.
    """

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="meet-emulator", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    def start(self, timeout: float = 10.0) -> EmulatorThread:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the emulator did not start in time")
        if self._error is not None:
            raise RuntimeError("the emulator failed to start") from self._error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        async with run_emulator(**self._options) as emu:
            self.state, self.url = emu.state, emu.url
            self._stop = asyncio.Event()
            self._ready.set()
            await self._stop.wait()

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._loop is None or threading.current_thread() is self._thread:
            return fn(*args)
        result: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                result.set_result(fn(*args))
            except BaseException as exc:
                result.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return result.result(timeout=30)
