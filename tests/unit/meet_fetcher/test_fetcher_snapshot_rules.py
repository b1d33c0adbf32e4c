"""The incremental-fetching rules and the snapshot's JSON form (pure functions)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from academy_common.meet_api import ConferenceRecord, Participant, ParticipantSession
from meet_fetcher import snapshot as snap

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def session(start: float, end: float | None, n: int = 0) -> snap.SessionEntry:
    return snap.SessionEntry(f"conferenceRecords/c/participants/p/participantSessions/s{n}", t(start),
                             None if end is None else t(end))


def cached(latest: float | None, *sessions: snap.SessionEntry, earliest: float = 0) -> snap.ParticipantEntry:
    return snap.ParticipantEntry("conferenceRecords/c/participants/p", "anonymous", None, None, "A",
                                 t(earliest), None if latest is None else t(latest), tuple(sessions))


def fresh(latest: float | None, earliest: float = 0) -> Participant:
    return Participant(name="conferenceRecords/c/participants/p", kind="anonymous", display_name="A",
                       earliest_start_time=t(earliest), latest_end_time=None if latest is None else t(latest))


class TestSessionsReusable:
    def test_a_participant_who_left_and_did_not_come_back_is_reused_by_every_incremental_reason(self):
        entry = cached(10, session(0, 5), session(6, 10, 1))
        assert snap.sessions_reusable(entry, fresh(10), "active")
        assert snap.sessions_reusable(entry, fresh(10), "final")

    def test_retry_and_manual_reuse_nothing(self):
        entry = cached(10, session(0, 10))
        assert not snap.sessions_reusable(entry, fresh(10), "retry")
        assert not snap.sessions_reusable(entry, fresh(10), "manual")

    def test_unknown_participants_are_listed(self):
        assert not snap.sessions_reusable(None, fresh(10), "active")

    @pytest.mark.parametrize("now_latest,now_earliest", [(None, 0), (12, 0), (10, -1)])
    def test_any_change_of_first_join_or_last_leave_means_listing_again(self, now_latest, now_earliest):
        assert not snap.sessions_reusable(cached(10, session(0, 10)), fresh(now_latest, now_earliest), "active")

    def test_someone_still_in_the_call_is_reused_by_active_polls_only(self):
        entry = cached(None, session(0, None))
        assert snap.sessions_reusable(entry, fresh(None), "active")
        assert not snap.sessions_reusable(entry, fresh(None), "final")

    @pytest.mark.parametrize("latest,sessions", [
        (10, [session(0, None)]),      # says left, but a cached session is open
        (None, [session(0, 10)]),      # says in the call, but every cached session is closed
        (10, []),                      # no sessions at all
    ])
    def test_a_cache_entry_that_contradicts_itself_is_not_trusted(self, latest, sessions):
        assert not snap.sessions_reusable(cached(latest, *sessions), fresh(latest), "active")


class TestRecords:
    def record(self, end: float | None, *participants: snap.ParticipantEntry) -> snap.RecordEntry:
        return snap.RecordEntry("conferenceRecords/c", t(0), None if end is None else t(end), participants)

    def head(self, end: float | None) -> ConferenceRecord:
        return ConferenceRecord(name="conferenceRecords/c", start_time=t(0),
                                end_time=None if end is None else t(end), space="spaces/s")

    def test_an_ended_record_everyone_left_is_settled(self):
        assert snap.record_settled(self.record(30, cached(20, session(0, 20))), self.head(30), "final")

    @pytest.mark.parametrize("reason", ["retry", "manual"])
    def test_reconciling_fetches_settle_nothing(self, reason):
        assert not snap.record_settled(self.record(30, cached(20, session(0, 20))), self.head(30), reason)

    def test_an_open_or_changed_or_unknown_record_is_not_settled(self):
        done = cached(20, session(0, 20))
        assert not snap.record_settled(self.record(None, done), self.head(None), "active")
        assert not snap.record_settled(self.record(None, done), self.head(30), "active")
        assert not snap.record_settled(None, self.head(30), "active")
        assert not snap.record_settled(self.record(30, cached(None, session(0, None))), self.head(30), "active")

    def test_the_probe_is_the_single_open_record_of_an_active_fetch(self):
        open_one = self.record(None)
        previous = snap.Snapshot("spaces/s", (snap.RecordEntry("conferenceRecords/old", t(-20), t(-10)), open_one))
        assert snap.record_to_probe(previous, "active") == open_one
        assert snap.record_to_probe(previous, "final") is None
        assert snap.record_to_probe(None, "active") is None
        ended = snap.Snapshot("spaces/s", (self.record(30),))
        assert snap.record_to_probe(ended, "active") is None

    def test_still_in_progress_while_anyone_is_in_the_call(self):
        assert snap.still_in_progress([fresh(10), fresh(None)])
        assert not snap.still_in_progress([fresh(10)])
        assert not snap.still_in_progress([])



@pytest.mark.parametrize(("start", "end", "expected"), [
    (-40, None, True),  # opened 40 s before the window, still running
    (-40, 0, True),  # ended exactly at the window start (bounds inclusive)
    (-40, -0.01, False),  # ended just before it
    (-40, 20, True),  # covers the whole window
    (0, 5, True),
    (10, None, True),  # started exactly at the window end
    (10.01, None, False),
    (10.01, 12, False),
])
def test_a_record_counts_when_it_overlaps_the_window(start, end, expected):
    assert snap.overlaps(t(start), None if end is None else t(end), t(0), t(10)) is expected


def test_all_ended_only_when_a_record_exists_and_every_record_has_an_end():
    ended = snap.RecordEntry("conferenceRecords/a", t(0), t(5))
    running = snap.RecordEntry("conferenceRecords/b", t(6), None)
    assert snap.Snapshot("spaces/s", (ended,)).all_ended
    assert not snap.Snapshot("spaces/s", (ended, running)).all_ended
    assert not snap.Snapshot("spaces/s", ()).all_ended  # no call found is not "every call ended"


def test_building_orders_records_participants_and_sessions_deterministically():
    late = Participant(name="conferenceRecords/c/participants/b", kind="phone", display_name="B",
                       earliest_start_time=t(5))
    early = Participant(name="conferenceRecords/c/participants/a", kind="signedin", user="users/1",
                        display_name="A", earliest_start_time=t(1))
    prefix = "conferenceRecords/c/participants/a/participantSessions/"
    sessions = snap.session_entries([ParticipantSession(name=prefix + "2", start_time=t(3)),
                                     ParticipantSession(name=prefix + "1", start_time=t(1), end_time=t(2))])
    assert [s.name for s in sessions] == [prefix + "1", prefix + "2"]
    head = ConferenceRecord(name="conferenceRecords/c", start_time=t(0), space="spaces/s")
    record = snap.record_entry(head, [snap.participant_entry(late, ()), snap.participant_entry(early, sessions)])
    assert [p.display_name for p in record.participants] == ["A", "B"]
    other = snap.RecordEntry("conferenceRecords/z", t(-5), t(-1))
    built = snap.with_emails(snap.snapshot_of("spaces/s", [record, other]), {"users/1": "a@school.org"})
    assert [r.name for r in built.records] == ["conferenceRecords/z", "conferenceRecords/c"]
    assert [p.email for p in built.records[1].participants] == ["a@school.org", None]
    assert snap.signed_in_users(built) == ["users/1"]


moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1),
                       timezones=st.just(UTC))
names = st.text("abcdefgh0123456789", min_size=1, max_size=8)
sessions_st = st.builds(snap.SessionEntry, names, moments, st.none() | moments)
participants_st = st.builds(
    snap.ParticipantEntry, names, st.sampled_from(["signedin", "anonymous", "phone"]), st.none() | names,
    st.none() | st.emails(), st.none() | st.text(max_size=20), moments, st.none() | moments,
    st.lists(sessions_st, max_size=3).map(tuple))
records_st = st.builds(snap.RecordEntry, names, moments, st.none() | moments,
                       st.lists(participants_st, max_size=3).map(tuple))


@given(st.lists(records_st, max_size=3))
def test_the_json_form_reads_back_to_the_same_snapshot(records):
    snapshot = snap.Snapshot("spaces/s", tuple(records))
    assert snap.snapshot_from_json("spaces/s", snap.records_json(snapshot)) == snapshot


@pytest.mark.parametrize("damage", [
    lambda doc: doc[0].pop("start_time"),
    lambda doc: doc[0].update(start_time="2026-03-02T10:00:00"),  # naive
    lambda doc: doc[0].update(participants=None),
])
def test_a_damaged_json_form_raises_instead_of_guessing(damage):
    doc = snap.records_json(snap.Snapshot("spaces/s", (snap.RecordEntry("conferenceRecords/c", t(0), None),)))
    damage(doc)
    with pytest.raises((KeyError, TypeError, ValueError)):
        snap.snapshot_from_json("spaces/s", doc)
