"""Everything one emulator instance holds: the world plus its fault knobs and counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .faults import Faults
from .quota import QuotaTracker
from .resources import Renderer
from .scenario import add_people, load_scenario
from .stats import Stats
from .world import World


@dataclass
class EmulatorState:
    world: World
    faults: Faults = field(default_factory=Faults)
    quota: QuotaTracker = field(default_factory=QuotaTracker)
    stats: Stats = field(default_factory=Stats)

    @property
    def renderer(self) -> Renderer:
        return Renderer(self.faults.timestamp_digits)

    def load(self, scenario: dict[str, Any]) -> dict[str, Any]:
        return load_scenario(self.world, scenario)

    def add_people(self, people: Any) -> list[str]:
        return add_people(self.world, people)

    def set_faults(self, faults: dict[str, Any]) -> None:
        self.faults = Faults.from_dict(faults)
        self.quota.reset()

    def clear_faults(self) -> None:
        self.faults = Faults()
        self.quota.reset()

    def reset(self) -> None:
        """Forget the world, faults, quota windows and counters."""
        self.world.reset()
        self.clear_faults()
        self.stats.reset()


STATE_KEY = web.AppKey("meet_emulator_state", EmulatorState)
