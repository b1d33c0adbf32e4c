"""Fixtures for the meet-emulator integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest

from meet_emulator.clock import ManualClock
from meet_emulator.testing import Emulator, run_emulator

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # tests repeat this constant; don't import conftest


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    """An emulator whose clock stands still at T0 unless ``emu.advance()`` moves it."""
    async with run_emulator(clock=ManualClock(T0), seed=42) as running:
        yield running


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=emu.url) as session:
        yield session
