"""An asyncio loop in a thread of its own, for synchronous tests (schemathesis sends with requests)
against services that run in that loop."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any, TypeVar

T = TypeVar("T")
STEP_TIMEOUT_S = 120


class BackgroundLoop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="background-loop", daemon=True)
        self._thread.start()
        self._stack = AsyncExitStack()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(STEP_TIMEOUT_S)

    async def hold(self, context: AbstractAsyncContextManager[T]) -> T:
        """Enter `context` (from a coroutine running in the loop); close() leaves it, last entered first."""
        return await self._stack.enter_async_context(context)

    def close(self) -> None:
        try:
            self.run(self._stack.aclose())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join()
            self.loop.close()
