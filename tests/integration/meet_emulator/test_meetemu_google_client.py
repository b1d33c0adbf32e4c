"""The real google-api-python-client (static discovery) against the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from meet_emulator.testing import EmulatorThread, run_emulator

SCENARIO = {
    "people": [{"user_id": str(1000 + i), "email": f"s{i}@school.org", "display_name": f"S{i}"} for i in range(5)],
    "conferences": [
        # seven earlier calls in the same space, then today's class
        *({"meeting_code": "abc-defg-hij", "start": f"-{h + 2}h", "end": f"-{h + 1}h"} for h in range(7)),
        {
            "meeting_code": "abc-defg-hij", "start": "-30m", "id": "today",
            "participants": [
                {"user_id": "1000", "sessions": [{"join": "-29m", "leave": "-20m"}, {"join": "-19m"}]},
                {"user_id": "1001", "sessions": [{"join": "-28m"}, {"join": "-25m", "leave": "-5m"}]},
                {"user_id": "1002", "join": "-27m", "leave": "-3m"},
                {"user_id": "9999", "display_name": "Stranger", "join": "-26m"},
                {"kind": "anonymous", "display_name": "Guest", "join": "-10m"},
                {"kind": "phone", "display_name": "+1 555-***-0199", "join": "-9m", "leave": "-8m"},
            ],
        },
    ],
}


def no_sleep(request):
    request._sleep = lambda seconds: None  # keep execute(num_retries=...) fast
    return request


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorThread]:
    with EmulatorThread(seed=3) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(emu):
    emu.reset()
    emu.load(SCENARIO)


@pytest.fixture
def meet(emu):
    return build("meet", "v2", **emu.client_kwargs())


@pytest.fixture
def people(emu):
    return build("people", "v1", **emu.client_kwargs())


def list_all(collection, **kwargs) -> list[dict]:
    items, key = [], None
    request = collection.list(**kwargs)
    while request is not None:
        response = request.execute()
        key = key or next((k for k in response if k not in ("nextPageToken", "totalSize")), None)
        items += response.get(key, []) if key else []
        request = collection.list_next(request, response)
    return items


def test_spaces_create_and_get(meet):
    space = meet.spaces().create(body={}).execute()
    assert space["name"].startswith("spaces/") and space["meetingUri"].endswith(space["meetingCode"])
    assert meet.spaces().get(name=space["name"]).execute() == space
    assert meet.spaces().get(name=f"spaces/{space['meetingCode']}").execute()["name"] == space["name"]
    with pytest.raises(HttpError) as info:
        meet.spaces().get(name="spaces/doesnotexist").execute()
    assert info.value.resp.status == 404


def test_conference_records_filter_and_pagination(meet, emu):
    records = meet.conferenceRecords()
    space = meet.spaces().get(name="spaces/abc-defg-hij").execute()["name"]
    found = list_all(records, filter=f'space.name = "{space}"', pageSize=3)
    assert len(found) == 8 and found[0]["name"] == "conferenceRecords/today"
    assert [r["startTime"] for r in found] == sorted((r["startTime"] for r in found), reverse=True)
    assert emu.stats()["by_method"]["conferenceRecords.list"] == 3
    live = records.list(filter='space.meeting_code = "abc-defg-hij" AND end_time IS NULL').execute()
    assert [r["name"] for r in live["conferenceRecords"]] == ["conferenceRecords/today"]
    assert records.get(name="conferenceRecords/today").execute()["space"] == space
    with pytest.raises(HttpError) as info:
        records.list(filter="space.name = ").execute()
    assert info.value.resp.status == 400


def test_participants_and_sessions(meet):
    participants = meet.conferenceRecords().participants()
    everyone = list_all(participants, parent="conferenceRecords/today", pageSize=2)
    assert len(everyone) == 6
    kinds = sorted(next(k for k in ("signedinUser", "anonymousUser", "phoneUser") if k in p) for p in everyone)
    assert kinds == ["anonymousUser", "phoneUser"] + ["signedinUser"] * 4
    in_call = list_all(participants, parent="conferenceRecords/today", filter="latest_end_time IS NULL")
    assert len(in_call) == 4  # 1000 (rejoined), 1001 (one device still in), the stranger, the guest
    ada = next(p for p in everyone if p.get("signedinUser", {}).get("user") == "users/1001")
    assert "latestEndTime" not in ada
    sessions = list_all(participants.participantSessions(), parent=ada["name"], pageSize=1)
    assert len(sessions) == 2 and sum("endTime" in s for s in sessions) == 1
    one = participants.participantSessions().get(name=sessions[0]["name"]).execute()
    assert one == sessions[0]
    assert participants.get(name=ada["name"]).execute() == ada


def test_people_get_and_batch_get(people):
    person = people.people().get(resourceName="people/1001", personFields="emailAddresses").execute()
    assert person["emailAddresses"][0]["value"] == "s1@school.org"
    batch = people.people().getBatchGet(
        resourceNames=["people/1000", "people/9999", "people/1002"], personFields="emailAddresses"
    ).execute()
    assert [r.get("httpStatusCode") for r in batch["responses"]] == [200, 404, 200]
    assert batch["responses"][2]["person"]["emailAddresses"][0]["value"] == "s2@school.org"
    with pytest.raises(HttpError) as info:
        people.people().get(resourceName="people/9999", personFields="emailAddresses").execute()
    assert info.value.resp.status == 404
    with pytest.raises(HttpError) as info:
        people.people().get(resourceName="people/1000", personFields="").execute()
    assert info.value.resp.status == 400


@pytest.mark.parametrize(("status", "reason_part"), [(429, "Quota exceeded"), (500, "Internal"), (503, "unavailable")])
def test_injected_errors_surface_as_http_errors(meet, emu, status, reason_part):
    emu.set_faults({"errors": [{"method": "conferenceRecords.participants.list", "status": status, "count": 1}]})
    with pytest.raises(HttpError) as info:
        meet.conferenceRecords().participants().list(parent="conferenceRecords/today").execute()
    assert info.value.resp.status == status
    assert reason_part.lower() in info.value.reason.lower()
    assert meet.conferenceRecords().participants().list(parent="conferenceRecords/today").execute()["participants"]


def test_num_retries_rides_out_transient_errors(meet, emu):
    emu.set_faults({"errors": [{"method": "conferenceRecords.list", "status": 503, "count": 2}]})
    response = no_sleep(meet.conferenceRecords().list()).execute(num_retries=3)
    assert len(response["conferenceRecords"]) == 8
    assert emu.stats()["by_method_status"]["conferenceRecords.list"] == {"503": 2, "200": 1}


def test_quota_exhaustion(meet, emu):
    emu.set_faults({"quota": {"per_user_per_minute": 3}})
    for _ in range(3):
        meet.conferenceRecords().get(name="conferenceRecords/today").execute()
    with pytest.raises(HttpError) as info:
        meet.conferenceRecords().get(name="conferenceRecords/today").execute()
    assert info.value.resp.status == 429
    assert info.value.error_details[0]["reason"] == "RATE_LIMIT_EXCEEDED"


async def test_sync_client_in_a_thread_against_the_loop_emulator():
    async with run_emulator(seed=5) as emu:
        emu.load(SCENARIO)

        def fetch() -> list[str]:
            meet = build("meet", "v2", **emu.client_kwargs())
            records = meet.conferenceRecords().list(filter='space.meeting_code = "abc-defg-hij"', pageSize=100).execute()
            return [r["name"] for r in records["conferenceRecords"]]

        names = await asyncio.to_thread(fetch)
        assert len(names) == 8 and names[0] == "conferenceRecords/today"
