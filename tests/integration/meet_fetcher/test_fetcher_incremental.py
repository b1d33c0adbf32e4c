"""Incremental fetching: fewer calls than fetching everything, and the same snapshot."""
from __future__ import annotations

from datetime import timedelta

from academy_common.contracts import FetchRequested
from academy_common.events import rfc3339
from academy_common.meet_api import MeetClient, count_calls
from meet_fetcher.snapshot import records_json
from meet_fetcher.usecases import Fetcher
from tests.integration.meet_fetcher.fetcher_support import T0, fetch_request, records

POLL_S = 180


def at(minutes: float) -> str:
    return rfc3339(T0 + timedelta(minutes=minutes))


def sessions(*spans: tuple[float, float | None]) -> list[dict]:
    return [{"join": at(a), "leave": None if b is None else at(b)} for a, b in spans]


# Every change lies between two polls (every 3 min from 10:00), so active polls can see all of it.
CLASS = {"conferences": [{"space": "spaces/inc", "id": "c1", "start": at(-1), "end": at(62), "participants": [
    {"kind": "signedin", "user_id": "3000", "email": "teacher@school.org", "display_name": "Teacher",
     "sessions": sessions((-1, 61))},
    {"kind": "signedin", "user_id": "3001", "email": "s1@school.org", "display_name": "Rejoiner",
     "sessions": sessions((0.5, 10), (13.5, 60))},
    {"kind": "signedin", "user_id": "3002", "email": "s2@school.org", "display_name": "Late",
     "sessions": sessions((20, 60.5))},
    {"kind": "signedin", "user_id": "3003", "email": "s3@school.org", "display_name": "Early leaver",
     "sessions": sessions((0.2, 40))},
    {"kind": "signedin", "user_id": "3004", "email": "s4@school.org", "display_name": "Two devices",
     "sessions": sessions((0.1, 25), (1, 25.5))},
    *({"kind": "signedin", "user_id": f"31{i:02d}", "email": f"q{i}@school.org", "display_name": f"Quiet {i}",
       "sessions": sessions((0.3 + i / 10, 60.2))} for i in range(4)),
    {"kind": "anonymous", "display_name": "Guest", "sessions": sessions((2.5, 30))},
]}]}


async def naive_fetch(emu, request) -> tuple[list[dict], int]:
    client = MeetClient(meet_endpoint=emu.url, people_endpoint=emu.url, threads=4)
    try:
        with count_calls() as tally:
            result = await Fetcher(client, cache=None, incremental=False).fetch(FetchRequested.model_validate(request.data))
    finally:
        client.close()
    return records_json(result.snapshot), tally.calls


async def test_polling_a_class_incrementally_gives_full_snapshots_for_far_fewer_calls(emu, publish, observer):
    emu.load(CLASS)
    incremental_calls = naive_calls = 0
    polls = [("active", POLL_S)] * 20 + [("final", 15 * 60)]
    for reason, step in polls:
        emu.advance(step)
        before = emu.stats()["total"]
        request = fetch_request("spaces/inc", reason=reason)
        await publish(request)
        snapshot = records(await observer.next())
        incremental_calls += emu.stats()["total"] - before

        expected, calls = await naive_fetch(emu, request)
        naive_calls += calls
        assert snapshot == expected, f"{reason} poll at {emu.now()} differs from a full fetch"

    assert len(snapshot[0]["participants"]) == 10 and snapshot[0]["end_time"] == at(62)
    # every poll: records + participants + a sessions listing per participant + 1 People batch
    # (9 participants in the six polls before "Late" joins)
    assert naive_calls == 21 * 13 - 6
    assert incremental_calls * 4 <= naive_calls, (incremental_calls, naive_calls)


async def test_the_final_fetch_is_exact_after_changes_active_polls_could_not_see(emu, publish, observer):
    """A reconnect or a second device coming and going while someone stays in the call changes
    neither earliestStartTime nor latestEndTime: active polls keep the open session they know;
    the final fetch lists sessions of everyone who was still in the call, and is exact."""
    emu.load({"conferences": [{"space": "spaces/blind", "id": "c1", "start": at(0), "end": at(50), "participants": [
        {"kind": "anonymous", "display_name": "Flaky wifi", "sessions": sessions((1, 4), (4.5, None))},
        {"kind": "anonymous", "display_name": "Phone too", "sessions": sessions((1, None), (3.5, 5))},
    ]}]})
    emu.advance(3 * 60)
    await publish(fetch_request("spaces/blind"))
    await observer.next()
    emu.advance(3 * 60)
    await publish(fetch_request("spaces/blind"))
    active = {p["display_name"]: p for p in records(await observer.next())[0]["participants"]}
    assert len(active["Flaky wifi"]["sessions"]) == 1  # the reconnect at 4–4.5 is not seen yet (by design)

    emu.advance(60 * 60)
    request = fetch_request("spaces/blind", reason="final")
    await publish(request)
    final = records(await observer.next())
    assert final == (await naive_fetch(emu, request))[0]
    by_name = {p["display_name"]: p for p in final[0]["participants"]}
    assert [s["end_time"] for s in by_name["Flaky wifi"]["sessions"]] == [at(4), at(50)]
    assert [s["end_time"] for s in by_name["Phone too"]["sessions"]] == [at(50), at(5)]


async def test_retry_and_manual_fetches_reuse_nothing(emu, publish, observer):
    emu.load({"conferences": [{"space": "spaces/again", "id": "c1", "start": at(0), "end": at(30), "participants": [
        {"kind": "anonymous", "display_name": f"a{i}", "sessions": sessions((1, 20))} for i in range(3)]}]})
    emu.advance(40 * 60)
    await publish(fetch_request("spaces/again", reason="final"))
    first = records(await observer.next())
    # a final fetch after a final fetch lists the records only: the ended one is settled (rule 2)
    for reason, expected_calls in (("final", 1), ("retry", 1 + 1 + 3), ("manual", 1 + 1 + 3)):
        before = emu.stats()["total"]
        await publish(fetch_request("spaces/again", reason=reason))
        assert records(await observer.next()) == first
        assert emu.stats()["total"] - before == expected_calls, reason
