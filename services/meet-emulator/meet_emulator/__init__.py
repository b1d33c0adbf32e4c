"""An in-memory emulator of the Google Meet REST API v2 and the People API email lookup.

- ``python -m meet_emulator --scenario FILE --port 8090 --speed 1`` serves it;
- :mod:`meet_emulator.testing` runs it inside tests (``run_emulator``, ``EmulatorThread``);
- :class:`World` is the domain state, :func:`create_app` the aiohttp application.
"""

from .app import create_app
from .clock import ManualClock, ScaledClock
from .scenario import ScenarioError, load_scenario
from .state import EmulatorState
from .world import World

__all__ = ["EmulatorState", "ManualClock", "ScaledClock", "ScenarioError", "World", "create_app", "load_scenario"]
