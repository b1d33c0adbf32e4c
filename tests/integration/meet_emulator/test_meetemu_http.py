"""The emulator over HTTP: Google's paths, JSON shapes, errors, and the control API."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
import yarl

from meet_emulator.testing import run_emulator
from tests.support.waiting import eventually

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # the `emu` fixture's frozen clock
Z = "2026-03-02T10:00:00Z"


async def get(http: aiohttp.ClientSession, path: str, **kw) -> tuple[int, dict]:
    async with http.get(path, **kw) as resp:
        return resp.status, await resp.json()


def assert_google_error(body: dict, code: int, status: str) -> None:
    assert set(body) == {"error"}
    assert body["error"]["code"] == code and body["error"]["status"] == status
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


CLASS = {
    "people": [
        {"user_id": "1001", "email": "ada@school.org", "display_name": "Ada"},
        {"user_id": "1002", "email": "bo@school.org", "display_name": "Bo"},
    ],
    "spaces": [{"name": "spaces/AbC123", "meeting_code": "abc-defg-hij"}],
    "conferences": [
        {"space": "spaces/AbC123", "start": "-3h", "end": "-2h", "id": "old"},
        {
            "space": "spaces/AbC123", "start": "-10m", "end": "+50m", "id": "live",
            "participants": [
                {"kind": "signedin", "user_id": "1001", "id": "p-ada",
                 "sessions": [{"join": "-10m", "leave": None, "id": "s1"}, {"join": "-5m", "leave": "-2m", "id": "s2"}]},
                {"kind": "signedin", "user_id": "1002", "id": "p-bo",
                 "sessions": [{"join": "-8m", "leave": "-1m", "id": "s1"}, {"join": "+5m", "id": "s2"}]},
                {"kind": "anonymous", "display_name": "Guest", "id": "p-guest", "join": "-9m"},
                {"kind": "phone", "display_name": "+1 555-***-0101", "id": "p-phone", "join": "+20m"},
            ],
        },
        {"meeting_code": "zzz-yyyy-xxx", "start": "-1h", "end": "-30m", "id": "other"},
    ],
}


async def test_healthz(http):
    assert await get(http, "/healthz") == (200, {"status": "ok"})


# ---- spaces ------------------------------------------------------------------------------
async def test_create_and_get_space(http):
    async with http.post("/v2/spaces?alt=json", json={}) as resp:
        assert resp.status == 200
        space = await resp.json()
    assert set(space) == {"name", "meetingUri", "meetingCode", "config"}
    assert space["name"].startswith("spaces/") and len(space["name"]) == len("spaces/") + 12
    code = space["meetingCode"]
    assert len(code) == 12 and code[3] == code[8] == "-"
    assert space["meetingUri"] == f"https://meet.google.com/{code}"
    assert space["config"]["accessType"] == "TRUSTED"
    assert await get(http, f"/v2/{space['name']}") == (200, space)
    assert await get(http, f"/v2/spaces/{code}") == (200, space)
    assert await get(http, f"/v2/spaces/{code.upper()}") == (200, space)


async def test_create_space_with_config_and_empty_body(http):
    async with http.post("/v2/spaces", json={"config": {"accessType": "OPEN"}}) as resp:
        assert (await resp.json())["config"]["accessType"] == "OPEN"
    async with http.post("/v2/spaces") as resp:  # no body at all
        assert resp.status == 200


@pytest.mark.parametrize(
    "body",
    ['{"config": {"accessType": "WIDE_OPEN"}}', '{"colour": "red"}', '{"config": {"nope": 1}}', "{not json", "[]"],
)
async def test_create_space_rejects_bad_bodies(http, body):
    async with http.post("/v2/spaces", data=body, headers={"Content-Type": "application/json"}) as resp:
        assert resp.status == 400
        assert_google_error(await resp.json(), 400, "INVALID_ARGUMENT")


async def test_space_active_conference(emu, http):
    emu.load(CLASS)
    _, space = await get(http, "/v2/spaces/AbC123")
    assert space["activeConference"] == {"conferenceRecord": "conferenceRecords/live"}
    emu.advance(3600)
    _, space = await get(http, "/v2/spaces/abc-defg-hij")
    assert "activeConference" not in space


async def test_end_active_conference(emu, http):
    emu.load(CLASS)
    async with http.post("/v2/spaces/AbC123:endActiveConference", json={}) as resp:
        assert resp.status == 200 and await resp.json() == {}
    _, record = await get(http, "/v2/conferenceRecords/live")
    assert record["endTime"] == "2026-03-02T10:00:00Z"
    _, participants = await get(http, "/v2/conferenceRecords/live/participants")
    assert all("latestEndTime" in p for p in participants["participants"])
    async with http.post("/v2/spaces/AbC123:endActiveConference") as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["status"] == "FAILED_PRECONDITION"


@pytest.mark.parametrize("path", ["/v2/spaces/nope", "/v2/spaces/aaa-bbbb-ccc", "/v2/conferenceRecords/nope",
                                  "/v2/conferenceRecords/nope/participants", "/v2/bogus", "/v2/spaces",
                                  "/v1/people/1?personFields=names", "/v3/anything", "/emulator/nope"])
async def test_unknown_resources_and_paths_are_google_404s(http, path):
    status, body = await get(http, path)
    assert status == 404
    assert_google_error(body, 404, "NOT_FOUND")


async def test_wrong_http_method_is_404(http):
    async with http.delete("/v2/spaces/x") as resp:
        assert resp.status == 404
        assert_google_error(await resp.json(), 404, "NOT_FOUND")


# ---- conference records ------------------------------------------------------------------
async def test_list_conference_records_newest_first_and_hides_future(emu, http):
    emu.load(CLASS)
    emu.load({"conferences": [{"meeting_code": "abc-defg-hij", "start": "+2h", "id": "future"}]})
    status, body = await get(http, "/v2/conferenceRecords")
    assert status == 200 and "nextPageToken" not in body
    assert [r["name"] for r in body["conferenceRecords"]] == [
        "conferenceRecords/live", "conferenceRecords/other", "conferenceRecords/old"]
    live, _other, old = body["conferenceRecords"]
    assert live == {"name": "conferenceRecords/live", "startTime": "2026-03-02T09:50:00Z", "space": "spaces/AbC123"}
    assert old["endTime"] == "2026-03-02T08:00:00Z" and old["expireTime"] == "2026-04-01T08:00:00Z"
    assert list(old) == ["name", "startTime", "endTime", "expireTime", "space"]


async def test_list_filter_arrives_plus_encoded(emu, http):
    emu.load(CLASS)
    raw = "v2/conferenceRecords?filter=space.name+%3D+%22spaces%2FAbC123%22+AND+end_time+IS+NULL&alt=json"
    async with aiohttp.ClientSession() as plain, plain.get(yarl.URL(emu.url + raw, encoded=True)) as resp:
        body = await resp.json()
    assert [r["name"] for r in body["conferenceRecords"]] == ["conferenceRecords/live"]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ('space.name = "spaces/AbC123"', ["live", "old"]),
        ('space.meeting_code = "ABC-DEFG-HIJ"', ["live", "old"]),
        ('space.meeting_code = "zzz-yyyy-xxx"', ["other"]),
        ('space.name = "spaces/unknown"', []),
        ("end_time IS NULL", ["live"]),
        ('start_time >= "2026-03-02T09:00:00Z"', ["live", "other"]),
        ('start_time>"2026-03-02T09:00:00.000Z" AND start_time<"2026-03-02T09:50:00Z"', []),
        ('end_time <= "2026-03-02T09:30:00Z" and space.name = "spaces/AbC123"', ["old"]),
        ('end_time > "2026-03-02T08:00:00Z"', ["other"]),
        # the fetcher's overlap query, window 09:20..09:55: the running call (the one ending at
        # 09:30 is of another space, "old" ended before the window)
        (('space.name = "spaces/AbC123" AND start_time <= "2026-03-02T09:55:00Z" AND '
          '(end_time IS NULL OR end_time >= "2026-03-02T09:20:00Z")'), ["live"]),
        ('start_time <= "2026-03-02T09:55:00Z" AND (end_time IS NULL OR end_time >= "2026-03-02T09:20:00Z")',
         ["live", "other"]),
        ('space.meeting_code = "zzz-yyyy-xxx" OR end_time IS NULL', ["live", "other"]),
    ],
)
async def test_conference_record_filters(emu, http, flt, expected):
    emu.load(CLASS)
    status, body = await get(http, "/v2/conferenceRecords", params={"filter": flt})
    assert status == 200
    assert [r["name"].split("/")[1] for r in body.get("conferenceRecords", [])] == expected
    if not expected:
        assert body == {}


@pytest.mark.parametrize(
    "flt",
    ['space.name = "x" OR', 'NOT end_time IS NULL', '(end_time IS NULL OR end_time >= "x"', "start_time >= yesterday",
     "foo = 1", 'space.name < "a"', "end_time IS"],
)
async def test_bad_filter_is_400(emu, http, flt):
    status, body = await get(http, "/v2/conferenceRecords", params={"filter": flt})
    assert status == 400
    assert_google_error(body, 400, "INVALID_ARGUMENT")


async def test_paging_default_max_and_tokens(emu, http):
    emu.load({"conferences": [
        {"meeting_code": "aaa-bbbb-ccc", "start": f"-{i + 1}h", "end": f"-{i}h"} for i in range(130)
    ]})
    _, body = await get(http, "/v2/conferenceRecords")
    assert len(body["conferenceRecords"]) == 25 and body["nextPageToken"]
    _, body = await get(http, "/v2/conferenceRecords", params={"pageSize": "500"})
    assert len(body["conferenceRecords"]) == 100
    names, token = [], None
    while True:
        params = {"pageSize": "40", **({"pageToken": token} if token else {})}
        _, body = await get(http, "/v2/conferenceRecords", params=params)
        names += [r["name"] for r in body["conferenceRecords"]]
        token = body.get("nextPageToken")
        if token is None:
            break
    assert len(names) == len(set(names)) == 130
    starts = [emu.world.conferences[n.split("/")[1]].start for n in names]
    assert starts == sorted(starts, reverse=True)


@pytest.mark.parametrize("params", [{"pageSize": "abc"}, {"pageSize": "-1"}, {"pageToken": "bogus"}, {"page_token": "x"}])
async def test_bad_paging_params_are_400(emu, http, params):
    status, body = await get(http, "/v2/conferenceRecords", params=params)
    assert status == 400
    assert_google_error(body, 400, "INVALID_ARGUMENT")


async def test_page_token_is_bound_to_its_filter(emu, http):
    emu.load(CLASS)
    _, body = await get(http, "/v2/conferenceRecords", params={"pageSize": "1"})
    token = body["nextPageToken"]
    status, _ = await get(http, "/v2/conferenceRecords", params={"pageSize": "1", "pageToken": token,
                                                                  "filter": "end_time IS NULL"})
    assert status == 400
    status, body = await get(http, "/v2/conferenceRecords", params={"page_size": "1", "page_token": token})
    assert status == 200 and body["conferenceRecords"][0]["name"] == "conferenceRecords/other"


async def test_unknown_query_parameter_is_400(emu, http):
    status, body = await get(http, "/v2/conferenceRecords", params={"filtr": "x"})
    assert status == 400 and "filtr" in body["error"]["message"]
    status, _ = await get(http, "/v2/conferenceRecords", params={"alt": "json", "prettyPrint": "false", "quotaUser": "u"})
    assert status == 200


async def test_get_conference_record_and_time_passing(emu, http):
    emu.load({"conferences": [{"meeting_code": "abc-defg-hij", "id": "c1", "start": "+10m", "end": "+70m",
                               "visible_after_s": 120}]})
    assert (await get(http, "/v2/conferenceRecords/c1"))[0] == 404
    emu.advance(11 * 60)  # started, but the record is not there yet (late data)
    assert (await get(http, "/v2/conferenceRecords/c1"))[0] == 404
    assert await get(http, "/v2/conferenceRecords") == (200, {})
    emu.advance(60)
    status, record = await get(http, "/v2/conferenceRecords/c1")
    assert status == 200 and "endTime" not in record and record["startTime"] == "2026-03-02T10:10:00Z"
    emu.advance(3600)
    _, record = await get(http, "/v2/conferenceRecords/c1")
    assert record["endTime"] == "2026-03-02T11:10:00Z"


# ---- participants and sessions -----------------------------------------------------------
async def test_participants_shapes(emu, http):
    emu.load(CLASS)
    status, body = await get(http, "/v2/conferenceRecords/live/participants")
    assert status == 200 and set(body) == {"participants"}
    by_id = {p["name"].rsplit("/", 1)[1]: p for p in body["participants"]}
    assert set(by_id) == {"p-ada", "p-bo", "p-guest"}  # the phone user has not joined yet
    assert by_id["p-ada"] == {
        "name": "conferenceRecords/live/participants/p-ada",
        "signedinUser": {"user": "users/1001", "displayName": "Ada"},
        "earliestStartTime": "2026-03-02T09:50:00Z",
    }
    assert by_id["p-bo"]["latestEndTime"] == "2026-03-02T09:59:00Z"
    assert by_id["p-guest"]["anonymousUser"] == {"displayName": "Guest"}
    for p in body["participants"]:
        assert len({"signedinUser", "anonymousUser", "phoneUser"} & set(p)) == 1
    # newest join first
    assert [p["name"].rsplit("/", 1)[1] for p in body["participants"]] == ["p-bo", "p-guest", "p-ada"]
    emu.advance(25 * 60)
    _, body = await get(http, "/v2/conferenceRecords/live/participants")
    phone = next(p for p in body["participants"] if "phoneUser" in p)
    assert phone["phoneUser"] == {"displayName": "+1 555-***-0101"}
    bo = next(p for p in body["participants"] if p["name"].endswith("p-bo"))
    assert "latestEndTime" not in bo  # rejoined


async def test_participant_filters_and_total_size(emu, http):
    emu.load(CLASS)
    _, body = await get(http, "/v2/conferenceRecords/live/participants", params={"filter": "latest_end_time IS NULL"})
    assert sorted(p["name"].rsplit("/", 1)[1] for p in body["participants"]) == ["p-ada", "p-guest"]
    _, body = await get(http, "/v2/conferenceRecords/live/participants",
                        params={"filter": 'latest_end_time < "2026-03-02T10:00:00Z"'})
    assert [p["name"].rsplit("/", 1)[1] for p in body["participants"]] == ["p-bo"]
    _, body = await get(http, "/v2/conferenceRecords/live/participants",
                        params={"filter": 'earliest_start_time >= "2026-03-02T09:51:00Z"',
                                "fields": "participants(name),nextPageToken,totalSize"})
    assert body["totalSize"] == 2 and len(body["participants"]) == 2
    status, body = await get(http, "/v2/conferenceRecords/live/participants", params={"filter": "end_time IS NULL"})
    assert status == 400


async def test_participant_paging_limits(emu, http):
    emu.load({"conferences": [{"id": "big", "start": "-1h", "participants": [
        {"kind": "anonymous", "display_name": f"G{i}", "join": f"-{i + 1}s"} for i in range(300)]}]})
    _, body = await get(http, "/v2/conferenceRecords/big/participants")
    assert len(body["participants"]) == 100
    _, body = await get(http, "/v2/conferenceRecords/big/participants", params={"pageSize": "1000"})
    assert len(body["participants"]) == 250
    _, body2 = await get(http, "/v2/conferenceRecords/big/participants",
                         params={"pageSize": "1000", "pageToken": body["nextPageToken"]})
    assert len(body2["participants"]) == 50 and "nextPageToken" not in body2


async def test_get_participant_and_sessions(emu, http):
    emu.load(CLASS)
    base = "/v2/conferenceRecords/live/participants"
    status, ada = await get(http, f"{base}/p-ada")
    assert status == 200 and ada["signedinUser"]["user"] == "users/1001"
    assert (await get(http, f"{base}/p-phone"))[0] == 404  # not joined yet
    assert (await get(http, f"{base}/nobody"))[0] == 404
    status, body = await get(http, f"{base}/p-ada/participantSessions")
    assert status == 200
    assert body["participantSessions"] == [
        {"name": "conferenceRecords/live/participants/p-ada/participantSessions/s2",
         "startTime": "2026-03-02T09:55:00Z", "endTime": "2026-03-02T09:58:00Z"},
        {"name": "conferenceRecords/live/participants/p-ada/participantSessions/s1",
         "startTime": "2026-03-02T09:50:00Z"},
    ]
    _, bo = await get(http, f"{base}/p-bo/participantSessions")
    assert len(bo["participantSessions"]) == 1  # the rejoin is in the future
    assert (await get(http, f"{base}/p-bo/participantSessions/s2"))[0] == 404
    status, s1 = await get(http, f"{base}/p-ada/participantSessions/s1")
    assert status == 200 and "endTime" not in s1
    _, open_only = await get(http, f"{base}/p-ada/participantSessions", params={"filter": "end_time IS NULL"})
    assert [s["name"][-2:] for s in open_only["participantSessions"]] == ["s1"]


async def test_session_paging(emu, http):
    emu.load({"conferences": [{"id": "c", "start": "-1h", "participants": [
        {"user_id": "5", "id": "p", "sessions": [{"join": f"-{50 - i}m", "leave": f"-{49 - i}m"} for i in range(7)]}]}]})
    names, token = [], None
    while True:
        params = {"pageSize": "3", **({"pageToken": token} if token else {})}
        _, body = await get(http, "/v2/conferenceRecords/c/participants/p/participantSessions", params=params)
        names += [s["name"] for s in body["participantSessions"]]
        token = body.get("nextPageToken")
        if not token:
            break
    assert len(set(names)) == 7


# ---- people ------------------------------------------------------------------------------
async def test_people_get(emu, http):
    emu.load(CLASS)
    status, person = await get(http, "/v1/people/1001", params={"personFields": "emailAddresses"})
    assert status == 200
    assert person["resourceName"] == "people/1001" and person["etag"].startswith("%")
    assert person["emailAddresses"] == [{
        "metadata": {"primary": True, "verified": True, "source": {"type": "DOMAIN_PROFILE", "id": "1001"},
                     "sourcePrimary": True},
        "value": "ada@school.org",
    }]
    assert "names" not in person
    _, person = await get(http, "/v1/people/1001", params={"personFields": "names,emailAddresses"})
    assert person["names"][0]["displayName"] == "Ada"
    _, person = await get(http, "/v1/people/1001", params={"person_fields": "emailAddresses"})
    assert person["emailAddresses"][0]["value"] == "ada@school.org"


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/v1/people/1001", {}, 400),
        ("/v1/people/1001", {"personFields": ""}, 400),
        ("/v1/people/1001", {"personFields": "emails"}, 400),
        ("/v1/people/999", {"personFields": "emailAddresses"}, 404),
        ("/v1/people:batchGet", {"personFields": "emailAddresses"}, 400),
        ("/v1/people:batchGet", {"resourceNames": "people/1001"}, 400),
        ("/v1/people:batchGet", {"resourceNames": "users/1001", "personFields": "emailAddresses"}, 400),
    ],
)
async def test_people_errors(emu, http, path, params, code):
    emu.load(CLASS)
    status, body = await get(http, path, params=params)
    assert status == code
    assert_google_error(body, code, "INVALID_ARGUMENT" if code == 400 else "NOT_FOUND")


async def test_people_batch_get(emu, http):
    emu.load(CLASS)
    params = [("resourceNames", "people/1001"), ("resourceNames", "people/404"), ("resourceNames", "people/1002"),
              ("personFields", "emailAddresses")]
    status, body = await get(http, "/v1/people:batchGet", params=params)
    assert status == 200
    ada, missing, bo = body["responses"]
    assert ada["requestedResourceName"] == "people/1001" and ada["httpStatusCode"] == 200
    assert ada["person"]["emailAddresses"][0]["value"] == "ada@school.org"
    assert missing == {"requestedResourceName": "people/404", "httpStatusCode": 404,
                       "status": {"code": 5, "message": "Requested entity was not found."}}
    assert bo["person"]["resourceName"] == "people/1002"
    too_many = [("resourceNames", f"people/{i}") for i in range(201)] + [("personFields", "emailAddresses")]
    assert (await get(http, "/v1/people:batchGet", params=too_many))[0] == 400


# ---- control API, faults, quotas, stats --------------------------------------------------
async def test_control_scenario_people_state(http):
    async with http.post("/emulator/scenario", json=CLASS) as resp:
        assert resp.status == 200
        summary = await resp.json()
    assert [c["name"] for c in summary["conferences"]] == [
        "conferenceRecords/old", "conferenceRecords/live", "conferenceRecords/other"]
    async with http.post("/emulator/scenario", json={"conferences": [{"start": "soon"}]}) as resp:
        assert resp.status == 400
        assert "conference start" in (await resp.json())["error"]["message"]
    async with http.post("/emulator/people", json={"people": [{"user_id": "77", "email": "q@x.org"}]}) as resp:
        assert await resp.json() == {"people": ["people/77"]}
    assert (await get(http, "/v1/people/77", params={"personFields": "emailAddresses"}))[0] == 200
    _, state = await get(http, "/emulator/state")
    assert len(state["conferences"]) == 3 and state["now"] == Z
    async with http.delete("/emulator/state") as resp:
        assert resp.status == 200
    assert await get(http, "/v2/conferenceRecords") == (200, {})
    assert (await get(http, "/v1/people/77", params={"personFields": "emailAddresses"}))[0] == 404


async def test_control_clock(http):
    assert await get(http, "/emulator/clock") == (200, {"now": Z, "speed": 1.0})
    async with http.post("/emulator/clock", json={"advance_s": 90}) as resp:
        assert (await resp.json())["now"] == "2026-03-02T10:01:30Z"
    async with http.post("/emulator/clock", json={"speed": 5}) as resp:  # a ManualClock has no speed
        assert resp.status == 400


async def test_injected_errors_via_http(emu, http):
    emu.load(CLASS)
    faults = {"errors": [{"method": "conferenceRecords.participants.list", "status": 503, "count": 2},
                         {"method": "people.*", "status": 500, "count": 1}]}
    async with http.post("/emulator/faults", json=faults) as resp:
        assert resp.status == 200
    for _ in range(2):
        _status, body = await get(http, "/v2/conferenceRecords/live/participants")
        assert_google_error(body, 503, "UNAVAILABLE")
    assert (await get(http, "/v2/conferenceRecords/live/participants"))[0] == 200
    _status, body = await get(http, "/v1/people/1001", params={"personFields": "emailAddresses"})
    assert_google_error(body, 500, "INTERNAL")
    _, current = await get(http, "/emulator/faults")
    assert [r["remaining"] for r in current["errors"]] == [0, 0]
    async with http.post("/emulator/faults", json={"errors": [{"status": 200}]}) as resp:
        assert resp.status == 400
    _, stats = await get(http, "/emulator/stats")
    assert stats["by_method_status"]["conferenceRecords.participants.list"] == {"503": 2, "200": 1}
    assert stats["by_method_status"]["people.get"] == {"500": 1}
    async with http.delete("/emulator/stats"):
        pass
    assert (await get(http, "/emulator/stats"))[1]["total"] == 0


async def test_quota_per_user_by_bearer_token(emu, http):
    emu.set_faults({"quota": {"per_user_per_minute": 2, "per_project_per_minute": 5}})
    alice, bob = {"Authorization": "Bearer alice"}, {"Authorization": "Bearer bob"}
    assert (await get(http, "/v2/conferenceRecords", headers=alice))[0] == 200
    assert (await get(http, "/v2/conferenceRecords", headers=alice))[0] == 200
    status, body = await get(http, "/v2/conferenceRecords", headers=alice)
    assert_google_error(body, 429, "RESOURCE_EXHAUSTED")
    assert (await get(http, "/v2/conferenceRecords", headers=bob))[0] == 200
    assert (await get(http, "/v2/conferenceRecords"))[0] == 200  # anonymous
    assert (await get(http, "/v2/conferenceRecords", params={"access_token": "carol"}))[0] == 200
    status, body = await get(http, "/v2/conferenceRecords", params={"access_token": "dave"})
    assert status == 429 and "per user" not in body["error"]["message"]  # the project limit
    async with http.post("/v2/spaces", json={}, headers=alice) as resp:  # writes have their own quota
        assert resp.status == 200
    assert emu.stats()["by_user"] == {"alice": 4, "bob": 1, "anonymous": 1, "carol": 1, "dave": 1}


async def test_latency_page_cap_digits_and_auth(emu, http):
    emu.load(CLASS)
    emu.set_faults({"latency_ms": 150, "page_size_cap": 1, "timestamp_digits": 9, "require_auth": True})
    started = time.perf_counter()
    _status, body = await get(http, "/v2/conferenceRecords", headers={"Authorization": "Bearer t"})
    assert time.perf_counter() - started >= 0.15
    assert len(body["conferenceRecords"]) == 1 and "nextPageToken" in body
    assert body["conferenceRecords"][0]["startTime"] == "2026-03-02T09:50:00.000000000Z"
    _status, body = await get(http, "/v2/conferenceRecords")
    assert_google_error(body, 401, "UNAUTHENTICATED")
    emu.clear_faults()
    assert (await get(http, "/v2/conferenceRecords"))[0] == 200


async def test_speed_factor_plays_relative_times_fast():
    async with run_emulator(speed=3600, seed=1) as emu:  # an emulated hour per wall second
        emu.load({"conferences": [{"id": "soon", "start": "+1h", "end": "+2h"}]})
        async with aiohttp.ClientSession(base_url=emu.url) as http:
            assert (await get(http, "/v2/conferenceRecords/soon"))[0] == 404

            async def visible() -> bool:
                return (await get(http, "/v2/conferenceRecords/soon"))[0] == 200

            await eventually(visible, timeout=60)  # at speed 1 this would take an hour
            assert emu.now() >= emu.world.conferences["soon"].start


async def test_relative_times_use_now_at_load(emu, http):
    emu.advance(600)
    summary = emu.load({"conferences": [{"start": "-1m"}]})
    assert summary["loaded_at"] == "2026-03-02T10:10:00Z"
    assert summary["conferences"][0]["start"] == "2026-03-02T10:09:00Z"
    assert T0 + timedelta(minutes=10) == emu.now()
