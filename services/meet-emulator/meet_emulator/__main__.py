"""``python -m meet_emulator [--scenario FILE] [--host H] [--port 8090] [--speed 1] [--seed N]``"""

from __future__ import annotations

import argparse
import logging
import sys

from aiohttp import web

from .app import create_app
from .clock import ScaledClock
from .scenario import ScenarioError, read_scenario_file
from .state import EmulatorState
from .world import World


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="meet_emulator", description="Google Meet REST API v2 + People API emulator")
    parser.add_argument("--scenario", help="JSON or YAML scenario to load at startup")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--speed", type=float, default=1.0, help="emulated seconds per wall second")
    parser.add_argument("--seed", type=int, default=None, help="seed for generated ids")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    try:
        state = EmulatorState(World(ScaledClock(args.speed), seed=args.seed))
        if args.scenario:
            summary = state.load(read_scenario_file(args.scenario))
            logging.getLogger("meet_emulator").info(
                "loaded %s: %d spaces, %d conferences",
                args.scenario,
                len(state.world.spaces),
                len(summary["conferences"]),
            )
    except (OSError, ValueError, ScenarioError) as exc:
        print(f"meet_emulator: {exc}", file=sys.stderr)
        return 2
    web.run_app(create_app(state), host=args.host, port=args.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
