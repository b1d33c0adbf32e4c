from __future__ import annotations

import pytest

from academy_common.bus import Bus
from meet_emulator.clock import ManualClock
from meet_emulator.testing import run_emulator
from meet_fetcher.app import build
from meet_fetcher.settings import Settings
from tests.integration.meet_fetcher.fetcher_support import T0, Observer
from tests.support.services import isolated_settings, running


@pytest.fixture
async def emu():
    """The emulator on a clock that moves only when a test advances it."""
    async with run_emulator(clock=ManualClock(T0)) as emu:
        yield emu


@pytest.fixture
def settings_for(database_url, amqp_url, unique, emu):
    """Fetcher settings against the emulator: limits out of the way, retries fast."""
    def make(**overrides) -> Settings:
        values = {"meet_api_endpoint": emu.url, "people_api_endpoint": emu.url,
                      "meet_reads_per_minute": 1_000_000, "meet_reads_per_user_per_minute": 1_000_000,
                      "meet_api_retry_initial_s": 0.01, "meet_api_retry_max_s": 0.05, "meet_api_retry_budget_s": 2.0,
                      "meet_api_threads": 8}
        values.update(overrides)
        return isolated_settings(Settings, database_url=database_url, amqp_url=amqp_url, unique=unique, **values)

    return make


@pytest.fixture
async def fetcher(settings_for):
    async with running(build, settings_for()) as service:
        yield service


@pytest.fixture
async def observer(amqp_url, fetcher):
    async with Observer(amqp_url, fetcher.settings.bus_exchange) as observer:
        yield observer


@pytest.fixture
async def publish(amqp_url, fetcher):
    bus = await Bus.connect(amqp_url, exchange=fetcher.settings.bus_exchange)
    yield bus.publish
    await bus.close()
