"""The `malformed` fault: answers Google never sends (missing names and identities, unknown
participant kinds, bad timestamps, a page token that loops, a body that is not JSON), on the
methods and for the number of answers asked; without it, the answers are Google's."""
from __future__ import annotations

import aiohttp
import pytest

from meet_emulator.faults import LOOP_TOKEN, Faults

IN_CALL = {"conferences": [{"space": "spaces/m1", "start": "-10m", "id": "c1", "participants": [
    {"kind": "signedin", "user_id": "1001", "display_name": "Ada", "id": "p-ada",
     "sessions": [{"join": "-9m", "leave": "-5m", "id": "s1"}, {"join": "-4m", "id": "s2"}]},
    {"kind": "phone", "display_name": "+1 555", "id": "p-phone", "join": "-8m"}]}]}
PARTICIPANTS = "/v2/conferenceRecords/c1/participants"
SESSIONS = "/v2/conferenceRecords/c1/participants/p-ada/participantSessions"


async def get(http: aiohttp.ClientSession, path: str, **params: str) -> tuple[int, bytes]:
    async with http.get(path, params=params) as resp:
        return resp.status, await resp.read()


async def get_json(http: aiohttp.ClientSession, path: str, **params: str) -> dict:
    async with http.get(path, params=params) as resp:
        assert resp.status == 200
        return await resp.json()


async def spoil(http: aiohttp.ClientSession, method: str, kind: str, **rule) -> None:
    async with http.post("/emulator/faults", json={"malformed": [{"method": method, "kind": kind, **rule}]}) as resp:
        assert resp.status == 200, await resp.text()


@pytest.mark.parametrize("kind,path,check", [
    ("no_name", PARTICIPANTS, lambda body: all("name" not in p for p in body["participants"])),
    ("no_identity", PARTICIPANTS,
     lambda body: all(not {"signedinUser", "anonymousUser", "phoneUser"} & set(p) for p in body["participants"])),
    ("unknown_kind", PARTICIPANTS,
     lambda body: sorted(p["robotUser"].get("displayName") for p in body["participants"]) == ["+1 555", "Ada"]),
    ("bad_timestamp", SESSIONS,
     lambda body: {s["startTime"] for s in body["participantSessions"]} == {"yesterday"}
     and body["participantSessions"][1]["endTime"] == "yesterday"),
    ("naive_timestamp", SESSIONS,
     lambda body: {s["startTime"] for s in body["participantSessions"]} == {"2026-03-02T09:56:00",
                                                                              "2026-03-02T09:51:00"}),
])
async def test_each_kind_spoils_the_items_of_the_answer_once(emu, http, kind, path, check):
    emu.load(IN_CALL)
    good = await get_json(http, path)
    await spoil(http, "conferenceRecords.participants.*", kind)
    assert check(await get_json(http, path))
    assert await get_json(http, path) == good  # count 1 by default: the next answer is right again


async def test_a_page_token_loop_repeats_the_first_page_until_the_rule_is_spent(emu, http):
    emu.load(IN_CALL)
    await spoil(http, "conferenceRecords.participants.list", "page_token_loop", count=3)
    first = await get_json(http, PARTICIPANTS)
    assert first["nextPageToken"] == LOOP_TOKEN
    again = await get_json(http, PARTICIPANTS, pageToken=LOOP_TOKEN)
    assert again == first
    last = await get_json(http, PARTICIPANTS, pageToken=LOOP_TOKEN)  # the third and last spoilt answer
    assert last == first
    honest = await get_json(http, PARTICIPANTS, pageToken=LOOP_TOKEN)
    assert "nextPageToken" not in honest and honest["participants"] == first["participants"]


async def test_a_real_next_page_token_loops_onto_itself(emu, http):
    emu.load(IN_CALL)
    await spoil(http, "conferenceRecords.participants.list", "page_token_loop", after=1)
    first = await get_json(http, PARTICIPANTS, pageSize="1")
    token = first["nextPageToken"]
    assert token != LOOP_TOKEN
    second = await get_json(http, PARTICIPANTS, pageSize="1", pageToken=token)
    assert second["nextPageToken"] == token


async def test_not_json_is_a_200_the_client_cannot_parse(emu, http):
    emu.load(IN_CALL)
    await spoil(http, "conferenceRecords.list", "not_json")
    async with http.get("/v2/conferenceRecords") as resp:
        assert resp.status == 200 and resp.content_type == "application/json"
        assert (await resp.read()).startswith(b"<html>")
    assert "conferenceRecords" in await get_json(http, "/v2/conferenceRecords")
    stats = emu.stats()["by_method_status"]["conferenceRecords.list"]
    assert stats == {"200": 2}


async def test_errors_come_first_and_do_not_use_up_the_rule(emu, http):
    emu.load(IN_CALL)
    faults = {"errors": [{"method": "conferenceRecords.participants.list", "status": 503, "count": 1}],
              "malformed": [{"method": "conferenceRecords.participants.list", "kind": "no_name", "count": 1}]}
    async with http.post("/emulator/faults", json=faults) as resp:
        assert resp.status == 200
    assert (await get(http, PARTICIPANTS))[0] == 503
    assert all("name" not in p for p in (await get_json(http, PARTICIPANTS))["participants"])
    current = await get_json(http, "/emulator/faults")
    assert [r["remaining"] for r in current["errors"] + current["malformed"]] == [0, 0]


async def test_without_the_fault_a_loop_token_is_garbage_like_on_google(emu, http):
    emu.load(IN_CALL)
    status, _ = await get(http, PARTICIPANTS, pageToken=LOOP_TOKEN)
    assert status == 400


@pytest.mark.parametrize("bad", [
    {"malformed": [{"kind": "gibberish"}]},
    {"malformed": [{"method": "*"}]},
    {"malformed": [{"kind": "not_json", "count": -1}]},
    {"malformed": [{"kind": "not_json", "status": 500}]},
    {"malformed": ["not_json"]},
])
def test_bad_malformed_configs_are_refused(bad):
    with pytest.raises(ValueError):
        Faults.from_dict(bad)
