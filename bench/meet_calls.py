"""Google API calls per class-hour: naive vs incremental fetching.

    .venv/bin/python -m bench.meet_calls

A 60-minute class, 10 participants, polled every 180 s (20 `active` fetches) plus one `final`
fetch after the end, against the Meet emulator on a manual clock. The same fetch code runs in
both modes: naive lists records, participants, every participant's sessions and every email at
every poll; incremental keeps the last snapshot and the emails in PostgreSQL (DATABASE_URL;
a throwaway schema) and follows the rules in meet_fetcher/snapshot.py. Three classroom
profiles: quiet (everyone stays), typical (a few rejoins, a late joiner, an early leaver, a
second device), churny (unstable connections). The final snapshots of both modes must match.
"""
from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from academy_common.contracts import FetchRequested
from academy_common.db import create_pool, migrate
from academy_common.events import rfc3339
from academy_common.meet_api import MeetClient, count_calls
from meet_emulator.clock import ManualClock
from meet_emulator.testing import run_emulator
from meet_fetcher.app import PACKAGE
from meet_fetcher.repository import Cache
from meet_fetcher.snapshot import records_json
from meet_fetcher.usecases import Fetcher

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CADENCE_S, MINUTES, PEOPLE = 180, 60, 10
PEOPLE_METHOD = "people.getBatchGet"


def at(minute: float) -> str:
    return rfc3339(T0 + timedelta(minutes=minute))


def person(n: int, *spans: tuple[float, float]) -> dict:
    return {"kind": "signedin", "user_id": f"{9000 + n}", "email": f"p{n}@school.org", "display_name": f"P{n}",
            "sessions": [{"join": at(a), "leave": at(b)} for a, b in spans]}


def profiles() -> dict[str, list[dict]]:
    stays = [person(n, (0.2 * n, 60.5)) for n in range(PEOPLE)]
    typical = stays[:5] + [
        person(5, (1, 14), (15.5, 60.5)),             # reconnects between two polls (14–15.5)
        person(6, (2, 22), (25, 60.5)),               # rejoins, a poll sees the gap
        person(7, (21, 60.5)),                        # late
        person(8, (0.5, 41)),                         # leaves early
        person(9, (0.4, 60.5), (10, 30)),             # a second device for 20 minutes
    ]
    churny = [person(n, *[(m + 0.1 * n, m + 4.5 + 0.1 * n) for m in range(0, 60, 5)]) for n in range(5)] + [
        person(n, (0.2 * n, 60.5)) for n in range(5, PEOPLE)]
    return {"quiet": stays, "typical": typical, "churny": churny}


def polls() -> list[tuple[str, float]]:
    """(reason, minute): every 180 s while the class runs, then the final fetch."""
    return [("active", s / 60) for s in range(CADENCE_S, MINUTES * 60 + 1, CADENCE_S)] + [("final", MINUTES + 5)]


def request(space: str, reason: str) -> FetchRequested:
    return FetchRequested(class_id=1, session_id="bench", reason=reason, space_name=space,
                        organizer_email="teacher@school.org", scheduled_start=T0,
                        scheduled_end=T0 + timedelta(minutes=MINUTES), window_start=T0 - timedelta(minutes=30),
                        window_end=T0 + timedelta(minutes=MINUTES + 30))


async def run_profile(name: str, participants: list[dict], pool) -> dict:
    results = {}
    for mode in ("naive", "incremental"):
        await pool.execute("TRUNCATE snapshots, emails")
        async with run_emulator(clock=ManualClock(T0), seed=7) as emu:  # same seed: same resource names
            emu.load({"conferences": [{"space": "spaces/bench", "id": "c1", "start": at(0), "end": at(61),
                                       "participants": participants}]})
            client = MeetClient(meet_endpoint=emu.url, people_endpoint=emu.url, threads=8)
            fetcher = Fetcher(client, Cache(lambda: pool, email_ttl=timedelta(days=1)), incremental=mode != "naive")
            per_poll, by_method = [], Counter()
            try:
                for reason, minute in polls():
                    emu.clock.set(T0 + timedelta(minutes=minute))
                    with count_calls() as tally:
                        result = await fetcher.fetch(request("spaces/bench", reason))
                    per_poll.append(tally.calls)
                    by_method.update(tally.by_method)
            finally:
                client.close()
            results[mode] = {"per_poll": per_poll, "by_method": by_method, "final": records_json(result.snapshot)}
    return results


def report(name: str, results: dict) -> tuple[float, bool]:
    naive, incremental = results["naive"], results["incremental"]
    total_n, total_i = sum(naive["per_poll"]), sum(incremental["per_poll"])
    meet_n = total_n - naive["by_method"][PEOPLE_METHOD]
    meet_i = total_i - incremental["by_method"][PEOPLE_METHOD]
    same = naive["final"] == incremental["final"]
    print(f"\n{name} class: {len(polls())} fetches in one class-hour")
    print(f"  naive        {total_n:4d} calls ({meet_n} Meet + {naive['by_method'][PEOPLE_METHOD]} People)"
          f"   per fetch: {' '.join(map(str, naive['per_poll']))}")
    print(f"  incremental  {total_i:4d} calls ({meet_i} Meet + {incremental['by_method'][PEOPLE_METHOD]} People)"
          f"   per fetch: {' '.join(map(str, incremental['per_poll']))}")
    print(f"  incremental / naive: {total_i / total_n:.1%} of all calls, {meet_i / meet_n:.1%} of Meet calls;"
          f" final snapshots identical: {'yes' if same else 'NO'}")
    return total_i / total_n, same


async def main() -> None:
    schema = f"bench_calls_{uuid.uuid4().hex[:8]}"
    await migrate(DATABASE_URL, schema, PACKAGE / "migrations")
    pool = await create_pool(DATABASE_URL, schema)
    try:
        print(f"API calls per class-hour: {PEOPLE} participants, {MINUTES} min, every {CADENCE_S} s + final")
        outcome = {name: report(name, await run_profile(name, people, pool)) for name, people in profiles().items()}
    finally:
        await pool.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await pool.close()
    ratio, _ = outcome["typical"]
    print(f"\ntypical class: incremental costs {ratio:.1%} of naive (target <= 25%): {'OK' if ratio <= 0.25 else 'MISSED'}")
    if not all(same for _, same in outcome.values()):
        raise SystemExit("a final snapshot differs between naive and incremental fetching")


if __name__ == "__main__":
    asyncio.run(main())
