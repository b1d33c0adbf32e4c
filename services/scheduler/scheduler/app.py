"""Bootstrap: settings, Meet client and clock in; HTTP routes, the outcome consumer and the ticker out."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from academy_common.meet_api import MeetClient
from academy_common.service import Service
from academy_common.settings import load_settings
from scheduler import handlers, routes, ticker
from scheduler.meet import Spaces
from scheduler.settings import Settings
from scheduler.ticker import Clock

MIGRATIONS = Path(__file__).with_name("migrations")
OPENAPI = Path(__file__).with_name("openapi.yaml")
ROUTES = routes.routes


def utc_now() -> datetime:
    return datetime.now(UTC)


class Scheduler(Service):
    """The service plus what its use cases and jobs need (`usecases.Context`): the Meet client and the clock."""

    def __init__(self, settings: Settings, *, meet: Spaces, clock: Clock):
        super().__init__(settings, name="scheduler", schema="scheduler", migrations=MIGRATIONS,
                         routes=ROUTES, openapi=OPENAPI)
        self.settings: Settings = settings
        self.meet, self.clock = meet, clock

    async def stop(self) -> None:
        await super().stop()
        if isinstance(self.meet, MeetClient):
            self.meet.close()


def build(settings: Settings | None = None, *, meet: Spaces | None = None, clock: Clock = utc_now) -> Scheduler:
    settings = settings or load_settings(Settings)
    service = Scheduler(settings, meet=meet or MeetClient.from_settings(settings), clock=clock)
    service.subscribe(handlers.QUEUE, handlers.ROUTING_KEYS, handlers.handle)

    async def run_ticker() -> None:
        await ticker.run(service.pool, settings, service.clock)

    service.background(run_ticker)
    return service
