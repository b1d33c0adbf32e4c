"""The fetch use case over a fake Meet client and an in-memory cache: what it asks, what it keeps."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from academy_common.contracts import FetchRequested
from academy_common.meet_api import ConferenceRecord, MeetApiError, Participant, ParticipantSession, Space
from meet_fetcher.usecases import Fetcher

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class FakeMeet:
    """A world of records → participants → sessions, answering like MeetClient and noting each call."""

    def __init__(self) -> None:
        self.records: list[ConferenceRecord] = []
        self.participants: dict[str, list[Participant]] = {}
        self.sessions: dict[str, list[ParticipantSession]] = {}
        self.directory: dict[str, str] = {}
        self.calls: list[str] = []
        self.broken: set[str] = set()

    def add(self, record: str, start: float, end: float | None, people: dict[str, list[tuple]]) -> None:
        name = f"conferenceRecords/{record}"
        self.records.append(ConferenceRecord(name=name, start_time=t(start), end_time=end and t(end), space="spaces/s"))
        self.participants[name] = []
        for who, spans in people.items():
            self.set_sessions(name, who, spans)

    def set_sessions(self, record: str, who: str, spans: list[tuple]) -> None:
        p_name = f"{record}/participants/{who}"
        sessions = [ParticipantSession(name=f"{p_name}/participantSessions/{i}", start_time=t(a),
                                       end_time=None if b is None else t(b)) for i, (a, b) in enumerate(spans)]
        ends = [s.end_time for s in sessions]
        participant = Participant(name=p_name, kind="signedin", user=f"users/{who}", display_name=who,
                                  earliest_start_time=min(s.start_time for s in sessions),
                                  latest_end_time=None if None in ends else max(ends))
        self.participants[record] = [p for p in self.participants[record] if p.name != p_name] + [participant]
        self.sessions[p_name] = sessions

    def _call(self, what: str) -> None:
        self.calls.append(what)
        if what in self.broken:
            raise MeetApiError("server", 503, "unavailable")

    async def get_space(self, code, *, subject=None):
        self._call("spaces.get")
        return Space(name="spaces/s", meeting_code=code, meeting_uri=f"https://meet.google.com/{code}")

    async def list_conference_records(self, space_name, window_start=None, window_end=None, *, subject=None):
        self._call("records")
        return list(self.records)

    async def list_participants(self, record_name, *, subject=None):
        self._call(f"participants {record_name.split('/')[-1]}")
        return list(self.participants[record_name])

    async def list_sessions(self, participant_name, *, subject=None):
        self._call(f"sessions {participant_name.split('/')[-1]}")
        return list(self.sessions[participant_name])

    async def emails(self, users, *, subject=None):
        self._call(f"emails {','.join(sorted(users))}")
        return {u: self.directory.get(u) for u in users}

    def take_calls(self) -> list[str]:
        calls, self.calls = self.calls, []
        return calls


class MemoryCache:
    def __init__(self) -> None:
        self.snapshots: dict[int, object] = {}
        self.known_emails: dict[str, str | None] = {}

    async def last_snapshot(self, class_id, space_name):
        return self.snapshots.get(class_id)

    async def save_snapshot(self, class_id, session_id, snapshot, fetched_at):
        self.snapshots[class_id] = snapshot

    async def emails(self, users):
        return {u: self.known_emails[u] for u in users if u in self.known_emails}

    async def save_emails(self, emails):
        self.known_emails.update(emails)


def request(reason: str = "active", **extra) -> FetchRequested:
    data = {"class_id": 7, "session_id": "s-1", "reason": reason, "space_name": "spaces/s", "organizer_email": "ada@school.org",
                "scheduled_start": t(0), "scheduled_end": t(60), "window_start": t(-30), "window_end": t(90)}
    data.update(extra)
    return FetchRequested(**data)


@pytest.fixture
def meet() -> FakeMeet:
    meet = FakeMeet()
    meet.directory = {"users/ada": "ada@school.org", "users/bo": "bo@school.org"}
    meet.add("c1", 0, None, {"ada": [(0, None)], "bo": [(1, 5)]})
    return meet


@pytest.fixture
def cache() -> MemoryCache:
    return MemoryCache()


async def test_the_first_fetch_lists_everything_and_resolves_emails(meet, cache):
    result = await Fetcher(meet, cache).fetch(request())
    assert sorted(meet.take_calls()) == ["emails users/ada,users/bo", "participants c1", "records",
                                         "sessions ada", "sessions bo"]
    [record] = result.snapshot.records
    assert {p.user: p.email for p in record.participants} == {"users/ada": "ada@school.org", "users/bo": "bo@school.org"}
    assert cache.snapshots[7] == result.snapshot


async def test_an_active_poll_of_an_ongoing_call_only_lists_its_participants(meet, cache):
    fetcher = Fetcher(meet, cache)
    first = await fetcher.fetch(request())
    meet.take_calls()
    second = await fetcher.fetch(request())
    assert meet.take_calls() == ["participants c1"]
    assert second.snapshot == first.snapshot


async def test_a_participant_whose_last_leave_moved_is_listed_again(meet, cache):
    fetcher = Fetcher(meet, cache)
    await fetcher.fetch(request())
    meet.set_sessions("conferenceRecords/c1", "bo", [(1, 5), (7, 9)])  # came back and left again
    meet.take_calls()
    result = await fetcher.fetch(request())
    assert meet.take_calls() == ["participants c1", "sessions bo"]
    bo = next(p for p in result.snapshot.records[0].participants if p.user == "users/bo")
    assert len(bo.sessions) == 2


async def test_when_everyone_has_gone_the_records_are_listed_to_find_new_calls(meet, cache):
    fetcher = Fetcher(meet, cache)
    await fetcher.fetch(request())
    meet.set_sessions("conferenceRecords/c1", "ada", [(0, 20)])
    meet.records[0] = meet.records[0].model_copy(update={"end_time": t(21)})
    meet.add("c2", 25, None, {"ada": [(25, None)]})
    meet.take_calls()
    result = await fetcher.fetch(request())
    assert sorted(meet.take_calls()) == ["participants c1", "participants c2", "records", "sessions ada", "sessions ada"]
    assert [r.name for r in result.snapshot.records] == ["conferenceRecords/c1", "conferenceRecords/c2"]


async def test_a_settled_record_is_not_listed_again(meet, cache):
    meet.add("c0", -20, -10, {"bo": [(-20, -11)]})
    fetcher = Fetcher(meet, cache)
    await fetcher.fetch(request("final"))
    meet.take_calls()
    await fetcher.fetch(request("final"))
    assert sorted(meet.take_calls()) == ["participants c1", "records", "sessions ada"]  # ada is still in


async def test_records_not_overlapping_the_window_are_dropped_even_if_listed(meet, cache):
    meet.add("old", -90, -30.01, {"bo": [(-90, -31)]})  # ended just before the window (start − 30)
    meet.add("later", 90.01, None, {"bo": [(91, None)]})  # starts just after it (end + 30)
    result = await Fetcher(meet, cache).fetch(request("final"))
    assert [r.name for r in result.snapshot.records] == ["conferenceRecords/c1"]


async def test_a_call_opened_early_and_running_into_the_class_is_kept(meet, cache):
    meet.add("early", -40, None, {"ada": [(-40, None)]})  # opened 40 min early, still running
    meet.add("edge", -90, -30, {"bo": [(-90, -30)]})  # ended exactly at the window start
    result = await Fetcher(meet, cache).fetch(request("final"))
    assert [r.name for r in result.snapshot.records] == [
        "conferenceRecords/edge", "conferenceRecords/early", "conferenceRecords/c1"]


async def test_a_failed_listing_fails_the_whole_fetch_and_keeps_the_old_snapshot(meet, cache):
    fetcher = Fetcher(meet, cache)
    before = (await fetcher.fetch(request())).snapshot
    meet.set_sessions("conferenceRecords/c1", "bo", [(1, 5), (7, 9)])
    meet.broken.add("sessions bo")
    with pytest.raises(MeetApiError):
        await fetcher.fetch(request())
    assert cache.snapshots[7] == before


async def test_cached_emails_are_not_asked_again_but_new_users_are(meet, cache):
    fetcher = Fetcher(meet, cache)
    await fetcher.fetch(request("final"))
    meet.set_sessions("conferenceRecords/c1", "cy", [(10, 12)])
    meet.take_calls()
    await fetcher.fetch(request("final"))
    assert [c for c in meet.take_calls() if c.startswith("emails")] == ["emails users/cy"]
    assert cache.known_emails["users/cy"] is None  # not in the directory: remembered as such


async def test_naive_fetching_asks_everything_every_time_and_keeps_nothing(meet):
    fetcher = Fetcher(meet, cache=None, incremental=False)
    for _ in range(2):
        await fetcher.fetch(request())
        assert sorted(meet.take_calls()) == ["emails users/ada,users/bo", "participants c1", "records",
                                             "sessions ada", "sessions bo"]


async def test_a_meeting_code_is_resolved_to_its_space_first(meet, cache):
    result = await Fetcher(meet, cache).fetch(request(space_name=None, meeting_code="abc-defg-hij"))
    assert meet.take_calls()[0] == "spaces.get"
    assert result.snapshot.space_name == "spaces/s"
