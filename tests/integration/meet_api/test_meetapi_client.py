"""The shared Meet/People client against the emulator: real google-api-python-client, real HTTP."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from academy_common.meet_api import MeetApiError, MeetClient, RetryPolicy, count_calls
from meet_emulator.clock import ManualClock
from meet_emulator.testing import run_emulator
from tests.integration.meet_api.meet_proxy import MeetProxy

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
FAST = RetryPolicy(attempts=4, initial_s=0.01, max_s=0.02, budget_s=2)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


class CountingLimiter:
    def __init__(self) -> None:
        self.users: list[str] = []

    async def acquire(self, user: str) -> None:
        self.users.append(user)


@pytest.fixture
async def emu():
    async with run_emulator(clock=ManualClock(T0)) as emu:
        yield emu


@pytest.fixture
async def client(emu):
    client = MeetClient(meet_endpoint=emu.url, people_endpoint=emu.url, threads=4, retry=FAST,
                        limiter=CountingLimiter())
    yield client
    client.close()


def calls(method: str, status: str) -> float:
    return REGISTRY.get_sample_value("meet_api_calls_total", {"method": method, "status": status}) or 0.0


async def test_create_a_space_and_find_it_by_name_or_meeting_code(client):
    space = await client.create_space(subject="ada@school.org")
    assert space.name.startswith("spaces/") and space.meeting_uri.endswith(space.meeting_code)
    assert await client.get_space(space.meeting_code) == space
    assert await client.get_space(space.name) == space
    assert client.limiter.users == ["default", "default"]  # reads only; anonymous: one principal


async def test_records_overlapping_the_window_participants_and_sessions_with_nanosecond_times(client, emu):
    emu.load({"conferences": [
        {"space": "spaces/s1", "id": f"c{n}", "start": at(n * 20), "end": at(n * 20 + 10), "participants": [
            {"kind": "signedin", "user_id": "1", "display_name": "Ada",
             "sessions": [{"join": at(n * 20 + 1), "leave": at(n * 20 + 2)}, {"join": at(n * 20 + 3), "leave": None}]},
            {"kind": "phone", "display_name": "Phone"}]}
        for n in range(4)]})
    emu.set_faults({"timestamp_digits": 9, "page_size_cap": 1})
    emu.advance(2 * 3600)

    # c1 (20..30 min) started before the window and ran into it; c0 ended before, c3 starts after
    records = await client.list_conference_records("spaces/s1", T0 + timedelta(minutes=25), T0 + timedelta(minutes=45))
    assert sorted(r.name for r in records) == ["conferenceRecords/c1", "conferenceRecords/c2"]
    assert {r.start_time for r in records} == {T0 + timedelta(minutes=20), T0 + timedelta(minutes=40)}
    participants = await client.list_participants("conferenceRecords/c1")
    kinds = {p.kind: p for p in participants}
    assert set(kinds) == {"signedin", "phone"} and kinds["signedin"].user == "users/1"
    assert kinds["phone"].user is None and kinds["phone"].display_name == "Phone"
    sessions = await client.list_sessions(kinds["signedin"].name)
    assert sorted((s.start_time, s.end_time) for s in sessions) == [
        (T0 + timedelta(minutes=21), T0 + timedelta(minutes=22)),
        (T0 + timedelta(minutes=23), T0 + timedelta(minutes=30)),  # open when the conference ended
    ]
    assert emu.stats()["by_method"]["conferenceRecords.list"] == 2  # one record per page: all pages read


async def test_emails_in_batches_with_unknown_and_email_less_people(client, emu):
    emu.add_people([{"user_id": str(n), "email": f"u{n}@school.org"} for n in range(45)] +
                   [{"user_id": "noemail", "display_name": "No Mail"}])
    users = [f"users/{n}" for n in range(45)] + ["users/noemail", "users/ghost"]
    with count_calls() as tally:
        emails = await client.emails(users)
    assert emails == {**{f"users/{n}": f"u{n}@school.org" for n in range(45)},
                      "users/noemail": None, "users/ghost": None}
    assert tally.by_method == {"people.getBatchGet": 2}
    assert client.limiter.users == []  # People has its own quota


async def test_server_errors_and_quota_are_retried_and_counted(client, emu):
    emu.load({"conferences": [{"space": "spaces/r", "start": at(0)}]})
    emu.set_faults({"errors": [{"method": "conferenceRecords.list", "status": 503, "count": 1},
                               {"method": "conferenceRecords.list", "status": 429, "count": 1}]})
    before_503 = calls("conferenceRecords.list", "503")
    with count_calls() as tally:
        assert len(await client.list_conference_records("spaces/r")) == 1
    assert tally.calls == 3 and len(client.limiter.users) == 3  # every attempt waits for its token
    assert calls("conferenceRecords.list", "503") == before_503 + 1


async def test_errors_that_retrying_cannot_fix_are_raised_at_once(client, emu):
    with pytest.raises(MeetApiError) as missing:
        await client.get_space("spaces/nothere")
    assert (missing.value.kind, missing.value.status, missing.value.retryable) == ("not_found", 404, False)
    emu.set_faults({"errors": [{"method": "conferenceRecords.list", "status": 400, "count": None}]})
    with pytest.raises(MeetApiError) as bad:
        await client.list_conference_records("spaces/x")
    assert bad.value.kind == "client" and "Injected" in bad.value.message
    assert emu.stats()["by_method"] == {"spaces.get": 1, "conferenceRecords.list": 1}
    with pytest.raises(MeetApiError) as not_a_code:
        await client.get_space("not/a code")
    assert not_a_code.value.kind == "client"


async def test_exhausted_retries_raise_the_last_error(client, emu):
    emu.set_faults({"errors": [{"method": "spaces.get", "status": 429, "count": None}]})
    with pytest.raises(MeetApiError) as quota:
        await client.get_space("spaces/any")
    assert (quota.value.kind, quota.value.status, quota.value.retryable) == ("quota", 429, True)
    assert emu.stats()["by_method"]["spaces.get"] == FAST.attempts


async def test_space_creation_retries_quota_but_not_server_errors(client, emu):
    emu.set_faults({"errors": [{"method": "spaces.create", "status": 429, "count": 1}]})
    assert (await client.create_space()).name
    emu.set_faults({"errors": [{"method": "spaces.create", "status": 500, "count": 1}]})
    with pytest.raises(MeetApiError) as failed:  # it may have been created: do not make a second one
        await client.create_space()
    assert failed.value.kind == "server"
    assert emu.stats()["by_method_status"]["spaces.create"] == {"429": 1, "200": 1, "500": 1}


async def test_an_unreachable_api_is_a_retryable_server_error(emu):
    client = MeetClient(meet_endpoint="http://127.0.0.1:9/", threads=1, retry=RetryPolicy(attempts=2, initial_s=0))
    before = calls("spaces.get", "network")
    try:
        with pytest.raises(MeetApiError) as down:
            await client.get_space("spaces/x")
    finally:
        client.close()
    assert (down.value.kind, down.value.status, down.value.retryable) == ("server", None, True)
    assert calls("spaces.get", "network") == before + 2


async def test_many_concurrent_calls_share_a_small_thread_pool(client, emu):
    emu.load({"spaces": [{"id": f"p{n}", "meeting_code": f"aaa-bbbb-{n:03d}"} for n in range(60)]})
    spaces = await asyncio.gather(*(client.get_space(f"aaa-bbbb-{n:03d}") for n in range(60)))
    assert [s.name for s in spaces] == [f"spaces/p{n}" for n in range(60)]


def _participants(*identities: dict) -> dict:
    return {"participants": [{"name": f"conferenceRecords/c/participants/p{i}", "earliestStartTime": at(0),
                              **identity} for i, identity in enumerate(identities)]}


@pytest.mark.parametrize("answer,complaint", [
    (b"<html>proxy error</html>", "not a JSON object"),
    (_participants({"botUser": {"displayName": "x"}}), "exactly one of"),
    (_participants({"anonymousUser": {}, "phoneUser": {}}), "exactly one of"),
    (_participants({"signedinUser": {"displayName": "no id"}}), "signedinUser.user"),
    ({"participants": [{"name": "conferenceRecords/c/participants/p", "anonymousUser": {},
                        "earliestStartTime": "2026-03-02 10:00:00"}]}, "RFC 3339"),
    ({"participants": [{"name": "conferenceRecords/c/participants/p", "anonymousUser": {},
                        "earliestStartTime": at(5), "latestEndTime": at(1)}]}, "before it starts"),
    ({"participants": [{"name": "elsewhere/p", "anonymousUser": {}, "earliestStartTime": at(0)}]}, "name"),
    ({"participants": {"not": "a list"}}, "participants"),
    ([], "not a JSON object"),
    ({"participants": [], "nextPageToken": "same"}, "repeats"),
])
async def test_malformed_answers_are_rejected_as_malformed(emu, answer, complaint):
    emu.load({"conferences": [{"space": "spaces/m", "id": "c", "start": at(0),
                               "participants": [{"kind": "anonymous", "display_name": "A"}]}]})
    emu.advance(60)
    async with MeetProxy(emu.url) as proxy:
        proxy.rewrite(r"/participants$", lambda _: answer)
        client = MeetClient(meet_endpoint=proxy.url, threads=2, retry=FAST)
        try:
            with pytest.raises(MeetApiError) as broken:
                await client.list_participants("conferenceRecords/c")
        finally:
            client.close()
    assert broken.value.kind == "malformed" and not broken.value.retryable
    assert complaint in broken.value.message
    assert len(proxy.calls) <= 2  # not retried (a repeating page token costs its second page only)
